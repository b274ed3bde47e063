// The methods of Python's str that configs use (split/join/strip/replace/format/...), with
// CPython's edge cases: whitespace splitting, maxsplit, tuple prefixes, str.format fields.

import { pyError } from '../errors';
import type { Loc } from './ast';
import { MAX_SEQUENCE } from './budget';
import { formatValue, repr, str } from './format';
import { getItem, iterate, toIndex, bindArgs, noKwargs } from './runtime';
import { PyBuiltin, PyDict, PyTuple, typeName, type Kwargs, type PyValue } from './values';

type AttrGetter = (v: PyValue, name: string, loc: Loc) => PyValue;

const WS = /\s/;

/** A width argument (ljust, zfill, ...), bounded like every sequence a config builds. */
function width(v: PyValue): number {
  const n = toIndex(v);
  if (n > MAX_SEQUENCE) pyError('MemoryError', `width ${n} is too large for a config`);
  return n;
}

function strArg(fname: string, v: PyValue | undefined): string {
  if (typeof v !== 'string') pyError('TypeError', `${fname}() argument must be str, not ${typeName(v ?? null)}`);
  return v;
}

function splitWhitespace(s: string, maxsplit: number, fromRight: boolean): string[] {
  const words: string[] = [];
  if (!fromRight) {
    let i = 0;
    while (i < s.length) {
      while (i < s.length && WS.test(s[i])) i++;
      if (i >= s.length) break;
      if (maxsplit >= 0 && words.length === maxsplit) {
        words.push(s.slice(i).replace(/\s+$/, ''));
        return words;
      }
      let j = i;
      while (j < s.length && !WS.test(s[j])) j++;
      words.push(s.slice(i, j));
      i = j;
    }
    return words;
  }
  let i = s.length;
  while (i > 0) {
    while (i > 0 && WS.test(s[i - 1])) i--;
    if (i <= 0) break;
    if (maxsplit >= 0 && words.length === maxsplit) {
      words.unshift(s.slice(0, i).replace(/^\s+/, ''));
      return words;
    }
    let j = i;
    while (j > 0 && !WS.test(s[j - 1])) j--;
    words.unshift(s.slice(j, i));
    i = j;
  }
  return words;
}

function splitSep(s: string, sep: string, maxsplit: number, fromRight: boolean): string[] {
  if (sep === '') pyError('ValueError', 'empty separator');
  const parts = s.split(sep);
  if (maxsplit < 0 || parts.length - 1 <= maxsplit) return parts;
  if (!fromRight) return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
  const keep = parts.length - maxsplit;
  return [parts.slice(0, keep).join(sep), ...parts.slice(keep)];
}

function stripChars(s: string, chars: PyValue | undefined, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? null : new Set(strArg('strip', chars));
  const isStrip = (c: string) => (set ? set.has(c) : WS.test(c));
  let a = 0;
  let b = s.length;
  if (left) while (a < b && isStrip(s[a])) a++;
  if (right) while (b > a && isStrip(s[b - 1])) b--;
  return s.slice(a, b);
}

function affixes(v: PyValue, fname: string): string[] {
  if (typeof v === 'string') return [v];
  if (v instanceof PyTuple) return v.items.map((x) => strArg(fname, x));
  return pyError('TypeError', `${fname} first arg must be str or a tuple of str, not ${typeName(v)}`);
}

/** Resolves optional start/end arguments of find/count/startswith against a length. */
function range(len: number, start: PyValue | undefined, end: PyValue | undefined): [number, number] {
  const norm = (v: PyValue | undefined, def: number) => {
    if (v === undefined || v === null) return def;
    let i = toIndex(v, 'slice indices');
    if (i < 0) i += len;
    return Math.min(Math.max(i, 0), len);
  };
  return [norm(start, 0), norm(end, len)];
}

