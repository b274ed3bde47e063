// Python's operator semantics over config values: arithmetic with the int/float/bool tower,
// sequence concatenation and repetition, equality, ordering, membership and truthiness.

import { pyError } from '../errors';
import type { BinaryOp } from './ast';
import { checkLength, MAX_SEQUENCE } from './budget';
import { percentFormat } from './format';
import { PyDict, PyIterable, PySet, PyTuple, typeName, type PyValue } from './values';

/** Largest integer (in bits) an expression may build: configs never need more, and it keeps evaluation bounded. */
const MAX_INT_BITS = 100_000;

export function truthy(v: PyValue): boolean {
  if (v === null) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'bigint':
      return v !== 0n;
    case 'number':
      return v !== 0;
    case 'string':
      return v.length > 0;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyTuple) return v.items.length > 0;
  if (v instanceof PyDict || v instanceof PySet) return v.size > 0;
  if (v instanceof PyIterable && v.length) return v.length() > 0;
  return true;
}

type Num = bigint | number;

/** bool and int as bigint, float as number; undefined for a non-number. */
function num(v: PyValue): Num | undefined {
  if (typeof v === 'bigint' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return undefined;
}

export function isNumber(v: PyValue): v is boolean | bigint | number {
  return typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean';
}

function bitLength(n: bigint): number {
  return (n < 0n ? -n : n).toString(16).length * 4;
}

function checkIntSize(n: bigint): bigint {
  if (bitLength(n) > MAX_INT_BITS) pyError('OverflowError', 'integer result too large for a config value');
  return n;
}

function toFloat(n: Num): number {
  const f = typeof n === 'bigint' ? Number(n) : n;
  if (typeof n === 'bigint' && !Number.isFinite(f)) pyError('OverflowError', 'int too large to convert to float');
  return f;
}

function floorDivInt(a: bigint, b: bigint): bigint {
  if (b === 0n) pyError('ZeroDivisionError', 'integer division or modulo by zero');
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function modInt(a: bigint, b: bigint): bigint {
  if (b === 0n) pyError('ZeroDivisionError', 'integer division or modulo by zero');
  const r = a % b;
  return r !== 0n && (r < 0n) !== (b < 0n) ? r + b : r;
}

function modFloat(a: number, b: number): number {
  if (b === 0) pyError('ZeroDivisionError', 'float modulo');
  const r = a % b;
  if (r === 0) return b < 0 ? -0 : 0;
  return (r < 0) !== (b < 0) ? r + b : r;
}

function numeric(op: BinaryOp, a: Num, b: Num): PyValue {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    switch (op) {
      case '+':
        return checkIntSize(a + b);
      case '-':
        return checkIntSize(a - b);
      case '*':
        return checkIntSize(a * b);
      case '/':
        if (b === 0n) pyError('ZeroDivisionError', 'division by zero');
        return trueDivide(a, b);
      case '//':
        return floorDivInt(a, b);
      case '%':
        return modInt(a, b);
      case '**':
        if (b < 0n) {
          if (a === 0n) pyError('ZeroDivisionError', '0.0 cannot be raised to a negative power');
          return toFloat(a) ** toFloat(b);
        }
        if (a !== 0n && a !== 1n && a !== -1n && BigInt(bitLength(a)) * b > BigInt(MAX_INT_BITS)) pyError('OverflowError', 'integer result too large for a config value');
        return a ** b;
      case '<<':
      case '>>':
        if (b < 0n) pyError('ValueError', 'negative shift count');
        if (op === '>>') return a >> b;
        if (a !== 0n && BigInt(bitLength(a)) + b > BigInt(MAX_INT_BITS)) pyError('OverflowError', 'integer result too large for a config value');
        return a << b;
      case '&':
        return a & b;
      case '|':
        return a | b;
      case '^':
        return a ^ b;
    }
  }
  if (op === '<<' || op === '>>' || op === '&' || op === '|' || op === '^') return unsupported(op, a, b);
  const x = toFloat(a);
  const y = toFloat(b);
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      if (y === 0) pyError('ZeroDivisionError', 'float division by zero');
      return x / y;
    case '//':
      if (y === 0) pyError('ZeroDivisionError', 'float floor division by zero');
      return Math.floor(x / y);
    case '%':
      return modFloat(x, y);
    case '**': {
      if (x === 0 && y < 0) pyError('ZeroDivisionError', '0.0 cannot be raised to a negative power');
      if (x < 0 && !Number.isInteger(y)) pyError('ValueError', 'complex results are not supported in configs');
      const r = x ** y;
      if (!Number.isFinite(r) && Number.isFinite(x) && Number.isFinite(y)) pyError('OverflowError', 'Numerical result out of range');
      return r;
    }
  }
  return unsupported(op, a, b);
}

