// Python's builtin functions and types as configs call them (dict, list, range, len, zip,
// sorted, min/max, int/float/str, round, isinstance, ...); file and code execution are refused.

import { pyError, PyError } from '../errors';
import type { Loc } from './ast';
import { getAttribute, mappingItems, setAttribute, sortValues } from './attributes';
import { floatRepr, formatValue, repr, str } from './format';
import { binaryOp, pyLess, truthy } from './operators';
import { bindArgs, callValue, checkLength, iterate, noKwargs, toBigInt, toIndex } from './runtime';
import { PyBuiltin, PyCallable, PyDict, PyIterable, PyLazy, PySet, PyTuple, typeName, type Kwargs, type PyValue } from './values';

type Fn = (args: PyValue[], kwargs: Kwargs, loc: Loc) => PyValue;

function once(name: string, produce: () => PyValue[]): PyIterable {
  return new PyIterable(name, produce, false);
}

/** int(text, base) with Python's literal rules (underscores, prefixes, surrounding spaces). */
export function parseIntText(text: string, base: number): bigint {
  const bad = () => pyError('ValueError', `invalid literal for int() with base ${base}: ${repr(text)}`);
  let s = text.trim();
  let sign = 1n;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1n;
    s = s.slice(1);
  }
  const prefixes: Record<string, number> = { '0x': 16, '0o': 8, '0b': 2 };
  const p = s.slice(0, 2).toLowerCase();
  if (p in prefixes && (base === 0 || base === prefixes[p])) {
    base = prefixes[p];
    s = s.slice(2);
    if (s.startsWith('_')) s = s.slice(1);
  } else if (base === 0) {
    if (/^0+(_?0)*$/.test(s)) return 0n;
    if (s.startsWith('0')) bad();
    base = 10;
  }
  if (!s || s.startsWith('_') || s.endsWith('_') || s.includes('__')) bad();
  const digits = s.replace(/_/g, '').toLowerCase();
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, base);
  let n = 0n;
  for (const ch of digits) {
    const d = alphabet.indexOf(ch);
    if (d < 0) bad();
    n = n * BigInt(base) + BigInt(d);
  }
  return sign * n;
}

/** float(text): decimal literals, inf/nan/infinity in any case, underscores between digits. */
export function parseFloatText(text: string): number {
  const s = text.trim();
  const m = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (m) return m[2].toLowerCase() === 'nan' ? NaN : m[1] === '-' ? -Infinity : Infinity;
  if (!/^[+-]?(\d(_?\d)*(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)([eE][+-]?\d(_?\d)*)?$/.test(s)) {
    pyError('ValueError', `could not convert string to float: ${repr(text)}`);
  }
  return Number(s.replace(/_/g, ''));
}

function toInt(v: PyValue, base: PyValue | undefined): bigint {
  if (base !== undefined) {
    if (typeof v !== 'string') pyError('TypeError', "int() can't convert non-string with explicit base");
    return parseIntText(v, toIndex(base));
  }
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) pyError(Number.isNaN(v) ? 'ValueError' : 'OverflowError', `cannot convert float ${floatRepr(v)} to integer`);
    return BigInt(Math.trunc(v));
  }
  if (typeof v === 'string') return parseIntText(v, 10);
  return pyError('TypeError', `int() argument must be a string or a real number, not '${typeName(v)}'`);
}

function toFloat(v: PyValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') {
    const f = Number(v);
    if (!Number.isFinite(f)) pyError('OverflowError', 'int too large to convert to float');
    return f;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseFloatText(v);
  return pyError('TypeError', `float() argument must be a string or a real number, not '${typeName(v)}'`);
}

