// Runs a parsed config module: Python's scoping (module, function, comprehension), statements,
// expressions and calls, bounded in steps and depth so no input can hang or overflow the stack.

import { asPyError, pyError } from '../errors';
import type { BinaryOp, CompareOp, Comprehension, Expr, FormattedValue, Loc, Module, Param, Stmt } from './ast';
import { delAttribute, getAttribute, setAttribute } from './attributes';
import { formatValue, repr, str } from './format';
import { binaryOp, contains, pyEquals, pyIs, pyLess, truthy, unaryOp } from './operators';
import { charge, checkLength, withBudget } from './budget';
import { callValue, delItem, getItem, iterate, PySlice, setItem } from './runtime';
import { PyCallable, PyDict, PyIterable, PySet, PyTuple, typeName, type Kwargs, type PyValue } from './values';

const MAX_CALL_DEPTH = 150;

type ImportStmt = Extract<Stmt, { kind: 'Import' | 'ImportFrom' }>;

export interface InterpreterOptions {
  globals: Map<string, PyValue>;
  builtins: Map<string, PyValue>;
  /** Runs an import statement and returns the names it binds, in order. */
  onImport(stmt: ImportStmt): Array<[string, PyValue]>;
  /** MMEngine drops `_base_ = ...` assignments before running a config. */
  skipBaseAssign?: boolean;
}

class Scope {
  readonly vars: Map<string, PyValue>;
  readonly globalNames = new Set<string>();
  readonly nonlocalNames = new Set<string>();
  constructor(
    readonly parent: Scope | null,
    readonly kind: 'module' | 'function' | 'comprehension',
    vars?: Map<string, PyValue>,
  ) {
    this.vars = vars ?? new Map();
  }
}

type Signal = undefined | 'break' | 'continue' | { value: PyValue };

/** A `def` or `lambda` defined in a config. */
class PyFunction extends PyCallable {
  readonly kind = 'function';
  constructor(
    readonly name: string,
    readonly params: Param[],
    readonly defaults: Map<string, PyValue>,
    readonly body: Stmt[] | Expr,
    readonly closure: Scope,
    private readonly interp: Interpreter,
  ) {
    super();
  }
  call(args: PyValue[], kwargs: Kwargs, loc: Loc): PyValue {
    return this.interp.callFunction(this, args, kwargs, loc);
  }
}

/** Attaches `loc` to a Python error raised by `fn` that has no location yet. */
function at<T>(loc: Loc, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asPyError(e, loc);
  }
}

export class Interpreter {
  private callDepth = 0;
  private readonly module: Scope;
  /** Module-level names whose value came from an import statement (and was not reassigned). */
  readonly importBound = new Set<string>();

  constructor(private readonly opts: InterpreterOptions) {
    this.module = new Scope(null, 'module', opts.globals);
  }

  run(module: Module): void {
    const signal = withBudget(() => this.execBlock(module.body, this.module));
    if (signal !== undefined) pyError('SyntaxError', typeof signal === 'object' ? "'return' outside function" : `'${signal}' outside loop`);
  }

  /** Evaluates one expression in the module scope (for `_base_ = [...]`). */
  evaluate(e: Expr): PyValue {
    return withBudget(() => this.eval(e, this.module));
  }

  private tick(loc: Loc): void {
    at(loc, () => charge(1));
  }

  // ---- names ---------------------------------------------------------------------------

  private lookup(name: string, scope: Scope, loc: Loc): PyValue {
    for (let s: Scope | null = scope; s; s = s.parent) {
      const v = s.vars.get(name);
      if (v !== undefined) return v;
    }
    const b = this.opts.builtins.get(name);
    if (b !== undefined) return b;
    return pyError('NameError', `name '${name}' is not defined`, loc);
  }

  /** The scope a plain assignment to `name` in `scope` writes to. */
  private targetScope(name: string, scope: Scope): Scope {
    let s = scope;
    while (s.kind === 'comprehension' && s.parent) s = s.parent;
    if (s.globalNames.has(name)) return this.module;
    if (s.nonlocalNames.has(name)) {
      for (let p = s.parent; p && p.kind !== 'module'; p = p.parent) if (p.vars.has(name)) return p;
    }
    return s;
  }

