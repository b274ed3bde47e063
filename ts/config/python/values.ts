// The runtime values of the config-Python evaluator: int is bigint, float is number, plus
// tuples, ordered dicts (plain or MMEngine's ConfigDict), sets, callables, modules and lazy imports.

import type { Loc } from './ast';

export type PyValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyCallable
  | PyModule
  | PyLazy
  | PyIterable;

/** An immutable sequence: Python's tuple (a plain array is a list). */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/**
 * Python's insertion-ordered dict. `configDict` marks MMEngine's ConfigDict (what `_base_` and
 * values read from it are): it allows attribute access and merges nested dicts on update().
 */
export class PyDict {
  private readonly map = new Map<string, [PyValue, PyValue]>();

  constructor(
    entries: Iterable<readonly [PyValue, PyValue]> = [],
    public configDict = false,
  ) {
    for (const [k, v] of entries) this.set(k, v);
  }

  get size(): number {
    return this.map.size;
  }
  has(key: PyValue): boolean {
    return this.map.has(hashKey(key));
  }
  get(key: PyValue): PyValue | undefined {
    return this.map.get(hashKey(key))?.[1];
  }
  /** Like Python, an existing key keeps its first spelling (1 then 1.0 keeps 1) and its position. */
  set(key: PyValue, value: PyValue): void {
    const h = hashKey(key);
    const old = this.map.get(h);
    if (old) old[1] = value;
    else this.map.set(h, [key, value]);
  }
  delete(key: PyValue): boolean {
    return this.map.delete(hashKey(key));
  }
  clear(): void {
    this.map.clear();
  }
  keys(): PyValue[] {
    return [...this.map.values()].map((e) => e[0]);
  }
  values(): PyValue[] {
    return [...this.map.values()].map((e) => e[1]);
  }
  entries(): Array<[PyValue, PyValue]> {
    return [...this.map.values()].map(([k, v]) => [k, v]);
  }
  /** A shallow copy with the same flavour (plain dict or ConfigDict). */
  copy(): PyDict {
    return new PyDict(this.entries(), this.configDict);
  }
}

/** Python's set; iteration follows insertion order (CPython's order is hash-based). */
export class PySet {
  private readonly map = new Map<string, PyValue>();
  constructor(
    items: Iterable<PyValue> = [],
    readonly frozen = false,
  ) {
    for (const v of items) this.add(v);
  }
  get size(): number {
    return this.map.size;
  }
  has(v: PyValue): boolean {
    return this.map.has(hashKey(v));
  }
  add(v: PyValue): void {
    const h = hashKey(v);
    if (!this.map.has(h)) this.map.set(h, v);
  }
  delete(v: PyValue): boolean {
    return this.map.delete(hashKey(v));
  }
  clear(): void {
    this.map.clear();
  }
  items(): PyValue[] {
    return [...this.map.values()];
  }
}

/** Keyword arguments in call order. */
export type Kwargs = Array<[string, PyValue]>;

/** Anything callable: builtins, bound methods, config-defined functions and lambdas. */
export abstract class PyCallable {
  abstract readonly name: string;
  /** 'function' for def/lambda (dropped from a config's result), 'builtin' otherwise. */
  abstract readonly kind: 'function' | 'builtin' | 'type';
  abstract call(args: PyValue[], kwargs: Kwargs, loc: Loc): PyValue;
}

/** A builtin function or bound method implemented in TypeScript. */
export class PyBuiltin extends PyCallable {
  constructor(
    readonly name: string,
    readonly fn: (args: PyValue[], kwargs: Kwargs, loc: Loc) => PyValue,
    readonly kind: 'builtin' | 'type' = 'builtin',
  ) {
    super();
  }
  call(args: PyValue[], kwargs: Kwargs, loc: Loc): PyValue {
    return this.fn(args, kwargs, loc);
  }
}

/** A module object: a standard module we emulate, or one whose attributes are refused when used. */
export class PyModule {
  constructor(
    readonly name: string,
    readonly attrs: ReadonlyMap<string, PyValue> | null,
  ) {}
}