/** `fmt.format(*args, **kwargs)`. */
export function strFormat(fmt: string, args: PyValue[], kwargs: Kwargs, getAttr: AttrGetter, loc: Loc): string {
  const named = new Map(kwargs);
  let auto = 0;
  let mode: 'auto' | 'manual' | null = null;
  const field = (name: string): PyValue => {
    const m = /^([^.[]*)(.*)$/s.exec(name)!;
    let head = m[1];
    let value: PyValue;
    if (head === '') {
      if (mode === 'manual') pyError('ValueError', 'cannot switch from manual field specification to automatic field numbering');
      mode = 'auto';
      head = String(auto++);
    } else if (/^\d+$/.test(head)) {
      if (mode === 'auto') pyError('ValueError', 'cannot switch from automatic field numbering to manual field specification');
      mode = 'manual';
    }
    if (/^\d+$/.test(head)) {
      const i = Number(head);
      if (i >= args.length) pyError('IndexError', `Replacement index ${i} out of range for positional args tuple`);
      value = args[i];
    } else {
      if (!named.has(head)) pyError('KeyError', repr(head));
      value = named.get(head)!;
    }
    const re = /\.([^.[]+)|\[([^\]]+)\]/gy;
    re.lastIndex = 0;
    const rest = m[2];
    let pos = 0;
    while (pos < rest.length) {
      re.lastIndex = pos;
      const p = re.exec(rest);
      if (!p) pyError('ValueError', `Only '.' or '[' may follow ']' in format field specifier`);
      value = p[1] !== undefined ? getAttr(value, p[1], loc) : getItem(value, /^\d+$/.test(p[2]) ? BigInt(p[2]) : p[2]);
      pos = re.lastIndex;
    }
    return value;
  };
  const render = (text: string, depth: number): string => {
    let out = '';
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '{' && text[i + 1] === '{') {
        out += '{';
        i++;
      } else if (c === '}' && text[i + 1] === '}') {
        out += '}';
        i++;
      } else if (c === '}') {
        pyError('ValueError', "Single '}' encountered in format string");
      } else if (c === '{') {
        if (depth > 1) pyError('ValueError', 'Max string recursion exceeded');
        let d = 0;
        let j = i + 1;
        for (; j < text.length; j++) {
          if (text[j] === '{') d++;
          else if (text[j] === '}') {
            if (d === 0) break;
            d--;
          }
        }
        if (j >= text.length) pyError('ValueError', "expected '}' before end of string");
        const inner = text.slice(i + 1, j);
        const m = /^([^!:]*)(?:!([rsa]))?(?::([\s\S]*))?$/.exec(inner);
        if (!m) pyError('ValueError', `invalid format field '{${inner}}'`);
        let v = field(m[1]);
        if (m[2]) v = m[2] === 's' ? str(v) : repr(v);
        out += formatValue(v, m[3] ? render(m[3], depth + 1) : '');
        i = j;
      } else out += c;
    }
    return out;
  };
  return render(fmt, 0);
}

type Method = (s: string, args: PyValue[], kwargs: Kwargs, loc: Loc) => PyValue;

function method(spec: string[], fn: (s: string, a: Array<PyValue | undefined>) => PyValue): (name: string) => Method {
  return (name) => (s, args, kwargs) => fn(s, bindArgs(name, spec, args, kwargs));
}