  private assignName(name: string, value: PyValue, scope: Scope, fromImport = false): void {
    const s = scope.kind === 'comprehension' ? scope : this.targetScope(name, scope);
    s.vars.set(name, value);
    if (s === this.module) {
      if (fromImport) this.importBound.add(name);
      else this.importBound.delete(name);
    }
  }

  private deleteName(name: string, scope: Scope, loc: Loc): void {
    const s = this.targetScope(name, scope);
    if (!s.vars.delete(name)) pyError('NameError', `name '${name}' is not defined`, loc);
    if (s === this.module) this.importBound.delete(name);
  }

  // ---- statements ----------------------------------------------------------------------

  private execBlock(body: Stmt[], scope: Scope): Signal {
    for (const stmt of body) {
      const signal = this.exec(stmt, scope);
      if (signal !== undefined) return signal;
    }
    return undefined;
  }

  private exec(stmt: Stmt, scope: Scope): Signal {
    this.tick(stmt.loc);
    try {
      return this.execInner(stmt, scope);
    } catch (e) {
      throw asPyError(e, stmt.loc);
    }
  }

  private execInner(stmt: Stmt, scope: Scope): Signal {
    switch (stmt.kind) {
      case 'Expr':
        this.eval(stmt.value, scope);
        return undefined;
      case 'Assign': {
        const first = stmt.targets[0];
        if (this.opts.skipBaseAssign && first.kind === 'Name' && first.id === '_base_') return undefined;
        const value = this.eval(stmt.value, scope);
        for (const t of stmt.targets) this.assign(t, value, scope);
        return undefined;
      }
      case 'AugAssign':
        this.augAssign(stmt.target, stmt.op, stmt.value, scope, stmt.loc);
        return undefined;
      case 'AnnAssign':
        if (stmt.value) this.assign(stmt.target, this.eval(stmt.value, scope), scope);
        return undefined;
      case 'Delete':
        for (const t of stmt.targets) this.delete(t, scope);
        return undefined;
      case 'Pass':
        return undefined;
      case 'Break':
        return 'break';
      case 'Continue':
        return 'continue';
      case 'Return':
        if (scope.kind !== 'function') pyError('SyntaxError', "'return' outside function");
        return { value: stmt.value ? this.eval(stmt.value, scope) : null };
      case 'Import':
      case 'ImportFrom':
        for (const [name, value] of this.opts.onImport(stmt)) this.assignName(name, value, scope, true);
        return undefined;
      case 'FunctionDef': {
        const fn = new PyFunction(stmt.name, stmt.params, this.defaults(stmt.params, scope), stmt.body, scope, this);
        this.assignName(stmt.name, fn, scope);
        return undefined;
      }
      case 'If':
        return this.execBlock(truthy(this.eval(stmt.test, scope)) ? stmt.body : stmt.orelse, scope);
      case 'For': {
        for (const item of iterate(this.eval(stmt.iter, scope))) {
          this.tick(stmt.loc);
          this.assign(stmt.target, item, scope);
          const signal = this.execBlock(stmt.body, scope);
          if (signal === 'break') return undefined;
          if (signal !== undefined && signal !== 'continue') return signal;
        }
        return this.execBlock(stmt.orelse, scope);
      }
      case 'While': {
        while (truthy(this.eval(stmt.test, scope))) {
          this.tick(stmt.loc);
          const signal = this.execBlock(stmt.body, scope);
          if (signal === 'break') return undefined;
          if (signal !== undefined && signal !== 'continue') return signal;
        }
        return this.execBlock(stmt.orelse, scope);
      }
      case 'With':
        return pyError('SyntaxError', 'only `with read_base():` blocks of base-config imports are supported in configs');
      case 'Assert':
        if (!truthy(this.eval(stmt.test, scope))) pyError('AssertionError', stmt.msg ? str(this.eval(stmt.msg, scope)) : '');
        return undefined;
      case 'Raise':
        return this.raise(stmt.exc, scope);
      case 'Global':
      case 'Nonlocal':
        if (scope.kind === 'module' && stmt.kind === 'Nonlocal') pyError('SyntaxError', 'nonlocal declaration not allowed at module level');
        for (const n of stmt.names) (stmt.kind === 'Global' ? scope.globalNames : scope.nonlocalNames).add(n);
        return undefined;
    }
  }

