// Python configs: MMEngine's two styles. Classic (`_base_ = ...`, imports run for real) and
// new-style "lazy" configs (`with read_base():` imports, other imports become LazyObjects).

import type { Loc, Module, Stmt } from '../python/ast';
import { ConfigError, inFile, PyError, pyError } from '../errors';
import { Interpreter } from '../python/evaluator';
import { builtins } from '../python/builtins';
import { isBuiltinModule, StandardModules } from '../python/modules';
import { PyBuiltin, PyCallable, PyLazy, PyModule, type PyValue } from '../python/values';

type ImportStmt = Extract<Stmt, { kind: 'Import' | 'ImportFrom' }>;
type WithStmt = Extract<Stmt, { kind: 'With' }>;

/** Top-level statements first, then nested ones: the order of MMEngine's `ast.walk` checks. */
function* statementsBreadthFirst(body: Stmt[]): Generator<Stmt> {
  const queue = [...body];
  while (queue.length) {
    const s = queue.shift()!;
    yield s;
    switch (s.kind) {
      case 'If':
      case 'For':
      case 'While':
        queue.push(...s.body, ...s.orelse);
        break;
      case 'With':
      case 'FunctionDef':
        queue.push(...s.body);
        break;
    }
  }
}

function isBaseAssign(s: Stmt): boolean {
  return s.kind === 'Assign' && s.targets[0].kind === 'Name' && s.targets[0].id === '_base_';
}

function isReadBase(s: WithStmt): boolean {
  const e = s.items[0].expr;
  return e.kind === 'Call' && e.func.kind === 'Name' && e.func.id === 'read_base';
}

/**
 * MMEngine's `_is_lazy_import`: a `_base_` assignment means classic; a `with` block, a relative
 * import or an import of a non-standard module (before any `_base_`) means new-style.
 */
export function isLazyConfig(module: Module, file: string): boolean {
  for (const s of statementsBreadthFirst(module.body)) {
    if (isBaseAssign(s)) return false;
    if (s.kind === 'With') {
      if (!isReadBase(s)) throw new ConfigError(file, s.loc, 'Only `read_base` context manager can be used in the config');
      return true;
    }
    if (s.kind === 'ImportFrom') {
      if (s.level !== 0) return true;
      if (s.module === 'mmengine' && s.names.length === 1 && s.names[0].name === 'Config') continue;
      if (s.module !== null && !isBuiltinModule(s.module)) return true;
    }
    if (s.kind === 'Import' && s.names.some((n) => !isBuiltinModule(n.name))) return true;
  }
  return false;
}

/** The first top-level `_base_ = ...` statement of a classic config. */
export function findBaseAssign(module: Module): Extract<Stmt, { kind: 'Assign' }> | null {
  return (module.body.find(isBaseAssign) as Extract<Stmt, { kind: 'Assign' }> | undefined) ?? null;
}

/** Where each top-level name was last assigned, for messages about that key. */
export function topLevelLocations(module: Module): Map<string, Loc> {
  const out = new Map<string, Loc>();
  for (const s of module.body) {
    if (s.kind === 'Assign') for (const t of s.targets) if (t.kind === 'Name') out.set(t.id, t.loc);
    if ((s.kind === 'AnnAssign' || s.kind === 'AugAssign') && s.target.kind === 'Name') out.set(s.target.id, s.target.loc);
  }
  return out;
}

/** Evaluates `_base_ = <expr>` on its own, as MMEngine does before running the file. */
export function evaluateBaseList(stmt: Extract<Stmt, { kind: 'Assign' }>, file: string): PyValue {
  const interp = new Interpreter({ globals: new Map(), builtins: builtins(), onImport: () => [] });
  try {
    return interp.evaluate(stmt.value);
  } catch (e) {
    if (e instanceof PyError) {
      if (!e.loc) e.loc = stmt.loc;
      throw inFile(e, file);
    }
    throw e;
  }
}

/** A name imported from a standard module we do not emulate: fine to import, refused when used. */
function unavailable(qualified: string): PyBuiltin {
  return new PyBuiltin(qualified, () => pyError('ImportError', `'${qualified}' is not available while loading a config`));
}

function fromModule(mod: PyModule, name: string, loc: Loc): PyValue {
  if (mod.attrs === null) return unavailable(`${mod.name}.${name}`);
  const v = mod.attrs.get(name);
  if (v !== undefined) return v;
  return pyError('ImportError', `cannot import name '${name}' from '${mod.name}'`, loc);
}