/** int / int correctly rounded even beyond 2**53, as Python does. */
function trueDivide(a: bigint, b: bigint): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isSafeInteger(x) && Number.isSafeInteger(y)) return x / y;
  // scale the quotient to 64 significant bits, then let the float conversion round
  const neg = (a < 0n) !== (b < 0n);
  const n = a < 0n ? -a : a;
  const d = b < 0n ? -b : b;
  const shift = bitLength(d) - bitLength(n) + 64;
  const q = shift >= 0 ? (n << BigInt(shift)) / d : n / (d << BigInt(-shift));
  const r = Number(q) * 2 ** -shift;
  return neg ? -r : r;
}

function unsupported(op: string, a: PyValue, b: PyValue): never {
  return pyError('TypeError', `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

function repeatCount(n: PyValue, length: number): number {
  const k = Number(n as bigint | boolean);
  if (k <= 0) return 0;
  checkLength(k * length);
  return k;
}

function repeatSeq<T>(items: readonly T[], n: PyValue): T[] {
  const k = repeatCount(n, items.length);
  const out: T[] = [];
  for (let i = 0; i < k; i++) out.push(...items);
  return out;
}

export function binaryOp(op: BinaryOp, a: PyValue, b: PyValue): PyValue {
  const x = num(a);
  const y = num(b);
  if (x !== undefined && y !== undefined) {
    if (typeof a === 'boolean' && typeof b === 'boolean' && (op === '&' || op === '|' || op === '^')) {
      return op === '&' ? a && b : op === '|' ? a || b : a !== b;
    }
    return numeric(op, x, y);
  }
  const isInt = (v: PyValue) => typeof v === 'bigint' || typeof v === 'boolean';
  switch (op) {
    case '+':
      if (typeof a === 'string' && typeof b === 'string') {
        if (a.length + b.length > MAX_SEQUENCE) pyError('MemoryError', 'string too large for a config');
        return a + b;
      }
      if (Array.isArray(a) && Array.isArray(b)) {
        checkLength(a.length + b.length);
        return [...a, ...b];
      }
      if (a instanceof PyTuple && b instanceof PyTuple) {
        checkLength(a.items.length + b.items.length);
        return new PyTuple([...a.items, ...b.items]);
      }
      break;
    case '*':
      if (typeof a === 'string' && isInt(b)) return a.repeat(repeatCount(b, a.length));
      if (typeof b === 'string' && isInt(a)) return b.repeat(repeatCount(a, b.length));
      if (Array.isArray(a) && isInt(b)) return repeatSeq(a, b);
      if (Array.isArray(b) && isInt(a)) return repeatSeq(b, a);
      if (a instanceof PyTuple && isInt(b)) return new PyTuple(repeatSeq(a.items, b));
      if (b instanceof PyTuple && isInt(a)) return new PyTuple(repeatSeq(b.items, a));
      break;
    case '%':
      if (typeof a === 'string') return percentFormat(a, b, (v) => toIntStrict(v));
      break;
    case '|':
      if (a instanceof PyDict && b instanceof PyDict) {
        const out = a.copy();
        for (const [k, v] of b.entries()) out.set(k, v);
        return out;
      }
      if (a instanceof PySet && b instanceof PySet) return new PySet([...a.items(), ...b.items()], a.frozen);
      break;
    case '&':
      if (a instanceof PySet && b instanceof PySet) return new PySet(a.items().filter((v) => b.has(v)), a.frozen);
      break;
    case '-':
      if (a instanceof PySet && b instanceof PySet) return new PySet(a.items().filter((v) => !b.has(v)), a.frozen);
      break;
    case '^':
      if (a instanceof PySet && b instanceof PySet) return new PySet([...a.items().filter((v) => !b.has(v)), ...b.items().filter((v) => !a.has(v))], a.frozen);
      break;
  }
  if (op === '+' && (typeof a === 'string' || typeof b === 'string')) {
    pyError('TypeError', typeof a === 'string' ? `can only concatenate str (not "${typeName(b)}") to str` : `unsupported operand type(s) for +: '${typeName(a)}' and 'str'`);
  }
  if (op === '+' && Array.isArray(a)) pyError('TypeError', `can only concatenate list (not "${typeName(b)}") to list`);
  return unsupported(op, a, b);
}

function toIntStrict(v: PyValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return pyError('TypeError', `an integer is required, not ${typeName(v)}`);
}

export function unaryOp(op: '-' | '+' | '~' | 'not', v: PyValue): PyValue {
  if (op === 'not') return !truthy(v);
  const n = num(v);
  if (n === undefined) return pyError('TypeError', `bad operand type for unary ${op}: '${typeName(v)}'`);
  if (op === '-') return typeof n === 'bigint' ? -n : -n;
  if (op === '+') return n;
  if (typeof n !== 'bigint') return pyError('TypeError', "bad operand type for unary ~: 'float'");
  return ~n;
}

/** Python's == (1 == 1.0 == True; list != tuple; dicts compare unordered). */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (a === b) return typeof a !== 'number' || !Number.isNaN(a);
  const x = num(a);
  const y = num(b);
  if (x !== undefined && y !== undefined) {
    if (typeof x === 'bigint' && typeof y === 'bigint') return x === y;
    if (typeof x === 'number' && typeof y === 'number') return x === y;
    const f = (typeof x === 'number' ? x : y) as number;
    const i = (typeof x === 'bigint' ? x : y) as bigint;
    return Number.isInteger(f) && BigInt(f) === i;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => pyEquals(v, b[i]));
  if (a instanceof PyTuple && b instanceof PyTuple) return a.items.length === b.items.length && a.items.every((v, i) => pyEquals(v, b.items[i]));
  if (a instanceof PyDict && b instanceof PyDict) {
    return a.size === b.size && a.entries().every(([k, v]) => b.has(k) && pyEquals(v, b.get(k)!));
  }
  if (a instanceof PySet && b instanceof PySet) return a.size === b.size && a.items().every((v) => b.has(v));
  return false;
}

/** a < b (or a <= b when `orEqual`), for numbers, strings, lists and tuples (lexicographic) and sets (subset). */
export function pyLess(a: PyValue, b: PyValue, orEqual: boolean, opText: string): boolean {
  const x = num(a);
  const y = num(b);
  if (x !== undefined && y !== undefined) {
    if (typeof x === 'bigint' && typeof y === 'bigint') return orEqual ? x <= y : x < y;
    if (typeof x === 'number' && typeof y === 'number') return orEqual ? x <= y : x < y;
    // exact int/float comparison
    const f = (typeof x === 'number' ? x : y) as number;
    if (Number.isNaN(f)) return false;
    if (!Number.isFinite(f)) return typeof x === 'number' ? f < 0 : f > 0;
    const fi = BigInt(Math.floor(f));
    const frac = f - Math.floor(f);
    if (typeof x === 'bigint') return x < fi || (x === fi && (frac > 0 || orEqual));
    const yi = y as bigint;
    return fi < yi ? true : fi > yi ? false : frac === 0 ? orEqual : false;
  }
  if (typeof a === 'string' && typeof b === 'string') return orEqual ? a <= b : a < b;
  const seq = (v: PyValue) => (Array.isArray(v) ? v : v instanceof PyTuple ? v.items : null);
  const sa = seq(a);
  const sb = seq(b);
  if (sa && sb && Array.isArray(a) === Array.isArray(b)) {
    for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
      if (!pyEquals(sa[i], sb[i])) return pyLess(sa[i], sb[i], false, opText);
    }
    return orEqual ? sa.length <= sb.length : sa.length < sb.length;
  }
  if (a instanceof PySet && b instanceof PySet) return a.items().every((v) => b.has(v)) && (orEqual || a.size < b.size);
  return pyError('TypeError', `'${opText}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

/** `needle in haystack`. */
export function contains(haystack: PyValue, needle: PyValue): boolean {
  if (typeof haystack === 'string') {
    if (typeof needle !== 'string') pyError('TypeError', `'in <string>' requires string as left operand, not ${typeName(needle)}`);
    return haystack.includes(needle);
  }
  if (Array.isArray(haystack)) return haystack.some((v) => pyEquals(v, needle));
  if (haystack instanceof PyTuple) return haystack.items.some((v) => pyEquals(v, needle));
  if (haystack instanceof PyDict) return haystack.has(needle);
  if (haystack instanceof PySet) return haystack.has(needle);
  if (haystack instanceof PyIterable) return haystack.items().some((v) => pyEquals(v, needle));
  return pyError('TypeError', `argument of type '${typeName(haystack)}' is not iterable`);
}

/** Python's `is`: identity for objects, value identity for None/bool/int/float/str (as CPython's caches make common cases). */
export function pyIs(a: PyValue, b: PyValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  return a === b;
}
