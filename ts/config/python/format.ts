// Python's text forms of values: repr()/str(), float repr, the format-spec mini-language
// (f-strings, str.format, format()) and printf-style `%` formatting, rounding exactly as CPython does.

import { pyError } from '../errors';
import { MAX_SEQUENCE } from './budget';
import { PyCallable, PyDict, PyIterable, PyLazy, PyModule, PySet, PyTuple, type PyValue } from './values';

// ---- exact decimal digits of a double ------------------------------------------------------

/** |x| as an exact fraction num/den (den a power of two). */
function fraction(x: number): { num: bigint; den: bigint } {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (exp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = exp - 1075;
  }
  return e >= 0 ? { num: mant << BigInt(e), den: 1n } : { num: mant, den: 1n << BigInt(-e) };
}

/** num/den rounded to an integer, ties to even (CPython's rounding of exact values). */
function roundHalfEven(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) return q + 1n;
  return q;
}

/** |x| with `p` digits after the point, as CPython's '%.pf' writes it (no sign). */
function fixedDigits(x: number, p: number): string {
  const { num, den } = fraction(x);
  const scaled = roundHalfEven(num * 10n ** BigInt(p), den).toString();
  if (p === 0) return scaled;
  const padded = scaled.padStart(p + 1, '0');
  return `${padded.slice(0, -p)}.${padded.slice(-p)}`;
}

/** |x| rounded to `sig` significant digits: the digit string and the decimal exponent of its first digit. */
function significantDigits(x: number, sig: number): { digits: string; exp: number } {
  if (x === 0) return { digits: '0'.repeat(sig), exp: 0 };
  const { num, den } = fraction(x);
  let exp = Math.floor(Math.log10(Math.abs(x)));
  // fix the estimate so that 10^exp <= |x| < 10^(exp+1)
  const pow = (n: number) => 10n ** BigInt(Math.abs(n));
  const geq = (e: number) => (e >= 0 ? num >= den * pow(e) : num * pow(e) >= den);
  while (!geq(exp)) exp--;
  while (geq(exp + 1)) exp++;
  const shift = sig - 1 - exp;
  let digits = (shift >= 0 ? roundHalfEven(num * pow(shift), den) : roundHalfEven(num, den * pow(shift))).toString();
  if (digits.length > sig) {
    digits = digits.slice(0, sig);
    exp++;
  }
  return { digits, exp };
}

function expSuffix(exp: number, upper: boolean): string {
  return `${upper ? 'E' : 'e'}${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** Python's repr(float): the shortest round-tripping digits, fixed for 1e-4 <= |x| < 1e16. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, expText] = Math.abs(x).toExponential().split('e');
  const exp = Number(expText);
  const digits = mant.replace('.', '');
  if (exp >= -5 + 1 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1) || '0';
    return `${sign}${int}.${frac}`;
  }
  return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}${expSuffix(exp, false)}`;
}

// ---- repr / str ----------------------------------------------------------------------------

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]|(?! )\p{Zs}/u;

export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (NON_PRINTABLE.test(ch)) {
      const cp = ch.codePointAt(0)!;
      out += cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

export function repr(v: PyValue, seen: Set<object> = new Set()): string {
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return v ? 'True' : 'False';
    case 'bigint':
      return v.toString();
    case 'number':
      return floatRepr(v);
    case 'string':
      return strRepr(v);
  }
  if (v instanceof PyLazy) return v.str;
  if (v instanceof PyCallable) return v.kind === 'type' ? `<class '${v.name}'>` : v.kind === 'function' ? `<function ${v.name}>` : `<built-in function ${v.name}>`;
  if (v instanceof PyModule) return `<module '${v.name}'>`;
  if (v instanceof PyIterable) return `<${v.typeName} object>`;
  if (seen.has(v)) return Array.isArray(v) ? '[...]' : '{...}';
  seen.add(v);
  try {
    if (Array.isArray(v)) return `[${v.map((x) => repr(x, seen)).join(', ')}]`;
    if (v instanceof PyTuple) return v.items.length === 1 ? `(${repr(v.items[0], seen)},)` : `(${v.items.map((x) => repr(x, seen)).join(', ')})`;
    if (v instanceof PyDict) return `{${v.entries().map(([k, x]) => `${repr(k, seen)}: ${repr(x, seen)}`).join(', ')}}`;
    if (v instanceof PySet) {
      const inner = v.items().map((x) => repr(x, seen)).join(', ');
      if (v.frozen) return `frozenset(${inner ? `{${inner}}` : ''})`;
      return inner ? `{${inner}}` : 'set()';
    }
  } finally {
    seen.delete(v);
  }
  return String(v);
}

export function str(v: PyValue): string {
  return typeof v === 'string' ? v : repr(v);
}

// ---- format spec ---------------------------------------------------------------------------