  /** `raise X(msg)` in a config stops loading with that Python error. */
  private raise(exc: Expr | null, scope: Scope): never {
    if (exc === null) pyError('RuntimeError', 'No active exception to reraise');
    if (exc.kind === 'Name') pyError(exc.id, '');
    if (exc.kind === 'Call' && exc.func.kind === 'Name') {
      const args = exc.args.map((a) => this.eval(a, scope));
      pyError(exc.func.id, args.length === 1 ? str(args[0]) : args.length ? repr(new PyTuple(args)) : '');
    }
    pyError('TypeError', 'exceptions must derive from BaseException');
  }

  private defaults(params: Param[], scope: Scope): Map<string, PyValue> {
    const out = new Map<string, PyValue>();
    for (const p of params) if (p.default) out.set(p.name, this.eval(p.default, scope));
    return out;
  }

  private assign(target: Expr, value: PyValue, scope: Scope): void {
    switch (target.kind) {
      case 'Name':
        this.assignName(target.id, value, scope);
        return;
      case 'Attribute': {
        const obj = this.eval(target.value, scope);
        at(target.loc, () => setAttribute(obj, target.attr, value));
        return;
      }
      case 'Subscript': {
        const obj = this.eval(target.value, scope);
        const index = this.index(target.index, scope);
        at(target.loc, () => setItem(obj, index, value));
        return;
      }
      case 'Tuple':
      case 'List':
        this.unpack(target.elts, value, scope, target.loc);
        return;
      default:
        pyError('SyntaxError', `cannot assign to ${target.kind}`, target.loc);
    }
  }

  private unpack(targets: Expr[], value: PyValue, scope: Scope, loc: Loc): void {
    const items = at(loc, () => iterate(value));
    const star = targets.findIndex((t) => t.kind === 'Starred');
    if (star < 0) {
      if (items.length > targets.length) pyError('ValueError', `too many values to unpack (expected ${targets.length})`, loc);
      if (items.length < targets.length) pyError('ValueError', `not enough values to unpack (expected ${targets.length}, got ${items.length})`, loc);
      targets.forEach((t, i) => this.assign(t, items[i], scope));
      return;
    }
    const after = targets.length - star - 1;
    if (items.length < targets.length - 1) pyError('ValueError', `not enough values to unpack (expected at least ${targets.length - 1}, got ${items.length})`, loc);
    targets.slice(0, star).forEach((t, i) => this.assign(t, items[i], scope));
    this.assign((targets[star] as Extract<Expr, { kind: 'Starred' }>).value, items.slice(star, items.length - after), scope);
    targets.slice(star + 1).forEach((t, i) => this.assign(t, items[items.length - after + i], scope));
  }

  private augAssign(target: Expr, op: BinaryOp, valueExpr: Expr, scope: Scope, loc: Loc): void {
    // evaluate the target's container and index once, as Python does
    let get: () => PyValue;
    let set: (v: PyValue) => void;
    if (target.kind === 'Name') {
      get = () => this.lookup(target.id, scope, target.loc);
      set = (v) => this.assignName(target.id, v, scope);
    } else if (target.kind === 'Attribute') {
      const obj = this.eval(target.value, scope);
      get = () => getAttribute(obj, target.attr, target.loc);
      set = (v) => setAttribute(obj, target.attr, v);
    } else if (target.kind === 'Subscript') {
      const obj = this.eval(target.value, scope);
      const index = this.index(target.index, scope);
      get = () => getItem(obj, index);
      set = (v) => setItem(obj, index, v);
    } else {
      return pyError('SyntaxError', 'illegal expression for augmented assignment', loc);
    }
    const current = at(target.loc, get);
    const value = this.eval(valueExpr, scope);
    at(loc, () => set(inPlace(op, current, value)));
  }