const STR_METHODS: Record<string, (name: string) => Method> = {
  join: method(['iterable'], (s, [it]) => iterate(it!).map((x) => {
    if (typeof x !== 'string') pyError('TypeError', `sequence item: expected str instance, ${typeName(x)} found`);
    return x;
  }).join(s)),
  split: method(['sep?', 'maxsplit?'], (s, [sep, max]) => {
    const n = max === undefined ? -1 : toIndex(max);
    return sep === undefined || sep === null ? splitWhitespace(s, n, false) : splitSep(s, strArg('split', sep), n, false);
  }),
  rsplit: method(['sep?', 'maxsplit?'], (s, [sep, max]) => {
    const n = max === undefined ? -1 : toIndex(max);
    return sep === undefined || sep === null ? splitWhitespace(s, n, true) : splitSep(s, strArg('rsplit', sep), n, true);
  }),
  splitlines: method(['keepends?'], (s, [keep]) => {
    const lines = s.match(/[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]|$)/g)!.filter((l) => l !== '');
    return keep ? lines : lines.map((l) => l.replace(/(\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])$/, ''));
  }),
  strip: method(['chars?'], (s, [c]) => stripChars(s, c, true, true)),
  lstrip: method(['chars?'], (s, [c]) => stripChars(s, c, true, false)),
  rstrip: method(['chars?'], (s, [c]) => stripChars(s, c, false, true)),
  replace: method(['old', 'new', 'count?'], (s, [o, n, c]) => {
    const old = strArg('replace', o);
    const rep = strArg('replace', n);
    let count = c === undefined ? -1 : toIndex(c);
    if (count < 0) return old === '' ? [...s].join(rep).replace(/^/, rep) + rep : s.split(old).join(rep);
    let out = '';
    let rest = s;
    while (count-- > 0) {
      const i = rest.indexOf(old);
      if (i < 0) break;
      out += rest.slice(0, i) + rep;
      rest = rest.slice(i + old.length);
      if (old === '') {
        out += rest[0] ?? '';
        rest = rest.slice(1);
      }
    }
    return out + rest;
  }),
  startswith: method(['prefix', 'start?', 'end?'], (s, [p, a, b]) => {
    const [i, j] = range(s.length, a, b);
    return affixes(p!, 'startswith').some((x) => i + x.length <= j && s.startsWith(x, i));
  }),
  endswith: method(['suffix', 'start?', 'end?'], (s, [p, a, b]) => {
    const [i, j] = range(s.length, a, b);
    return affixes(p!, 'endswith').some((x) => j - x.length >= i && s.slice(i, j).endsWith(x));
  }),
  find: method(['sub', 'start?', 'end?'], (s, [sub, a, b]) => BigInt(find(s, strArg('find', sub), a, b, false))),
  rfind: method(['sub', 'start?', 'end?'], (s, [sub, a, b]) => BigInt(find(s, strArg('rfind', sub), a, b, true))),
  index: method(['sub', 'start?', 'end?'], (s, [sub, a, b]) => {
    const i = find(s, strArg('index', sub), a, b, false);
    if (i < 0) pyError('ValueError', 'substring not found');
    return BigInt(i);
  }),
  rindex: method(['sub', 'start?', 'end?'], (s, [sub, a, b]) => {
    const i = find(s, strArg('rindex', sub), a, b, true);
    if (i < 0) pyError('ValueError', 'substring not found');
    return BigInt(i);
  }),
  count: method(['sub', 'start?', 'end?'], (s, [sub, a, b]) => {
    const [i, j] = range(s.length, a, b);
    const part = s.slice(i, j);
    const needle = strArg('count', sub);
    return BigInt(needle === '' ? part.length + 1 : part.split(needle).length - 1);
  }),
  upper: method([], (s) => s.toUpperCase()),
  lower: method([], (s) => s.toLowerCase()),
  casefold: method([], (s) => s.toLowerCase()),
  swapcase: method([], (s) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('')),
  title: method([], (s) => s.replace(/\p{L}+/gu, (w) => w[0].toUpperCase() + w.slice(1).toLowerCase())),
  capitalize: method([], (s) => (s ? s[0].toUpperCase() + s.slice(1).toLowerCase() : s)),
  zfill: method(['width'], (s, [w]) => {
    const w2 = width(w!);
    if (s.length >= w2) return s;
    const sign = s[0] === '+' || s[0] === '-' ? s[0] : '';
    return sign + '0'.repeat(w2 - s.length) + s.slice(sign.length);
  }),
  ljust: method(['width', 'fillchar?'], (s, [w, f]) => s.padEnd(width(w!), f === undefined ? ' ' : strArg('ljust', f))),
  rjust: method(['width', 'fillchar?'], (s, [w, f]) => s.padStart(width(w!), f === undefined ? ' ' : strArg('rjust', f))),
  center: method(['width', 'fillchar?'], (s, [w, f]) => {
    const total = width(w!);
    const fill = f === undefined ? ' ' : strArg('center', f);
    const n = Math.max(0, total - s.length);
    const left = Math.floor(n / 2) + (n & total & 1);
    return fill.repeat(left) + s + fill.repeat(n - left);
  }),
  partition: method(['sep'], (s, [sep]) => {
    const p = strArg('partition', sep);
    const i = s.indexOf(p);
    return new PyTuple(i < 0 ? [s, '', ''] : [s.slice(0, i), p, s.slice(i + p.length)]);
  }),
  rpartition: method(['sep'], (s, [sep]) => {
    const p = strArg('rpartition', sep);
    const i = s.lastIndexOf(p);
    return new PyTuple(i < 0 ? ['', '', s] : [s.slice(0, i), p, s.slice(i + p.length)]);
  }),
  removeprefix: method(['prefix'], (s, [p]) => (s.startsWith(strArg('removeprefix', p)) ? s.slice((p as string).length) : s)),
  removesuffix: method(['suffix'], (s, [p]) => {
    const suf = strArg('removesuffix', p);
    return suf && s.endsWith(suf) ? s.slice(0, -suf.length) : s;
  }),
  expandtabs: method(['tabsize?'], (s, [t]) => {
    const size = t === undefined ? 8 : width(t);
    let col = 0;
    let out = '';
    for (const c of s) {
      if (c === '\t') {
        const n = size > 0 ? size - (col % size) : 0;
        out += ' '.repeat(n);
        col += n;
      } else {
        out += c;
        col = c === '\n' || c === '\r' ? 0 : col + 1;
      }
    }
    return out;
  }),
  isdigit: method([], (s) => /^\p{Nd}+$/u.test(s)),
  isdecimal: method([], (s) => /^\p{Nd}+$/u.test(s)),
  isnumeric: method([], (s) => /^[\p{Nd}\p{Nl}\p{No}]+$/u.test(s)),
  isalpha: method([], (s) => /^\p{L}+$/u.test(s)),
  isalnum: method([], (s) => /^[\p{L}\p{Nd}\p{Nl}\p{No}]+$/u.test(s)),
  isspace: method([], (s) => /^\s+$/.test(s)),
  isupper: method([], (s) => /\p{Lu}/u.test(s) && s === s.toUpperCase()),
  islower: method([], (s) => /\p{Ll}/u.test(s) && s === s.toLowerCase()),
  istitle: method([], (s) => /\p{L}/u.test(s) && s === s.replace(/\p{L}+/gu, (w) => w[0].toUpperCase() + w.slice(1).toLowerCase())),
  isidentifier: method([], (s) => /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u.test(s)),
};

