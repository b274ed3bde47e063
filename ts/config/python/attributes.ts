// Attribute access on config values: methods of list/dict/set/tuple/str/numbers, ConfigDict's
// attribute-style keys (and its merging update()), module attributes and lazy imports.

import { pyError } from '../errors';
import type { Loc } from './ast';
import { repr } from './format';
import { pyEquals, pyLess } from './operators';
import { bindArgs, callValue, hook, iterate, noKwargs, toIndex } from './runtime';
import { strMethod } from './str-methods';
import { PyBuiltin, PyCallable, PyDict, PyIterable, PyLazy, PyModule, PySet, PyTuple, typeName, type Kwargs, type PyValue } from './values';

type Impl<T> = (self: T, args: PyValue[], kwargs: Kwargs, loc: Loc) => PyValue;

/** Stable sort with Python's `<` and an optional key function. */
export function sortValues(items: PyValue[], key: PyValue | undefined, reverse: boolean, loc: Loc): PyValue[] {
  const keyed = items.map((v) => ({ v, k: key === undefined || key === null ? v : callValue(key, [v], [], loc) }));
  // Array.prototype.sort is stable, so reverse=True keeps equal items in order, as Python does
  const sign = reverse ? -1 : 1;
  keyed.sort((a, b) => (pyLess(a.k, b.k, false, '<') ? -sign : pyLess(b.k, a.k, false, '<') ? sign : 0));
  return keyed.map((x) => x.v);
}

function indexOf(items: readonly PyValue[], v: PyValue, what: string): number {
  const i = items.findIndex((x) => pyEquals(x, v));
  if (i < 0) pyError('ValueError', `${what}`);
  return i;
}

const LIST_METHODS: Record<string, Impl<PyValue[]>> = {
  append: (l, a, k) => (noKwargs('append', k), l.push(bindArgs('append', ['object'], a, k)[0]!), null),
  extend: (l, a, k) => (l.push(...iterate(bindArgs('extend', ['iterable'], a, k)[0]!)), null),
  insert: (l, a, k) => {
    const [i, v] = bindArgs('insert', ['index', 'object'], a, k);
    let at = toIndex(i!);
    if (at < 0) at = Math.max(0, at + l.length);
    l.splice(Math.min(at, l.length), 0, v!);
    return null;
  },
  pop: (l, a, k) => {
    const [i] = bindArgs('pop', ['index?'], a, k);
    if (!l.length) pyError('IndexError', 'pop from empty list');
    let at = i === undefined ? l.length - 1 : toIndex(i);
    if (at < 0) at += l.length;
    if (at < 0 || at >= l.length) pyError('IndexError', 'pop index out of range');
    return l.splice(at, 1)[0];
  },
  remove: (l, a, k) => (l.splice(indexOf(l, bindArgs('remove', ['value'], a, k)[0]!, 'list.remove(x): x not in list'), 1), null),
  index: (l, a, k) => BigInt(indexOf(l, bindArgs('index', ['value'], a, k)[0]!, `${repr(a[0] ?? null)} is not in list`)),
  count: (l, a, k) => BigInt(l.filter((x) => pyEquals(x, bindArgs('count', ['value'], a, k)[0]!)).length),
  copy: (l) => [...l],
  clear: (l) => (l.splice(0), null),
  reverse: (l) => (l.reverse(), null),
  sort: (l, a, k, loc) => {
    if (a.length) pyError('TypeError', 'sort() takes no positional arguments');
    const [key, rev] = bindArgs('sort', ['key?', 'reverse?'], [], k);
    const sorted = sortValues(l, key, rev === true, loc);
    l.splice(0, l.length, ...sorted);
    return null;
  },
};

const TUPLE_METHODS: Record<string, Impl<PyTuple>> = {
  index: (t, a, k) => BigInt(indexOf(t.items, bindArgs('index', ['value'], a, k)[0]!, 'tuple.index(x): x not in tuple')),
  count: (t, a, k) => BigInt(t.items.filter((x) => pyEquals(x, bindArgs('count', ['value'], a, k)[0]!)).length),
};

/** The items of dict(...)-style arguments: a mapping or an iterable of pairs, then keywords. */
export function mappingItems(fname: string, args: PyValue[], kwargs: Kwargs): Array<[PyValue, PyValue]> {
  if (args.length > 1) pyError('TypeError', `${fname} expected at most 1 argument, got ${args.length}`);
  const out: Array<[PyValue, PyValue]> = [];
  if (args.length === 1) {
    const src = args[0];
    if (src instanceof PyDict) out.push(...src.entries());
    else {
      iterate(src).forEach((pair, i) => {
        const kv = iterate(pair);
        if (kv.length !== 2) pyError('ValueError', `dictionary update sequence element #${i} has length ${kv.length}; 2 is required`);
        out.push([kv[0], kv[1]]);
      });
    }
  }
  for (const [k, v] of kwargs) out.push([k, v]);
  return out;
}