  private delete(target: Expr, scope: Scope): void {
    switch (target.kind) {
      case 'Name':
        this.deleteName(target.id, scope, target.loc);
        return;
      case 'Attribute': {
        const obj = this.eval(target.value, scope);
        at(target.loc, () => delAttribute(obj, target.attr));
        return;
      }
      case 'Subscript': {
        const obj = this.eval(target.value, scope);
        const index = this.index(target.index, scope);
        at(target.loc, () => delItem(obj, index));
        return;
      }
      case 'Tuple':
      case 'List':
        target.elts.forEach((t) => this.delete(t, scope));
        return;
      default:
        pyError('SyntaxError', 'cannot delete expression', target.loc);
    }
  }

  // ---- functions -----------------------------------------------------------------------

  callFunction(fn: PyFunction, args: PyValue[], kwargs: Kwargs, loc: Loc): PyValue {
    if (this.callDepth >= MAX_CALL_DEPTH) pyError('RecursionError', 'maximum recursion depth exceeded', loc);
    this.tick(loc);
    const scope = new Scope(fn.closure, 'function');
    this.bindParams(fn, args, kwargs, scope, loc);
    this.callDepth++;
    try {
      if (!Array.isArray(fn.body)) return this.eval(fn.body, scope);
      const signal = this.execBlock(fn.body, scope);
      if (signal === 'break' || signal === 'continue') pyError('SyntaxError', `'${signal}' outside loop`);
      return signal ? signal.value : null;
    } finally {
      this.callDepth--;
    }
  }

  private bindParams(fn: PyFunction, args: PyValue[], kwargs: Kwargs, scope: Scope, loc: Loc): void {
    const positional = fn.params.filter((p) => p.kind === 'normal');
    const varargs = fn.params.find((p) => p.kind === 'varargs');
    const varkw = fn.params.find((p) => p.kind === 'varkw');
    const set = new Map<string, PyValue>();
    const where = `${fn.name}()`;
    args.forEach((a, i) => {
      if (i < positional.length) set.set(positional[i].name, a);
    });
    if (args.length > positional.length) {
      if (!varargs) pyError('TypeError', `${where} takes ${positional.length} positional argument${positional.length === 1 ? '' : 's'} but ${args.length} were given`, loc);
    }
    if (varargs) set.set(varargs.name, new PyTuple(args.slice(positional.length)));
    const extra = new PyDict();
    for (const [k, v] of kwargs) {
      const p = fn.params.find((x) => x.name === k && (x.kind === 'normal' || x.kind === 'kwonly'));
      if (p) {
        if (set.has(k)) pyError('TypeError', `${where} got multiple values for argument '${k}'`, loc);
        set.set(k, v);
      } else if (varkw) {
        if (extra.has(k)) pyError('TypeError', `${where} got multiple values for keyword argument '${k}'`, loc);
        extra.set(k, v);
      } else pyError('TypeError', `${where} got an unexpected keyword argument '${k}'`, loc);
    }
    if (varkw) set.set(varkw.name, extra);
    const missing: Record<'normal' | 'kwonly', string[]> = { normal: [], kwonly: [] };
    for (const p of fn.params) {
      if (set.has(p.name) || p.kind === 'varargs' || p.kind === 'varkw') continue;
      const d = fn.defaults.get(p.name);
      if (d === undefined) missing[p.kind].push(`'${p.name}'`);
      else set.set(p.name, d);
    }
    for (const kind of ['normal', 'kwonly'] as const) {
      const names = missing[kind];
      if (!names.length) continue;
      const list = names.length === 1 ? names[0] : names.length === 2 ? names.join(' and ') : `${names.slice(0, -1).join(', ')}, and ${names.at(-1)}`;
      const what = kind === 'normal' ? 'positional' : 'keyword-only';
      pyError('TypeError', `${where} missing ${names.length} required ${what} argument${names.length === 1 ? '' : 's'}: ${list}`, loc);
    }
    for (const [k, v] of set) scope.vars.set(k, v);
  }

  // ---- expressions ---------------------------------------------------------------------

  private index(e: Expr, scope: Scope): PyValue | PySlice {
    if (e.kind === 'Slice') {
      const b = (x: Expr | null) => (x ? this.eval(x, scope) : null);
      return new PySlice(b(e.lower), b(e.upper), b(e.step));
    }
    if (e.kind === 'Tuple' && e.elts.some((x) => x.kind === 'Slice')) pyError('TypeError', 'multi-dimensional slicing is not supported in configs', e.loc);
    return this.eval(e, scope);
  }