export interface PythonResult {
  /** The module's globals after it ran (including `_base_`, dunders, imports). */
  vars: Map<string, PyValue>;
  /** Names bound by imports (MMEngine leaves them out of the config). */
  importedNames: Set<string>;
}

export interface RunOptions {
  file: string;
  globals: Map<string, PyValue>;
  std: StandardModules;
  lazy: boolean;
  /** New-style configs: the statements inside `with read_base():` and the base modules' variables. */
  baseImports?: Map<Stmt, Map<string, PyValue>>;
}

/** Runs a config module; import statements bind as MMEngine's two styles bind them. */
export function runPythonConfig(module: Module, opts: RunOptions): PythonResult {
  const { file, std, lazy } = opts;
  const lazyImported = new Set<string>();
  const baseImports = opts.baseImports ?? new Map();

  // new-style: `import a.b` of a package binds `a` to one LazyObject of all such imports, up front
  const gathered = new Map<string, string[]>();
  if (lazy) {
    for (const s of module.body) {
      if (s.kind !== 'Import') continue;
      if (s.names.length > 1) throw new ConfigError(file, s.loc, 'Illegal syntax in config! import multiple modules in one line is not supported');
      for (const n of s.names) {
        if (n.asname === null && !isBuiltinModule(n.name)) {
          const top = n.name.split('.')[0];
          gathered.set(top, [...(gathered.get(top) ?? []), n.name]);
        }
      }
    }
    for (const [top, names] of gathered) {
      opts.globals.set(top, PyLazy.object(names));
      lazyImported.add(top);
    }
  }

  const onImport = (stmt: ImportStmt): Array<[string, PyValue]> => {
    const out: Array<[string, PyValue]> = [];
    const bind = (name: string, v: PyValue, imported = true) => {
      out.push([name, v]);
      if (imported) lazyImported.add(name);
    };
    if (stmt.kind === 'ImportFrom') {
      const base = baseImports.get(stmt);
      if (base) {
        for (const n of stmt.names) {
          if (n.name === '*') for (const [k, v] of base) bind(k, v, false);
          else if (!base.has(n.name)) pyError('ImportError', `cannot import name '${n.name}' from base config '${'.'.repeat(stmt.level)}${stmt.module}'`, n.loc);
          else bind(n.asname ?? n.name, base.get(n.name)!, false);
        }
        return out;
      }
      const name = '.'.repeat(stmt.level) + (stmt.module ?? '');
      const mod = stmt.level === 0 && stmt.module !== null ? std.get(stmt.module) : null;
      const real = mod && (isBuiltinModule(name) || !lazy);
      for (const n of stmt.names) {
        if (n.name === '*') {
          if (lazy) {
            throw new ConfigError(file, n.loc, real ? 'Cannot import * from non-base config' : 'Illegal syntax in config! `from xxx import *` is not allowed to appear outside the `if base:` statement');
          }
          if (!real || mod!.attrs === null) throw new ConfigError(file, n.loc, `cannot import * from '${name}': the module is not loaded while reading a config`);
          for (const [k, v] of mod!.attrs) if (!k.startsWith('_')) bind(k, v);
          continue;
        }
        bind(n.asname ?? n.name, real ? fromModule(mod!, n.name, n.loc) : PyLazy.object(name, n.name));
      }
      return out;
    }
    for (const n of stmt.names) {
      const builtin = isBuiltinModule(n.name);
      if (lazy && !builtin && n.asname === null) continue; // bound up front (gathered)
      const mod = std.get(n.name);
      if (n.asname !== null) {
        bind(n.asname, mod ?? PyLazy.object(n.name));
      } else {
        const top = n.name.split('.')[0];
        bind(top, std.get(top) ?? PyLazy.object([n.name]));
      }
    }
    return out;
  };

  const interp = new Interpreter({ globals: opts.globals, builtins: builtins(), onImport, skipBaseAssign: !lazy });
  try {
    interp.run(module);
  } catch (e) {
    if (e instanceof PyError || e instanceof ConfigError) throw inFile(e, file);
    throw e;
  }
  const importedNames = lazy ? lazyImported : new Set(interp.importBound);
  return { vars: opts.globals, importedNames };
}

/** The values a config's result keeps: data, not functions or modules (MMEngine drops those). */
export function isConfigValue(v: PyValue): boolean {
  return !(v instanceof PyCallable || v instanceof PyModule);
}