/**
 * MMEngine's LazyObject / LazyAttr: a name imported from a package that is not loaded. In the
 * merged dict it becomes the dotted string MMEngine writes (`mmengine.hooks.EMAHook`).
 */
export class PyLazy {
  private constructor(
    /** LazyObject: the module spec (string, or list for gathered `import a.b`); LazyAttr: null. */
    private readonly moduleSpec: string | readonly string[] | null,
    private readonly imported: string | null,
    private readonly attrName: string | null,
    private readonly attrModule: string | null,
  ) {}

  static object(module: string | readonly string[], imported: string | null = null): PyLazy {
    return new PyLazy(module, imported, null, null);
  }

  /** The `module` property of the MMEngine object. */
  get module(): string {
    if (this.moduleSpec === null) return this.attrModule!;
    return typeof this.moduleSpec === 'string' ? this.moduleSpec : this.moduleSpec[0].split('.')[0];
  }

  /** The `str()` of the MMEngine object. */
  get str(): string {
    if (this.moduleSpec === null) return this.attrName!;
    return this.imported ?? this.module;
  }

  /** `lazy.name`: a LazyAttr whose module is derived as MMEngine derives it. */
  attr(name: string): PyLazy {
    let module: string;
    if (this.moduleSpec === null) module = `${this.attrModule}.${this.attrName}`;
    else if (typeof this.moduleSpec === 'string') module = this.imported === null ? this.moduleSpec : `${this.moduleSpec}.${this.str}`;
    else module = this.str;
    return new PyLazy(null, null, name, module);
  }

  /** What `to_dict()` writes for it. */
  toString(): string {
    return `${this.module}.${this.str}`;
  }
}

/**
 * range, zip, map, enumerate, dict views, generators: iterables that are not data. `reusable`
 * ones (range, dict views) iterate again; the others are exhausted after one pass, as in Python.
 */
export class PyIterable {
  private consumed = false;
  constructor(
    readonly typeName: string,
    private readonly produce: () => PyValue[],
    readonly reusable: boolean,
    /** len() and indexing, where Python allows them (range, dict views). */
    readonly length: (() => number) | null = null,
  ) {}
  items(): PyValue[] {
    if (this.consumed) return [];
    if (!this.reusable) this.consumed = true;
    return this.produce();
  }
}

/** Python's type name of a value, for messages (`'int'`, `'dict'`, `'ConfigDict'`, ...). */
export function typeName(v: PyValue | undefined): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'NoneType';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'str';
  }
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return v.configDict ? 'ConfigDict' : 'dict';
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyCallable) return v.kind === 'function' ? 'function' : v.kind === 'type' ? 'type' : 'builtin_function_or_method';
  if (v instanceof PyModule) return 'module';
  if (v instanceof PyLazy) return 'LazyObject';
  return v.typeName;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function identity(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

/** Thrown by hashKey for a mutable key; the evaluator reports it as Python's TypeError. */
export class UnhashableError extends Error {
  constructor(readonly valueType: string) {
    super(`unhashable type: '${valueType}'`);
  }
}

/**
 * The dict/set key of a value, equal exactly when Python's hash+eq are: 1, 1.0 and True are
 * one key; lists, dicts and sets cannot be keys.
 */
export function hashKey(v: PyValue): string {
  if (v === null) return 'N';
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'boolean':
      return v ? 'i1' : 'i0';
    case 'bigint':
      return `i${v}`;
    case 'number':
      return Number.isInteger(v) ? `i${BigInt(v)}` : `f${v}`;
  }
  if (v instanceof PyTuple) return `t(${v.items.map(hashKey).join(',')})`;
  if (v instanceof PySet && v.frozen) return `z{${v.items().map(hashKey).sort().join(',')}}`;
  if (Array.isArray(v) || v instanceof PyDict || v instanceof PySet) throw new UnhashableError(typeName(v));
  return `o${identity(v)}`;
}

/** True when a value is data (what a config's result may hold), not a callable/module/iterator. */
export function isData(v: PyValue): boolean {
  return !(v instanceof PyCallable || v instanceof PyModule || v instanceof PyIterable);
}