/** ConfigDict.update: nested dicts present on both sides are updated in place, recursively. */
function configDictUpdate(d: PyDict, items: Array<[PyValue, PyValue]>): void {
  for (const [k, v] of items) {
    const cur = d.get(k);
    if (cur instanceof PyDict && v instanceof PyDict) {
      if (cur.configDict) configDictUpdate(cur, v.entries());
      else for (const [k2, v2] of v.entries()) cur.set(k2, v2);
    } else d.set(k, hook(v));
  }
}

function dictView(d: PyDict, typeName: string, produce: () => PyValue[]): PyIterable {
  return new PyIterable(typeName, produce, true, () => d.size);
}

/** ConfigDict.to_dict: plain dicts all the way down. */
function plainCopy(v: PyValue): PyValue {
  if (v instanceof PyDict) return new PyDict(v.entries().map(([k, x]) => [k, plainCopy(x)]));
  if (Array.isArray(v)) return v.map(plainCopy);
  if (v instanceof PyTuple) return new PyTuple(v.items.map(plainCopy));
  return v;
}

const DICT_METHODS: Record<string, Impl<PyDict>> = {
  get: (d, a, k) => {
    const [key, def] = bindArgs('get', ['key', 'default?'], a, k);
    const v = d.get(key!);
    return v === undefined ? (def ?? null) : v;
  },
  keys: (d) => dictView(d, 'dict_keys', () => d.keys()),
  values: (d) => dictView(d, 'dict_values', () => d.values()),
  items: (d) => dictView(d, 'dict_items', () => d.entries().map(([k, v]) => new PyTuple([k, v]))),
  update: (d, a, k) => {
    const items = mappingItems('update', a, k);
    if (d.configDict) configDictUpdate(d, items);
    else for (const [key, v] of items) d.set(key, v);
    return null;
  },
  pop: (d, a, k) => {
    const [key, def] = bindArgs('pop', ['key', 'default?'], a, k);
    const v = d.get(key!);
    if (v === undefined) {
      if (def === undefined) pyError('KeyError', repr(key!));
      return def;
    }
    d.delete(key!);
    return v;
  },
  popitem: (d) => {
    const entries = d.entries();
    if (!entries.length) pyError('KeyError', 'popitem(): dictionary is empty');
    const [k, v] = entries[entries.length - 1];
    d.delete(k);
    return new PyTuple([k, v]);
  },
  setdefault: (d, a, k) => {
    const [key, def] = bindArgs('setdefault', ['key', 'default?'], a, k);
    const v = d.get(key!);
    if (v !== undefined) return v;
    d.set(key!, d.configDict ? hook(def ?? null) : (def ?? null));
    return d.get(key!)!;
  },
  copy: (d) => d.copy(),
  clear: (d) => (d.clear(), null),
  to_dict: (d) => plainCopy(d),
};

const SET_METHODS: Record<string, Impl<PySet>> = {
  add: (s, a, k) => (s.add(bindArgs('add', ['elem'], a, k)[0]!), null),
  update: (s, a) => (a.forEach((x) => iterate(x).forEach((v) => s.add(v))), null),
  remove: (s, a, k) => {
    const v = bindArgs('remove', ['elem'], a, k)[0]!;
    if (!s.delete(v)) pyError('KeyError', repr(v));
    return null;
  },
  discard: (s, a, k) => (s.delete(bindArgs('discard', ['elem'], a, k)[0]!), null),
  pop: (s) => {
    const items = s.items();
    if (!items.length) pyError('KeyError', 'pop from an empty set');
    s.delete(items[0]);
    return items[0];
  },
  union: (s, a) => new PySet([...s.items(), ...a.flatMap(iterate)], s.frozen),
  intersection: (s, a) => new PySet(s.items().filter((v) => a.every((o) => new PySet(iterate(o)).has(v))), s.frozen),
  difference: (s, a) => new PySet(s.items().filter((v) => !a.some((o) => new PySet(iterate(o)).has(v))), s.frozen),
  symmetric_difference: (s, a, k) => {
    const o = new PySet(iterate(bindArgs('symmetric_difference', ['other'], a, k)[0]!));
    return new PySet([...s.items().filter((v) => !o.has(v)), ...o.items().filter((v) => !s.has(v))], s.frozen);
  },
  issubset: (s, a, k) => {
    const o = new PySet(iterate(bindArgs('issubset', ['other'], a, k)[0]!));
    return s.items().every((v) => o.has(v));
  },
  issuperset: (s, a, k) => iterate(bindArgs('issuperset', ['other'], a, k)[0]!).every((v) => s.has(v)),
  isdisjoint: (s, a, k) => !iterate(bindArgs('isdisjoint', ['other'], a, k)[0]!).some((v) => s.has(v)),
  copy: (s) => new PySet(s.items(), s.frozen),
  clear: (s) => (s.clear(), null),
};