  private elements(elts: Expr[], scope: Scope): PyValue[] {
    const out: PyValue[] = [];
    for (const e of elts) {
      if (e.kind === 'Starred') out.push(...at(e.loc, () => iterate(this.eval(e.value, scope))));
      else out.push(this.eval(e, scope));
    }
    return out;
  }

  eval(e: Expr, scope: Scope): PyValue {
    switch (e.kind) {
      case 'Constant':
        return e.value;
      case 'JoinedStr':
        return this.joined(e.parts, scope);
      case 'Name':
        return this.lookup(e.id, scope, e.loc);
      case 'Attribute': {
        const obj = this.eval(e.value, scope);
        return at(e.loc, () => getAttribute(obj, e.attr, e.loc));
      }
      case 'Subscript': {
        const obj = this.eval(e.value, scope);
        const index = this.index(e.index, scope);
        return at(e.loc, () => getItem(obj, index));
      }
      case 'Slice':
        return pyError('SyntaxError', 'a slice is only allowed inside [...]', e.loc);
      case 'Call':
        return this.call(e, scope);
      case 'BinOp': {
        const l = this.eval(e.left, scope);
        const r = this.eval(e.right, scope);
        return at(e.loc, () => binaryOp(e.op, l, r));
      }
      case 'UnaryOp': {
        const v = this.eval(e.operand, scope);
        return at(e.loc, () => unaryOp(e.op, v));
      }
      case 'BoolOp': {
        let v: PyValue = null;
        for (const x of e.values) {
          v = this.eval(x, scope);
          if (e.op === 'and' ? !truthy(v) : truthy(v)) return v;
        }
        return v;
      }
      case 'Compare': {
        let left = this.eval(e.left, scope);
        for (let i = 0; i < e.ops.length; i++) {
          const right = this.eval(e.comparators[i], scope);
          if (!at(e.loc, () => compare(e.ops[i], left, right))) return false;
          left = right;
        }
        return true;
      }
      case 'IfExp':
        return truthy(this.eval(e.test, scope)) ? this.eval(e.body, scope) : this.eval(e.orelse, scope);
      case 'Lambda':
        return new PyFunction('<lambda>', e.params, this.defaults(e.params, scope), e.body, scope, this);
      case 'List':
        return this.elements(e.elts, scope);
      case 'Tuple':
        return new PyTuple(this.elements(e.elts, scope));
      case 'Set':
        return at(e.loc, () => new PySet(this.elements(e.elts, scope)));
      case 'Dict':
        return this.dict(e.keys, e.values, scope);
      case 'Starred':
        return pyError('SyntaxError', "can't use starred expression here", e.loc);
      case 'ListComp':
        return this.comprehension(e.generators, scope, (s) => this.eval(e.elt, s));
      case 'SetComp':
        return at(e.loc, () => new PySet(this.comprehension(e.generators, scope, (s) => this.eval(e.elt, s))));
      case 'GeneratorExp': {
        const items = this.comprehension(e.generators, scope, (s) => this.eval(e.elt, s));
        return new PyIterable('generator', () => items, false);
      }
      case 'DictComp': {
        const out = new PyDict();
        this.comprehension(e.generators, scope, (s) => {
          const k = this.eval(e.key, s);
          const v = this.eval(e.value, s);
          at(e.loc, () => out.set(k, v));
          return null;
        });
        return out;
      }
      case 'NamedExpr': {
        const v = this.eval(e.value, scope);
        let s = scope;
        while (s.kind === 'comprehension' && s.parent) s = s.parent;
        this.assignName(e.target, v, s);
        return v;
      }
    }
  }