interface Spec {
  fill: string;
  align: string | null;
  sign: string;
  alt: boolean;
  zero: boolean;
  width: number;
  grouping: string;
  precision: number | null;
  type: string;
}

const SPEC_RE = /^(?:([\s\S])?([<>=^]))?([+\- ])?(z)?(#)?(0)?(\d+)?([_,])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/u;

function parseSpec(spec: string): Spec {
  const m = SPEC_RE.exec(spec);
  if (!m) pyError('ValueError', `Invalid format specifier '${spec}'`);
  return {
    fill: m[1] ?? (m[6] && !m[2] ? '0' : ' '),
    align: m[2] ?? (m[6] ? '=' : null),
    sign: m[3] ?? '-',
    alt: !!m[5],
    zero: !!m[6],
    width: m[7] ? Number(m[7]) : 0,
    grouping: m[8] ?? '',
    precision: m[9] !== undefined ? Number(m[9]) : null,
    type: m[10] ?? '',
  };
}

function group(intPart: string, sep: string, size: number): string {
  if (!sep) return intPart;
  let out = '';
  for (let i = intPart.length; i > 0; i -= size) out = intPart.slice(Math.max(0, i - size), i) + (out ? sep + out : '');
  return out;
}

function pad(body: string, sign: string, spec: Spec, defaultAlign: string): string {
  if (spec.width > MAX_SEQUENCE) pyError('MemoryError', `format width ${spec.width} is too large for a config`);
  const align = spec.align ?? defaultAlign;
  const len = [...sign].length + [...body].length;
  const n = Math.max(0, spec.width - len);
  const fill = spec.fill;
  switch (align) {
    case '<':
      return sign + body + fill.repeat(n);
    case '^':
      return fill.repeat(Math.floor(n / 2)) + sign + body + fill.repeat(n - Math.floor(n / 2));
    case '=':
      return sign + fill.repeat(n) + body;
    default:
      return fill.repeat(n) + sign + body;
  }
}

function signOf(negative: boolean, spec: Spec): string {
  if (negative) return '-';
  return spec.sign === '+' ? '+' : spec.sign === ' ' ? ' ' : '';
}

function formatInt(n: bigint, spec: Spec): string {
  const neg = n < 0n;
  const a = neg ? -n : n;
  let body: string;
  let prefix = '';
  switch (spec.type) {
    case 'b':
      body = group(a.toString(2), spec.grouping === '_' ? '_' : '', 4);
      prefix = spec.alt ? '0b' : '';
      break;
    case 'o':
      body = group(a.toString(8), spec.grouping === '_' ? '_' : '', 4);
      prefix = spec.alt ? '0o' : '';
      break;
    case 'x':
    case 'X':
      body = group(a.toString(16), spec.grouping === '_' ? '_' : '', 4);
      if (spec.type === 'X') body = body.toUpperCase();
      prefix = spec.alt ? (spec.type === 'X' ? '0X' : '0x') : '';
      break;
    case 'c':
      return pad(String.fromCodePoint(Number(n)), '', spec, '<');
    case '':
    case 'd':
    case 'n':
      body = group(a.toString(), spec.grouping, 3);
      break;
    default:
      return formatFloat(Number(n), spec);
  }
  return pad(body, signOf(neg, spec) + prefix, spec, '>');
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/\.?0+$/, '');
}

function formatFloat(x: number, spec: Spec): string {
  if (spec.type && !'eEfFgGn%'.includes(spec.type)) pyError('ValueError', `Unknown format code '${spec.type}' for object of type 'float'`);
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const upper = spec.type === 'E' || spec.type === 'F' || spec.type === 'G';
  let body: string;
  if (!Number.isFinite(a)) {
    body = Number.isNaN(a) ? 'nan' : 'inf';
    if (upper) body = body.toUpperCase();
    return pad(body, signOf(neg && !Number.isNaN(a), spec), spec, '>');
  }
  const p = spec.precision;
  switch (spec.type) {
    case 'f':
    case 'F':
      body = fixedDigits(a, p ?? 6);
      if (spec.alt && !body.includes('.')) body += '.';
      break;
    case '%':
      body = `${fixedDigits(a * 100, p ?? 6)}%`;
      break;
    case 'e':
    case 'E': {
      const prec = p ?? 6;
      const { digits, exp } = significantDigits(a, prec + 1);
      body = digits[0] + (prec > 0 || spec.alt ? `.${digits.slice(1)}` : '') + expSuffix(exp, upper);
      break;
    }
    default: {
      if (spec.type === '' && p === null) {
        body = floatRepr(a);
        break;
      }
      const prec = p === null ? 6 : p === 0 ? 1 : p;
      const { exp } = significantDigits(a, prec);
      if (exp >= -4 && exp < prec) {
        body = fixedDigits(a, prec - 1 - exp);
        if (!spec.alt) body = stripZeros(body);
        if (spec.type === '' && !body.includes('.')) body += '.0';
      } else {
        const { digits } = significantDigits(a, prec);
        let mant = digits[0] + (digits.length > 1 ? `.${digits.slice(1)}` : '');
        if (!spec.alt) mant = stripZeros(mant);
        body = mant + expSuffix(exp, upper);
      }
    }
  }
  if (spec.grouping && /^\d/.test(body)) {
    const dot = body.search(/[.eE%]/);
    const intPart = dot < 0 ? body : body.slice(0, dot);
    body = group(intPart, spec.grouping, 3) + (dot < 0 ? '' : body.slice(dot));
  }
  return pad(body, signOf(neg, spec), spec, '>');
}