function find(s: string, sub: string, start: PyValue | undefined, end: PyValue | undefined, fromRight: boolean): number {
  const [i, j] = range(s.length, start, end);
  if (sub.length > j - i) return -1;
  const part = s.slice(i, j);
  const k = fromRight ? part.lastIndexOf(sub) : part.indexOf(sub);
  return k < 0 ? -1 : k + i;
}

/** A bound str method, or undefined. */
export function strMethod(s: string, name: string, getAttr: AttrGetter): PyBuiltin | undefined {
  if (name === 'format') return new PyBuiltin('format', (args, kwargs, loc) => strFormat(s, args, kwargs, getAttr, loc));
  if (name === 'format_map') {
    return new PyBuiltin('format_map', (args, kwargs, loc) => {
      noKwargs('format_map', kwargs);
      const m = args[0];
      if (!(m instanceof PyDict)) return pyError('TypeError', `format_map() argument must be a mapping, not ${typeName(m ?? null)}`);
      return strFormat(s, [], m.entries().map(([k, v]) => [str(k), v]), getAttr, loc);
    });
  }
  const make = Object.hasOwn(STR_METHODS, name) ? STR_METHODS[name] : undefined;
  if (!make) return undefined;
  const fn = make(name);
  return new PyBuiltin(name, (args, kwargs, loc) => fn(s, args, kwargs, loc));
}
