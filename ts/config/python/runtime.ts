// Core protocols shared by the evaluator, builtins and methods: iteration, indexing and
// slicing, calling, argument binding, ConfigDict's value hook, deepcopy and int conversion.

import { pyError } from '../errors';
import type { Loc } from './ast';
import { repr } from './format';
export { checkLength } from './budget';
import { PyCallable, PyDict, PyIterable, PyLazy, PySet, PyTuple, typeName, type Kwargs, type PyValue } from './values';

/** A slice in a subscript (`a[1:3]`); only ever an index, never a stored value. */
export class PySlice {
  constructor(
    readonly start: PyValue,
    readonly stop: PyValue,
    readonly step: PyValue,
  ) {}
}

/** The items of an iterable value, as Python's `for` would produce them. */
export function iterate(v: PyValue): PyValue[] {
  if (Array.isArray(v)) return [...v];
  if (typeof v === 'string') return [...v];
  if (v instanceof PyTuple) return [...v.items];
  if (v instanceof PyDict) return v.keys();
  if (v instanceof PySet) return v.items();
  if (v instanceof PyIterable) return v.items();
  return pyError('TypeError', `'${typeName(v)}' object is not iterable`);
}

/** An int-like value (int or bool) as a JS number; TypeError otherwise. */
export function toIndex(v: PyValue, what = 'indices'): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return pyError('TypeError', `${what} must be integers, not ${typeName(v)}`);
}

export function toBigInt(v: PyValue, what = 'an integer'): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return pyError('TypeError', `'${typeName(v)}' object cannot be interpreted as ${what}`);
}

/** Resolves a slice against a length: start, stop, step as Python's slice.indices does. */
export function sliceIndices(s: PySlice, length: number): [number, number, number] {
  const step = s.step === null ? 1 : toIndex(s.step, 'slice indices');
  if (step === 0) pyError('ValueError', 'slice step cannot be zero');
  const clamp = (v: PyValue, def: number, lo: number, hi: number) => {
    if (v === null) return def;
    let i = toIndex(v, 'slice indices');
    if (i < 0) i += length;
    return Math.min(Math.max(i, lo), hi);
  };
  return step > 0 ? [clamp(s.start, 0, 0, length), clamp(s.stop, length, 0, length), step] : [clamp(s.start, length - 1, -1, length - 1), clamp(s.stop, -1, -1, length - 1), step];
}