/** format(value, spec), as f-strings and str.format apply it. */
export function formatValue(v: PyValue, specText: string): string {
  if (typeof v === 'string') {
    if (specText === '') return v;
    const spec = parseSpec(specText);
    if (spec.type && spec.type !== 's') pyError('ValueError', `Unknown format code '${spec.type}' for object of type 'str'`);
    if (spec.sign !== '-' || spec.align === '=') pyError('ValueError', 'Sign not allowed in string format specifier');
    return pad(spec.precision !== null ? [...v].slice(0, spec.precision).join('') : v, '', spec, '<');
  }
  if (typeof v === 'boolean' && specText === '') return v ? 'True' : 'False';
  if (typeof v === 'bigint' || typeof v === 'boolean') {
    const spec = parseSpec(specText);
    if (spec.type === 's') pyError('ValueError', "Unknown format code 's' for object of type 'int'");
    if (spec.precision !== null && (spec.type === '' || 'bcdoxXn'.includes(spec.type))) pyError('ValueError', 'Precision not allowed in integer format specifier');
    return formatInt(BigInt(v), spec);
  }
  if (typeof v === 'number') return formatFloat(v, parseSpec(specText));
  if (specText !== '') pyError('TypeError', `unsupported format string passed to ${v === null ? 'NoneType' : 'object'}.__format__`);
  return str(v);
}

// ---- printf-style % ------------------------------------------------------------------------

const PERCENT_RE = /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])/g;

/** `fmt % args`: args is a tuple of values, a mapping for `%(name)s`, or one value. */
export function percentFormat(fmt: string, args: PyValue, toInt: (v: PyValue) => bigint): string {
  const positional = args instanceof PyTuple ? [...args.items] : [args];
  const mapping = args instanceof PyDict ? args : null;
  let used = 0;
  const take = (): PyValue => {
    if (used >= positional.length) pyError('TypeError', 'not enough arguments for format string');
    return positional[used++];
  };
  const out = fmt.replace(PERCENT_RE, (_m, key: string | undefined, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%' && key === undefined && !flags && !width && !prec) return '%';
    let value: PyValue = null;
    if (key !== undefined) {
      if (!mapping) pyError('TypeError', 'format requires a mapping');
      if (!mapping.has(key)) pyError('KeyError', strRepr(key));
      value = mapping.get(key)!;
    }
    const w = width === '*' ? Number(toInt(take())) : width ? Number(width) : 0;
    const p = prec === '*' ? Number(toInt(take())) : prec !== undefined ? Number(prec) : null;
    if (key === undefined) value = take();
    const spec: Spec = {
      fill: flags.includes('0') && !flags.includes('-') && !'sra'.includes(conv) ? '0' : ' ',
      align: flags.includes('-') ? '<' : flags.includes('0') && !'sra'.includes(conv) ? '=' : '>',
      sign: flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '-',
      alt: flags.includes('#'),
      zero: false,
      width: Math.abs(w),
      grouping: '',
      precision: p,
      type: conv,
    };
    if (w < 0) spec.align = '<';
    switch (conv) {
      case 's':
      case 'r':
      case 'a': {
        const s = conv === 's' ? str(value) : repr(value);
        return pad(p !== null ? s.slice(0, p) : s, '', spec, '>');
      }
      case 'c': {
        const ch = typeof value === 'string' ? value : String.fromCodePoint(Number(toInt(value)));
        return pad(ch, '', spec, '>');
      }
      case 'd':
      case 'i':
      case 'u': {
        if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') {
          pyError('TypeError', `%${conv} format: a real number is required, not ${value === null ? 'NoneType' : typeof value === 'string' ? 'str' : 'object'}`);
        }
        const n = typeof value === 'number' ? BigInt(Math.trunc(value)) : BigInt(value);
        return formatInt(n, { ...spec, type: 'd', precision: null });
      }
      case 'o':
      case 'x':
      case 'X':
        return formatInt(toInt(value), { ...spec, precision: null });
      default: {
        if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') pyError('TypeError', 'must be real number, not str');
        return formatFloat(Number(value), spec);
      }
    }
  });
  if (!mapping && used < positional.length) pyError('TypeError', 'not all arguments converted during string formatting');
  return out;
}