/** round() half to even on the exact binary value, as CPython does. */
function round(x: PyValue, nd: PyValue | undefined): PyValue {
  if (typeof x === 'bigint' || typeof x === 'boolean') {
    const n = BigInt(x);
    if (nd === undefined || nd === null) return n;
    const d = toIndex(nd);
    if (d >= 0) return n;
    const m = 10n ** BigInt(-d);
    const q = n / m;
    const r = n % m;
    const twice = (r < 0n ? -r : r) * 2n;
    let out = q;
    if (twice > m || (twice === m && q % 2n !== 0n)) out = n < 0n ? q - 1n : q + 1n;
    return out * m;
  }
  if (typeof x !== 'number') return pyError('TypeError', `type ${typeName(x)} doesn't define __round__ method`);
  if (nd === undefined || nd === null) {
    if (!Number.isFinite(x)) pyError(Number.isNaN(x) ? 'ValueError' : 'OverflowError', `cannot convert float ${floatRepr(x)} to integer`);
    return BigInt(formatValue(x, '.0f'));
  }
  const d = toIndex(nd);
  if (!Number.isFinite(x)) return x;
  if (d >= 0) return Number(formatValue(x, `.${Math.min(d, 340)}f`));
  const scale = 10 ** -d;
  const y = x / scale;
  const r = Number(formatValue(y, '.0f')) * scale;
  return Object.is(r, -0) || (r === 0 && x < 0) ? -0 : r;
}

function minMax(name: 'min' | 'max', args: PyValue[], kwargs: Kwargs, loc: Loc): PyValue {
  const key = kwargs.find(([k]) => k === 'key')?.[1];
  const def = kwargs.find(([k]) => k === 'default');
  for (const [k] of kwargs) if (k !== 'key' && k !== 'default') pyError('TypeError', `${name}() got an unexpected keyword argument '${k}'`);
  if (!args.length) pyError('TypeError', `${name} expected at least 1 argument, got 0`);
  const items = args.length === 1 ? iterate(args[0]) : args;
  if (!items.length) {
    if (def) return def[1];
    pyError('ValueError', `${name}() arg is an empty sequence`);
  }
  let best = items[0];
  let bestKey = key && key !== null ? callValue(key, [best], [], loc) : best;
  for (const v of items.slice(1)) {
    const k = key && key !== null ? callValue(key, [v], [], loc) : v;
    if (name === 'min' ? pyLess(k, bestKey, false, '<') : pyLess(bestKey, k, false, '<')) {
      best = v;
      bestKey = k;
    }
  }
  return best;
}

function rangeOf(args: PyValue[], kwargs: Kwargs): PyIterable {
  noKwargs('range', kwargs);
  if (args.length < 1 || args.length > 3) pyError('TypeError', `range expected 1 to 3 arguments, got ${args.length}`);
  const [a, b, c] = args.map((v) => toBigInt(v));
  const [start, stop, step] = args.length === 1 ? [0n, a, 1n] : [a, b, c ?? 1n];
  if (step === 0n) pyError('ValueError', 'range() arg 3 must not be zero');
  const len = () => {
    const n = step > 0n ? (stop - start + step - 1n) / step : (start - stop - step - 1n) / -step;
    return n > 0n ? Number(n) : 0;
  };
  return new PyIterable(
    'range',
    () => {
      const n = len();
      checkLength(n);
      const out: PyValue[] = [];
      for (let i = 0; i < n; i++) out.push(start + BigInt(i) * step);
      return out;
    },
    true,
    len,
  );
}

/** The Python types a config can name: callable to convert, usable with isinstance. */
const TYPE_CHECKS: Record<string, (v: PyValue) => boolean> = {
  int: (v) => typeof v === 'bigint' || typeof v === 'boolean',
  float: (v) => typeof v === 'number',
  bool: (v) => typeof v === 'boolean',
  str: (v) => typeof v === 'string',
  list: (v) => Array.isArray(v),
  tuple: (v) => v instanceof PyTuple,
  dict: (v) => v instanceof PyDict,
  set: (v) => v instanceof PySet && !v.frozen,
  frozenset: (v) => v instanceof PySet && v.frozen,
  object: () => true,
  type: (v) => v instanceof PyCallable && v.kind === 'type',
};

function isInstance(v: PyValue, t: PyValue): boolean {
  if (t instanceof PyTuple) return t.items.some((x) => isInstance(v, x));
  if (t instanceof PyCallable && t.kind === 'type' && Object.hasOwn(TYPE_CHECKS, t.name)) return TYPE_CHECKS[t.name](v);
  if (t instanceof PyLazy) pyError('TypeError', `isinstance() against '${t.toString()}' needs the real class, which configs do not import`);
  return pyError('TypeError', 'isinstance() arg 2 must be a type, a tuple of types, or a union');
}