const FROZEN_SET_METHODS = new Set(['union', 'intersection', 'difference', 'symmetric_difference', 'issubset', 'issuperset', 'isdisjoint', 'copy']);

function bind<T>(self: T, name: string, table: Record<string, Impl<T>>): PyBuiltin | undefined {
  if (!Object.hasOwn(table, name)) return undefined;
  const impl = table[name];
  return new PyBuiltin(name, (args, kwargs, loc) => impl(self, args, kwargs, loc));
}

function numberAttr(v: bigint | number | boolean, name: string): PyValue | undefined {
  if (typeof v === 'number') {
    if (name === 'is_integer') return new PyBuiltin(name, () => Number.isInteger(v));
    if (name === 'real') return v;
    if (name === 'imag') return 0;
    return undefined;
  }
  const n = BigInt(v);
  if (name === 'bit_length') return new PyBuiltin(name, () => BigInt(n === 0n ? 0 : (n < 0n ? -n : n).toString(2).length));
  if (name === 'real' || name === 'numerator') return n;
  if (name === 'imag') return 0n;
  if (name === 'denominator') return 1n;
  return undefined;
}

/** Attributes of type objects such as `dict.fromkeys`. */
const TYPE_ATTRS: Record<string, Record<string, PyBuiltin>> = {
  dict: {
    fromkeys: new PyBuiltin('fromkeys', (args, kwargs) => {
      const [keys, value] = bindArgs('fromkeys', ['iterable', 'value?'], args, kwargs);
      return new PyDict(iterate(keys!).map((k) => [k, value ?? null]));
    }),
  },
};

/** `value.name`. */
export function getAttribute(v: PyValue, name: string, _loc: Loc): PyValue {
  let found: PyValue | undefined;
  if (typeof v === 'string') found = strMethod(v, name, getAttribute);
  else if (Array.isArray(v)) found = bind(v, name, LIST_METHODS);
  else if (v instanceof PyTuple) found = bind(v, name, TUPLE_METHODS);
  else if (v instanceof PySet) found = !v.frozen || FROZEN_SET_METHODS.has(name) ? bind(v, name, SET_METHODS) : undefined;
  else if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') found = numberAttr(v, name);
  else if (v instanceof PyDict) {
    found = name === 'to_dict' && !v.configDict ? undefined : bind(v, name, DICT_METHODS);
    if (found === undefined && v.configDict) {
      found = v.get(name);
      if (found === undefined) pyError('AttributeError', `'ConfigDict' object has no attribute '${name}'`);
    }
  } else if (v instanceof PyModule) {
    if (v.attrs === null) pyError('ImportError', `module '${v.name}' is not available while loading a config (used '${v.name}.${name}')`);
    found = v.attrs.get(name);
    if (found === undefined) pyError('AttributeError', `module '${v.name}' has no attribute '${name}'`);
  } else if (v instanceof PyLazy) {
    return v.attr(name);
  } else if (v instanceof PyCallable && v.kind === 'type') {
    found = TYPE_ATTRS[v.name]?.[name];
    if (name === '__name__') found = v.name;
  } else if (v instanceof PyCallable && name === '__name__') {
    found = v.name;
  }
  if (found === undefined) pyError('AttributeError', `'${typeName(v)}' object has no attribute '${name}'`);
  return found;
}

/** `obj.name = value`: only a ConfigDict takes new attributes (as keys). */
export function setAttribute(obj: PyValue, name: string, value: PyValue): void {
  if (obj instanceof PyDict && obj.configDict) {
    obj.set(name, hook(value));
    return;
  }
  if (obj instanceof PyModule) pyError('AttributeError', `cannot set attributes of module '${obj.name}' in a config`);
  pyError('AttributeError', `'${typeName(obj)}' object has no attribute '${name}'`);
}

/** `del obj.name`. */
export function delAttribute(obj: PyValue, name: string): void {
  if (obj instanceof PyDict && obj.configDict && obj.delete(name)) return;
  pyError('AttributeError', `'${typeName(obj)}' object has no attribute '${name}'`);
}