  private joined(parts: Array<string | FormattedValue>, scope: Scope): string {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') {
        out += p;
        continue;
      }
      let v = this.eval(p.expr, scope);
      if (p.conversion === 'r' || p.conversion === 'a') v = repr(v);
      else if (p.conversion === 's') v = str(v);
      const spec = p.spec ? this.eval(p.spec, scope) : '';
      out += at(p.loc, () => formatValue(v, spec as string));
    }
    return out;
  }

  private dict(keys: Array<Expr | null>, values: Expr[], scope: Scope): PyDict {
    const out = new PyDict();
    keys.forEach((k, i) => {
      if (k === null) {
        const m = this.eval(values[i], scope);
        if (!(m instanceof PyDict)) pyError('TypeError', `'${typeName(m)}' object is not a mapping`, values[i].loc);
        for (const [key, v] of m.entries()) out.set(key, v);
      } else {
        const key = this.eval(k, scope);
        const v = this.eval(values[i], scope);
        at(k.loc, () => out.set(key, v));
      }
    });
    return out;
  }

  private comprehension(gens: Comprehension[], scope: Scope, produce: (s: Scope) => PyValue): PyValue[] {
    const out: PyValue[] = [];
    // the first iterable is evaluated in the enclosing scope, the rest inside the comprehension
    const first = this.eval(gens[0].iter, scope);
    const inner = new Scope(scope, 'comprehension');
    const loop = (level: number, iterable: PyValue) => {
      const g = gens[level];
      for (const item of at(g.iter.loc, () => iterate(iterable))) {
        this.tick(g.iter.loc);
        this.assign(g.target, item, inner);
        if (!g.ifs.every((c) => truthy(this.eval(c, inner)))) continue;
        if (level + 1 < gens.length) loop(level + 1, this.eval(gens[level + 1].iter, inner));
        else out.push(produce(inner));
      }
    };
    loop(0, first);
    return out;
  }

  private call(e: Extract<Expr, { kind: 'Call' }>, scope: Scope): PyValue {
    const fn = this.eval(e.func, scope);
    const args = this.elements(e.args, scope);
    const kwargs: Kwargs = [];
    const seen = new Set<string>();
    const add = (k: string, v: PyValue) => {
      if (seen.has(k)) pyError('TypeError', `got multiple values for keyword argument '${k}'`, e.loc);
      seen.add(k);
      kwargs.push([k, v]);
    };
    for (const kw of e.keywords) {
      const v = this.eval(kw.value, scope);
      if (kw.name !== null) add(kw.name, v);
      else {
        if (!(v instanceof PyDict)) pyError('TypeError', `argument after ** must be a mapping, not ${typeName(v)}`, kw.value.loc);
        for (const [k, x] of v.entries()) {
          if (typeof k !== 'string') pyError('TypeError', 'keywords must be strings', kw.value.loc);
          add(k, x);
        }
      }
    }
    return at(e.loc, () => callValue(fn, args, kwargs, e.loc));
  }
}

function compare(op: CompareOp, a: PyValue, b: PyValue): boolean {
  switch (op) {
    case '==':
      return pyEquals(a, b);
    case '!=':
      return !pyEquals(a, b);
    case '<':
      return pyLess(a, b, false, '<');
    case '<=':
      return pyLess(a, b, true, '<=');
    case '>':
      return pyLess(b, a, false, '>');
    case '>=':
      return pyLess(b, a, true, '>=');
    case 'in':
      return contains(b, a);
    case 'not in':
      return !contains(b, a);
    case 'is':
      return pyIs(a, b);
    case 'is not':
      return !pyIs(a, b);
  }
}

/** `x op= y`: lists, dicts and sets update in place (visible through other references), as in Python. */
function inPlace(op: BinaryOp, current: PyValue, value: PyValue): PyValue {
  if (Array.isArray(current)) {
    if (op === '+') {
      const items = iterate(value);
      checkLength(current.length + items.length);
      for (const item of items) current.push(item);
      return current;
    }
    if (op === '*') {
      const repeated = binaryOp('*', current, value) as PyValue[];
      current.splice(0, current.length, ...repeated);
      return current;
    }
  }
  if (current instanceof PyDict && op === '|' && value instanceof PyDict) {
    for (const [k, v] of value.entries()) current.set(k, v);
    return current;
  }
  if (current instanceof PySet && !current.frozen && value instanceof PySet && '|&-^'.includes(op)) {
    const result = binaryOp(op, current, value) as PySet;
    current.clear();
    for (const v of result.items()) current.add(v);
    return current;
  }
  return binaryOp(op, current, value);
}
