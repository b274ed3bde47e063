// Between config values and plain JavaScript data: toPlain is `to_dict()` (tuples and sets as
// arrays, ints as numbers, dict keys as JSON writes them); fromPlain reads JS/JSON data in.

import { ConfigError } from './errors';
import { floatRepr, repr } from './python/format';
import { PyCallable, PyDict, PyIterable, PyLazy, PyModule, PySet, PyTuple, typeName, type PyValue } from './python/values';

/** A dict key as Python's json module writes it. */
export function jsonKey(k: PyValue): string {
  if (typeof k === 'string') return k;
  if (k === null) return 'null';
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (typeof k === 'bigint') return k.toString();
  if (typeof k === 'number') return Number.isFinite(k) ? floatRepr(k) : Number.isNaN(k) ? 'NaN' : k > 0 ? 'Infinity' : '-Infinity';
  return repr(k);
}

function describePath(path: string): string {
  return path || '(root)';
}

/** The plain-data form of a value; functions, modules and iterators have none (ConfigError naming the key). */
export function toPlain(v: PyValue, path = ''): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((x, i) => toPlain(x, `${path}[${i}]`));
  if (v instanceof PyTuple) return v.items.map((x, i) => toPlain(x, `${path}[${i}]`));
  if (v instanceof PySet) return v.items().map((x, i) => toPlain(x, `${path}[${i}]`));
  if (v instanceof PyDict) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v.entries()) {
      const key = jsonKey(k);
      Object.defineProperty(out, key, { value: toPlain(x, path ? `${path}.${key}` : key), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (v instanceof PyLazy) return v.toString();
  const what = v instanceof PyCallable ? (v.kind === 'function' ? `function ${v.name}()` : `builtin ${v.name}`) : v instanceof PyModule ? `module '${v.name}'` : v instanceof PyIterable ? `${v.typeName} object` : typeName(v);
  throw new ConfigError(null, null, `${describePath(path)}: a ${what} is not config data (it cannot be converted to a dict value)`);
}

/**
 * Plain JS data as config values: integral numbers become ints (JS cannot tell 1.0 from 1),
 * undefined becomes None; functions and class instances are refused.
 */
export function fromPlain(v: unknown, path = ''): PyValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'bigint':
      return v;
    case 'number':
      return Number.isInteger(v) && !Object.is(v, -0) ? BigInt(v) : v;
  }
  if (Array.isArray(v)) return v.map((x, i) => fromPlain(x, `${path}[${i}]`));
  if (v instanceof Map) return new PyDict([...v.entries()].map(([k, x]) => [fromPlain(k, path), fromPlain(x, `${path}.${String(k)}`)]));
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      return new PyDict(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromPlain(x, path ? `${path}.${k}` : k)]));
    }
  }
  throw new ConfigError(null, null, `${describePath(path)}: a ${typeof v === 'function' ? 'function' : (v as object).constructor?.name ?? typeof v} is not config data`);
}