const REFUSED = ['open', 'exec', 'eval', 'compile', '__import__', 'input', 'breakpoint', 'globals', 'locals', 'vars', 'exit', 'quit', 'help', 'super', 'object', 'property', 'staticmethod', 'classmethod', 'memoryview', 'bytearray', 'bytes', 'complex', 'iter', 'next', 'aiter', 'anext', 'delattr', 'issubclass', 'id', 'hash', 'dir'];

function make(): Map<string, PyValue> {
  const b = new Map<string, PyValue>();
  const fn = (name: string, f: Fn) => b.set(name, new PyBuiltin(name, f));
  const type = (name: string, f: Fn) => b.set(name, new PyBuiltin(name, f, 'type'));

  type('dict', (args, kwargs) => new PyDict(mappingItems('dict', args, kwargs)));
  type('list', (args, kwargs) => (noKwargs('list', kwargs), args.length ? iterate(bindArgs('list', ['iterable?'], args, [])[0]!) : []));
  type('tuple', (args, kwargs) => (noKwargs('tuple', kwargs), new PyTuple(args.length ? iterate(bindArgs('tuple', ['iterable?'], args, [])[0]!) : [])));
  type('set', (args, kwargs) => (noKwargs('set', kwargs), new PySet(args.length ? iterate(bindArgs('set', ['iterable?'], args, [])[0]!) : [])));
  type('frozenset', (args, kwargs) => (noKwargs('frozenset', kwargs), new PySet(args.length ? iterate(bindArgs('frozenset', ['iterable?'], args, [])[0]!) : [], true)));
  type('int', (args, kwargs) => {
    const [v, base] = bindArgs('int', ['x?', 'base?'], args, kwargs);
    return v === undefined ? 0n : toInt(v, base);
  });
  type('float', (args, kwargs) => {
    noKwargs('float', kwargs);
    const [v] = bindArgs('float', ['x?'], args, []);
    return v === undefined ? 0 : toFloat(v);
  });
  type('str', (args, kwargs) => {
    const [v] = bindArgs('str', ['object?'], args, kwargs);
    return v === undefined ? '' : str(v);
  });
  type('bool', (args, kwargs) => {
    noKwargs('bool', kwargs);
    const [v] = bindArgs('bool', ['x?'], args, []);
    return v === undefined ? false : truthy(v);
  });
  type('type', (args, kwargs) => {
    noKwargs('type', kwargs);
    if (args.length !== 1) pyError('TypeError', 'type() takes 1 argument in configs');
    const name = typeName(args[0]);
    const t = b.get(name === 'ConfigDict' ? 'dict' : name);
    if (!(t instanceof PyCallable)) return pyError('TypeError', `type() of a ${name} is not available in configs`);
    return t;
  });
  type('range', (args, kwargs) => rangeOf(args, kwargs));

  fn('len', (args, kwargs) => {
    const [v] = bindArgs('len', ['obj'], args, kwargs);
    if (typeof v === 'string') return BigInt([...v].length);
    if (Array.isArray(v)) return BigInt(v.length);
    if (v instanceof PyTuple) return BigInt(v.items.length);
    if (v instanceof PyDict || v instanceof PySet) return BigInt(v.size);
    if (v instanceof PyIterable && v.length) return BigInt(v.length());
    return pyError('TypeError', `object of type '${typeName(v!)}' has no len()`);
  });
  fn('zip', (args, kwargs) => {
    const strict = kwargs.find(([k]) => k === 'strict')?.[1];
    const lists = args.map(iterate);
    if (strict && new Set(lists.map((l) => l.length)).size > 1) pyError('ValueError', 'zip() arguments have different lengths');
    const n = lists.length ? Math.min(...lists.map((l) => l.length)) : 0;
    return once('zip', () => Array.from({ length: n }, (_, i) => new PyTuple(lists.map((l) => l[i]))));
  });
  fn('enumerate', (args, kwargs) => {
    const [it, start] = bindArgs('enumerate', ['iterable', 'start?'], args, kwargs);
    const items = iterate(it!);
    const s = start === undefined ? 0n : toBigInt(start);
    return once('enumerate', () => items.map((v, i) => new PyTuple([s + BigInt(i), v])));
  });
  fn('reversed', (args, kwargs) => {
    const [seq] = bindArgs('reversed', ['sequence'], args, kwargs);
    if (seq instanceof PyDict || seq instanceof PySet || typeof seq === 'string' || Array.isArray(seq) || seq instanceof PyTuple || seq instanceof PyIterable) {
      const items = iterate(seq!).reverse();
      return once('reversed', () => items);
    }
    return pyError('TypeError', `'${typeName(seq!)}' object is not reversible`);
  });
  fn('map', (args, kwargs, loc) => {
    noKwargs('map', kwargs);
    if (args.length < 2) pyError('TypeError', 'map() must have at least two arguments.');
    const [f, ...its] = args;
    const lists = its.map(iterate);
    const n = Math.min(...lists.map((l) => l.length));
    return once('map', () => Array.from({ length: n }, (_, i) => callValue(f, lists.map((l) => l[i]), [], loc)));
  });
  fn('filter', (args, kwargs, loc) => {
    noKwargs('filter', kwargs);
    const [f, it] = bindArgs('filter', ['function', 'iterable'], args, []);
    const items = iterate(it!);
    return once('filter', () => items.filter((v) => truthy(f === null ? v : callValue(f!, [v], [], loc))));
  });
  fn('sorted', (args, kwargs, loc) => {
    if (args.length !== 1) pyError('TypeError', `sorted expected 1 argument, got ${args.length}`);
    const [key, rev] = bindArgs('sorted', ['key?', 'reverse?'], [], kwargs);
    return sortValues(iterate(args[0]), key, rev !== undefined && truthy(rev), loc);
  });
  fn('min', (args, kwargs, loc) => minMax('min', args, kwargs, loc));
  fn('max', (args, kwargs, loc) => minMax('max', args, kwargs, loc));
  fn('sum', (args, kwargs) => {
    const [it, start] = bindArgs('sum', ['iterable', 'start?'], args, kwargs);
    if (typeof start === 'string') pyError('TypeError', "sum() can't sum strings [use ''.join(seq) instead]");
    return iterate(it!).reduce((acc: PyValue, v) => binaryOp('+', acc, v), start ?? 0n);
  });
  fn('any', (args, kwargs) => iterate(bindArgs('any', ['iterable'], args, kwargs)[0]!).some(truthy));
  fn('all', (args, kwargs) => iterate(bindArgs('all', ['iterable'], args, kwargs)[0]!).every(truthy));
  fn('abs', (args, kwargs) => {
    const [v] = bindArgs('abs', ['x'], args, kwargs);
    if (typeof v === 'bigint') return v < 0n ? -v : v;
    if (typeof v === 'boolean') return v ? 1n : 0n;
    if (typeof v === 'number') return Math.abs(v);
    return pyError('TypeError', `bad operand type for abs(): '${typeName(v!)}'`);
  });
  fn('round', (args, kwargs) => {
    const [x, nd] = bindArgs('round', ['number', 'ndigits?'], args, kwargs);
    return round(x!, nd);
  });
  fn('divmod', (args, kwargs) => {
    const [a, c] = bindArgs('divmod', ['a', 'b'], args, kwargs);
    return new PyTuple([binaryOp('//', a!, c!), binaryOp('%', a!, c!)]);
  });
  fn('pow', (args, kwargs) => {
    const [a, e, m] = bindArgs('pow', ['base', 'exp', 'mod?'], args, kwargs);
    if (m === undefined || m === null) return binaryOp('**', a!, e!);
    let base = toBigInt(a!);
    let exp = toBigInt(e!);
    const mod = toBigInt(m);
    if (mod === 0n) pyError('ValueError', 'pow() 3rd argument cannot be 0');
    if (exp < 0n) pyError('ValueError', 'pow() negative exponent with a modulus is not supported in configs');
    let r = 1n;
    base = ((base % mod) + mod) % mod;
    while (exp > 0n) {
      if (exp & 1n) r = (r * base) % mod;
      base = (base * base) % mod;
      exp >>= 1n;
    }
    return binaryOp('%', r, mod);
  });
  fn('repr', (args, kwargs) => repr(bindArgs('repr', ['obj'], args, kwargs)[0]!));
  fn('ascii', (args, kwargs) => repr(bindArgs('ascii', ['obj'], args, kwargs)[0]!).replace(/[^\x00-\x7f]/gu, (c) => {
    const cp = c.codePointAt(0)!;
    return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
  }));
  fn('format', (args, kwargs) => {
    const [v, spec] = bindArgs('format', ['value', 'format_spec?'], args, kwargs);
    return formatValue(v!, spec === undefined ? '' : str(spec));
  });
  fn('chr', (args, kwargs) => {
    const n = toIndex(bindArgs('chr', ['i'], args, kwargs)[0]!);
    if (n < 0 || n > 0x10ffff) pyError('ValueError', 'chr() arg not in range(0x110000)');
    return String.fromCodePoint(n);
  });
  fn('ord', (args, kwargs) => {
    const [c] = bindArgs('ord', ['c'], args, kwargs);
    if (typeof c !== 'string' || [...c].length !== 1) return pyError('TypeError', `ord() expected a character, but got ${typeof c === 'string' ? `string of length ${[...c].length}` : typeName(c!)}`);
    return BigInt(c.codePointAt(0)!);
  });
  const radix = (name: string, base: number, prefix: string) =>
    fn(name, (args, kwargs) => {
      const n = toBigInt(bindArgs(name, ['x'], args, kwargs)[0]!);
      return (n < 0n ? '-' : '') + prefix + (n < 0n ? -n : n).toString(base);
    });
  radix('hex', 16, '0x');
  radix('oct', 8, '0o');
  radix('bin', 2, '0b');
  fn('isinstance', (args, kwargs) => {
    const [v, t] = bindArgs('isinstance', ['obj', 'class_or_tuple'], args, kwargs);
    return isInstance(v!, t!);
  });
  fn('callable', (args, kwargs) => {
    const [v] = bindArgs('callable', ['obj'], args, kwargs);
    return v instanceof PyCallable || v instanceof PyLazy;
  });
  fn('getattr', (args, kwargs, loc) => {
    const [o, name, def] = bindArgs('getattr', ['object', 'name', 'default?'], args, kwargs);
    if (typeof name !== 'string') return pyError('TypeError', 'attribute name must be string');
    try {
      return getAttribute(o!, name, loc);
    } catch (e) {
      if (def !== undefined && e instanceof PyError && e.pyType === 'AttributeError') return def;
      throw e;
    }
  });
  fn('hasattr', (args, kwargs, loc) => {
    const [o, name] = bindArgs('hasattr', ['object', 'name'], args, kwargs);
    if (typeof name !== 'string') return pyError('TypeError', 'attribute name must be string');
    try {
      getAttribute(o!, name, loc);
      return true;
    } catch (e) {
      if (e instanceof PyError && e.pyType === 'AttributeError') return false;
      throw e;
    }
  });
  fn('setattr', (args, kwargs) => {
    const [o, name, v] = bindArgs('setattr', ['object', 'name', 'value'], args, kwargs);
    if (typeof name !== 'string') return pyError('TypeError', 'attribute name must be string');
    setAttribute(o!, name, v!);
    return null;
  });
  // print() output would mix into what `anvil print-config` writes; configs print for humans only
  fn('print', () => null);
  // a config runs with no __name__ of its own, so Python finds the builtins module's
  b.set('__name__', 'builtins');
  for (const name of REFUSED) fn(name, () => pyError('NotImplementedError', `${name}() is not supported in configs`));
  return b;
}

/** A fresh builtins table (functions are stateless; a new map keeps configs from sharing names). */
export function builtins(): Map<string, PyValue> {
  return make();
}