export function sliceItems<T>(items: readonly T[], s: PySlice): T[] {
  const [start, stop, step] = sliceIndices(s, items.length);
  const out: T[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(items[i]);
  return out;
}

function seqIndex(index: PyValue, length: number, kind: string): number {
  if (typeof index !== 'bigint' && typeof index !== 'boolean') pyError('TypeError', `${kind} indices must be integers or slices, not ${typeName(index)}`);
  let i = toIndex(index);
  if (i < 0) i += length;
  if (i < 0 || i >= length) pyError('IndexError', `${kind} index out of range`);
  return i;
}

/** `container[index]`. */
export function getItem(container: PyValue, index: PyValue | PySlice): PyValue {
  if (Array.isArray(container)) return index instanceof PySlice ? sliceItems(container, index) : container[seqIndex(index, container.length, 'list')];
  if (container instanceof PyTuple) {
    return index instanceof PySlice ? new PyTuple(sliceItems(container.items, index)) : container.items[seqIndex(index, container.items.length, 'tuple')];
  }
  if (typeof container === 'string') {
    const chars = [...container];
    return index instanceof PySlice ? sliceItems(chars, index).join('') : chars[seqIndex(index, chars.length, 'string')];
  }
  if (container instanceof PyDict) {
    if (index instanceof PySlice) pyError('TypeError', "unhashable type: 'slice'");
    const v = container.get(index);
    if (v === undefined) pyError('KeyError', repr(index));
    return v;
  }
  if (container instanceof PyIterable && container.length) {
    const items = container.items();
    return index instanceof PySlice ? sliceItems(items, index) : items[seqIndex(index, items.length, container.typeName)];
  }
  if (container instanceof PyLazy) pyError('TypeError', `'${container.str}' is imported lazily and cannot be subscripted in a config`);
  return pyError('TypeError', `'${typeName(container)}' object is not subscriptable`);
}

/** `container[index] = value`; a ConfigDict stores dicts as ConfigDicts (MMEngine's hook). */
export function setItem(container: PyValue, index: PyValue | PySlice, value: PyValue): void {
  if (Array.isArray(container)) {
    if (index instanceof PySlice) {
      const [start, stop, step] = sliceIndices(index, container.length);
      const items = iterate(value);
      if (step !== 1) {
        const targets: number[] = [];
        for (let i = start; step > 0 ? i < stop : i > stop; i += step) targets.push(i);
        if (targets.length !== items.length) pyError('ValueError', `attempt to assign sequence of size ${items.length} to extended slice of size ${targets.length}`);
        targets.forEach((t, k) => (container[t] = items[k]));
      } else container.splice(start, Math.max(0, stop - start), ...items);
      return;
    }
    container[seqIndex(index, container.length, 'list')] = value;
    return;
  }
  if (container instanceof PyDict) {
    if (index instanceof PySlice) pyError('TypeError', "unhashable type: 'slice'");
    container.set(index, container.configDict ? hook(value) : value);
    return;
  }
  pyError('TypeError', `'${typeName(container)}' object does not support item assignment`);
}

/** `del container[index]`. */
export function delItem(container: PyValue, index: PyValue | PySlice): void {
  if (Array.isArray(container)) {
    if (index instanceof PySlice) {
      const [start, stop, step] = sliceIndices(index, container.length);
      const drop = new Set<number>();
      for (let i = start; step > 0 ? i < stop : i > stop; i += step) drop.add(i);
      const kept = container.filter((_, i) => !drop.has(i));
      container.splice(0, container.length, ...kept);
    } else container.splice(seqIndex(index, container.length, 'list'), 1);
    return;
  }
  if (container instanceof PyDict) {
    if (index instanceof PySlice || !container.delete(index)) pyError('KeyError', index instanceof PySlice ? 'slice' : repr(index));
    return;
  }
  pyError('TypeError', `'${typeName(container)}' object does not support item deletion`);
}

/** Calls a callable value. */
export function callValue(fn: PyValue, args: PyValue[], kwargs: Kwargs, loc: Loc): PyValue {
  if (fn instanceof PyCallable) return fn.call(args, kwargs, loc);
  if (fn instanceof PyLazy) {
    return pyError('RuntimeError', `'${fn.toString()}' is imported lazily and cannot be called while the config is loaded`);
  }
  return pyError('TypeError', `'${typeName(fn)}' object is not callable`);
}

/**
 * MMEngine's ConfigDict._hook: a plain dict stored into a ConfigDict becomes a ConfigDict
 * (a copy), recursively through lists and tuples; ConfigDicts and other values are kept.
 */
export function hook(v: PyValue): PyValue {
  if (v instanceof PyDict && !v.configDict) return new PyDict(v.entries().map(([k, x]) => [k, hook(x)]), true);
  if (Array.isArray(v)) return v.map(hook);
  if (v instanceof PyTuple) return new PyTuple(v.items.map(hook));
  return v;
}

/** A ConfigDict of a dict's items (MMEngine's `ConfigDict(d)`). */
export function toConfigDict(d: PyDict): PyDict {
  return new PyDict(d.entries().map(([k, x]) => [k, hook(x)]), true);
}

/** copy.deepcopy: containers copied, shared references inside stay shared. */
export function deepCopy(v: PyValue, memo: Map<object, PyValue> = new Map()): PyValue {
  if (v === null || typeof v !== 'object') return v;
  const done = memo.get(v);
  if (done !== undefined) return done;
  if (Array.isArray(v)) {
    const out: PyValue[] = [];
    memo.set(v, out);
    for (const x of v) out.push(deepCopy(x, memo));
    return out;
  }
  if (v instanceof PyDict) {
    const out = new PyDict([], v.configDict);
    memo.set(v, out);
    for (const [k, x] of v.entries()) out.set(deepCopy(k, memo), deepCopy(x, memo));
    return out;
  }
  if (v instanceof PyTuple) {
    const out = new PyTuple(v.items.map((x) => deepCopy(x, memo)));
    memo.set(v, out);
    return out;
  }
  if (v instanceof PySet) {
    const out = new PySet(v.items().map((x) => deepCopy(x, memo)), v.frozen);
    memo.set(v, out);
    return out;
  }
  return v;
}

/** Binds call arguments to named parameters for builtins: `spec` lists names, `?` suffix = optional. */
export function bindArgs(fname: string, spec: string[], args: PyValue[], kwargs: Kwargs): Array<PyValue | undefined> {
  const names = spec.map((s) => s.replace(/\?$/, ''));
  const out: Array<PyValue | undefined> = new Array(spec.length).fill(undefined);
  if (args.length > spec.length) pyError('TypeError', `${fname}() takes at most ${spec.length} argument${spec.length === 1 ? '' : 's'} (${args.length} given)`);
  args.forEach((a, i) => (out[i] = a));
  for (const [k, v] of kwargs) {
    const i = names.indexOf(k);
    if (i < 0) pyError('TypeError', `${fname}() got an unexpected keyword argument '${k}'`);
    if (out[i] !== undefined) pyError('TypeError', `${fname}() got multiple values for argument '${k}'`);
    out[i] = v;
  }
  spec.forEach((s, i) => {
    if (out[i] === undefined && !s.endsWith('?')) pyError('TypeError', `${fname}() missing required argument: '${names[i]}'`);
  });
  return out;
}

export function noKwargs(fname: string, kwargs: Kwargs): void {
  if (kwargs.length) pyError('TypeError', `${fname}() takes no keyword arguments`);
}
