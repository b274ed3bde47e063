// Loads a config file with its bases into one merged dict, as MMEngine's Config._file2dict
// (classic `_base_` configs) and _parse_lazy_import (`with read_base():` configs) do; cycles are errors.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ConfigError } from './errors';
import { parseJson } from './formats/json';
import { evaluateBaseList, findBaseAssign, isConfigValue, isLazyConfig, runPythonConfig, topLevelLocations } from './formats/python';
import { evaluateScript } from './formats/script';
import { parseYaml } from './formats/yaml';
import { mergeInto } from './merge';
import type { Loc, Module, Stmt } from './python/ast';
import { repr } from './python/format';
import { StandardModules } from './python/modules';
import { parseModule } from './python/parser';
import { PyDict, PyTuple, type PyValue } from './python/values';
import { preSubstituteBaseRefs, resolveBaseRefs, substituteEnv, substitutePredefined } from './substitute';

export const CONFIG_EXTENSIONS = ['.py', '.json', '.yaml', '.yml', '.js', '.cjs', '.mjs', '.ts', '.cts', '.mts'];

export interface LoaderOptions {
  /** Environment for `{{$NAME:default}}` (process.env by default). */
  env: Record<string, string | undefined>;
}

export interface LoadedConfig {
  /** The merged settings (imported names already left out, as MMEngine's to_dict() does). */
  cfg: PyDict;
  /** Whether the entry is a new-style (`with read_base():`) config. */
  lazy: boolean;
}

function expandUser(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** MMEngine's `_dict_to_config_dict`: fresh ConfigDicts all the way down (lists and tuples copied). */
export function asConfigTree(v: PyValue): PyValue {
  if (v instanceof PyDict) return new PyDict(v.entries().map(([k, x]) => [k, asConfigTree(x)]), true);
  if (Array.isArray(v)) return v.map(asConfigTree);
  if (v instanceof PyTuple) return new PyTuple(v.items.map(asConfigTree));
  return v;
}

export class ConfigLoader {
  private readonly stack: string[] = [];
  readonly envUsed: Record<string, string> = {};
  private readonly std: StandardModules;

  constructor(private readonly opts: LoaderOptions) {
    this.std = new StandardModules({ loadConfigFile: (p) => this.loadFromCode(p) });
  }

  /** A path for messages: relative to the working directory when inside it. */
  private display(abs: string): string {
    const rel = path.relative(process.cwd(), abs);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
  }

  private read(abs: string, display: string): string {
    try {
      return fs.readFileSync(abs, 'utf8');
    } catch (e) {
      throw new ConfigError(display, null, `cannot read config file: ${(e as Error).message}`);
    }
  }

  private within<T>(abs: string, from: string, loc: Loc | null, fn: () => T): T {
    if (this.stack.includes(abs)) {
      const chain = [...this.stack.slice(this.stack.indexOf(abs)), abs].map((p) => this.display(p)).join(' -> ');
      throw new ConfigError(from, loc, `circular _base_ inheritance: ${chain}`);
    }
    this.stack.push(abs);
    try {
      return fn();
    } finally {
      this.stack.pop();
    }
  }

  /** Loads the entry file (`text` replaces reading it, for configs given as a string). */
  load(file: string, text?: string): LoadedConfig {
    const abs = path.resolve(expandUser(file));
    if (text === undefined && !isFile(abs)) throw new ConfigError(file, null, 'config file not found');
    const display = text === undefined ? this.display(abs) : file;
    const ext = path.extname(abs);
    if (!CONFIG_EXTENSIONS.includes(ext)) {
      throw new ConfigError(display, null, `unsupported config format '${ext}' (Anvil reads ${CONFIG_EXTENSIONS.join(', ')})`);
    }
    const raw = text ?? this.read(abs, display);
    return this.within(abs, display, null, () => {
      if (ext === '.py') {
        const module = parseModule(raw, display);
        if (isLazyConfig(module, display)) return { cfg: this.lazyEntry(abs, display, file, module), lazy: true };
        return { cfg: this.classic(abs, display, raw, module), lazy: false };
      }
      return { cfg: this.classic(abs, display, raw, null), lazy: false };
    });
  }

  /** `Config.fromfile(path)` called inside a config: a path relative to the working directory. */
  private loadFromCode(p: string): PyDict {
    const abs = path.resolve(expandUser(p));
    if (!isFile(abs)) throw new ConfigError(null, null, `FileNotFoundError: Config.fromfile('${p}'): file not found (${abs})`);
    const loaded = this.load(abs);
    return asConfigTree(loaded.cfg) as PyDict;
  }

  // ---- classic configs -----------------------------------------------------------------

  /** A base reached through `_base_`: it must be a classic config too. */
  private classicFile(abs: string): PyDict {
    const display = this.display(abs);
    const raw = this.read(abs, display);
    let module: Module | null = null;
    if (path.extname(abs) === '.py') {
      module = parseModule(raw, display);
      if (isLazyConfig(module, display)) {
        throw new ConfigError(
          display,
          null,
          'The configuration file type in the inheritance chain must match the current configuration file type, either "lazy_import" or non-"lazy_import". ' +
            'This base uses `with read_base():` or imports a non-builtin module, but it is reached through `_base_`.',
        );
      }
    }
    return this.classic(abs, display, raw, module);
  }

  private classic(abs: string, display: string, raw: string, rawModule: Module | null): PyDict {
    const ext = path.extname(abs);
    let text = substitutePredefined(raw, abs);
    const env = substituteEnv(text, display, this.opts.env);
    Object.assign(this.envUsed, env.used);
    const pre = preSubstituteBaseRefs(env.text);
    text = pre.text;

    let module: Module | null = null;
    let data: PyDict | null = null;
    let baseList: PyValue = [];
    let baseLoc: Loc | null = null;
    let locations = new Map<string, Loc>();
    if (ext === '.py') {
      module = rawModule && text === raw ? rawModule : parseModule(text, display);
      const assign = findBaseAssign(module);
      if (assign) {
        baseList = evaluateBaseList(assign, display);
        baseLoc = assign.loc;
      }
      locations = topLevelLocations(module);
    } else {
      const parsed = ext === '.json' ? parseJson(text, display) : ext === '.yaml' || ext === '.yml' ? parseYaml(text, display) : evaluateScript(text, abs);
      if (!(parsed instanceof PyDict)) throw new ConfigError(display, null, 'a config must be a dict of settings at the top level');
      data = parsed;
      baseList = data.get('_base_') ?? [];
    }

    const baseCfg = this.loadBases(abs, display, baseList, baseLoc);

    let cfg: PyDict;
    if (module) {
      const globals = new Map<string, PyValue>([['_base_', baseCfg]]);
      const result = runPythonConfig(module, { file: display, globals, std: this.std, lazy: false });
      cfg = new PyDict();
      for (const [name, v] of result.vars) {
        if (name === '_base_' || name.startsWith('__') || !isConfigValue(v) || result.importedNames.has(name)) continue;
        cfg.set(name, v);
      }
    } else {
      cfg = data!;
    }
    cfg.delete('_deprecation_');
    cfg = resolveBaseRefs(cfg, pre.refs, baseCfg, display);
    cfg.delete('_base_');
    const merged = mergeInto(cfg, baseCfg, { source: display, allowListKeys: false, locate: (k) => locations.get(k) ?? null }) as PyDict;
    for (const k of merged.keys()) if (typeof k === 'string' && k.startsWith('__')) merged.delete(k);
    return merged;
  }

  private loadBases(abs: string, display: string, list: PyValue, loc: Loc | null): PyDict {
    const paths = typeof list === 'string' ? [list] : Array.isArray(list) ? list : null;
    if (!paths || paths.some((p) => typeof p !== 'string')) {
      throw new ConfigError(display, loc, `_base_ must be a path or a list of paths, got ${repr(list)}`);
    }
    const baseCfg = new PyDict([], true);
    const owner = new Map<string, string>();
    for (const p of paths as string[]) {
      if (p.includes('::')) {
        throw new ConfigError(display, loc, `base config '${p}' comes from an installed package (package::path); Anvil reads base configs from files only`);
      }
      const baseAbs = path.resolve(path.dirname(abs), expandUser(p));
      if (!isFile(baseAbs)) throw new ConfigError(display, loc, `base config '${p}' not found (looked for ${baseAbs})`);
      const sub = this.within(baseAbs, display, loc, () => this.classicFile(baseAbs));
      const dup = sub.keys().filter((k) => baseCfg.has(k));
      if (dup.length) {
        const names = dup.map((k) => `${repr(k)} (${owner.get(String(k))} and ${p})`).join(', ');
        throw new ConfigError(display, loc, `Duplicate key is not allowed among bases. Duplicate keys: ${names}`);
      }
      for (const [k, v] of sub.entries()) {
        baseCfg.set(k, asConfigTree(v));
        owner.set(String(k), p);
      }
    }
    return baseCfg;
  }

  // ---- new-style configs ---------------------------------------------------------------

  private lazyEntry(abs: string, display: string, asGiven: string, module: Module): PyDict {
    const { vars, importedNames } = this.lazyModule(abs, display, asGiven, module);
    const cfg = new PyDict();
    for (const [name, v] of vars) {
      if (name.startsWith('__') || importedNames.has(name) || !isConfigValue(v)) continue;
      cfg.set(name, v);
    }
    return cfg;
  }

  private lazyModule(abs: string, display: string, fileVar: string, module: Module): { vars: Map<string, PyValue>; importedNames: Set<string> } {
    const baseImports = new Map<Stmt, Map<string, PyValue>>();
    const bases = new Map<string, { vars: Map<string, PyValue>; importedNames: Set<string> }>();
    const importedNames = new Set<string>();
    const body: Stmt[] = [];
    for (const s of module.body) {
      if (s.kind === 'Assign' && s.targets[0].kind === 'Name' && s.targets[0].id === '_base_') {
        throw new ConfigError(
          display,
          s.loc,
          'The configuration file type in the inheritance chain must match the current configuration file type, either "lazy_import" or non-"lazy_import". ' +
            'You got this error since you use the syntax like `_base_ = ...` in a config that is imported with `with read_base():`.',
        );
      }
      if (s.kind !== 'With') {
        body.push(s);
        continue;
      }
      const e = s.items[0].expr;
      if (s.items.length > 1 || e.kind !== 'Call' || e.func.kind !== 'Name' || e.func.id !== 'read_base') {
        throw new ConfigError(display, s.loc, 'Only `read_base` context manager can be used in the config');
      }
      for (const inner of s.body) {
        if (inner.kind !== 'ImportFrom') throw new ConfigError(display, inner.loc, 'Illegal syntax in config! Only `from ... import ...` could be implemented in `with read_base()`');
        if (inner.module === null) throw new ConfigError(display, inner.loc, 'Illegal syntax in config! Syntax like `from . import xxx` is not allowed in `with read_base()`');
        // one module imported twice gives the same objects to both imports, as Python's imports do
        const key = `${'.'.repeat(inner.level)}${inner.module}`;
        let base = bases.get(key);
        if (!base) bases.set(key, (base = this.lazyBase(abs, display, inner)));
        for (const n of base.importedNames) importedNames.add(n);
        baseImports.set(inner, base.vars);
        body.push(inner);
      }
    }
    const globals = new Map<string, PyValue>([['__file__', fileVar]]);
    const result = runPythonConfig({ body }, { file: display, globals, std: this.std, lazy: true, baseImports });
    for (const n of result.importedNames) importedNames.add(n);
    return { vars: result.vars, importedNames };
  }

  private lazyBase(abs: string, display: string, stmt: Extract<Stmt, { kind: 'ImportFrom' }>): { vars: Map<string, PyValue>; importedNames: Set<string> } {
    const name = `${'.'.repeat(stmt.level)}${stmt.module}`;
    let file: string;
    if (stmt.level > 0) {
      file = path.join(path.dirname(abs), ...Array(stmt.level - 1).fill('..'), `${stmt.module!.replace(/\./g, '/')}.py`);
    } else if (!stmt.module!.includes('.')) {
      throw new ConfigError(display, stmt.loc, `The imported configuration file should not be an independent package ${stmt.module}. Here is an example: \`with read_base(): from mmdet.configs.retinanet_r50_fpn_1x_coco import *\``);
    } else {
      throw new ConfigError(display, stmt.loc, `base config module '${name}' belongs to an installed Python package; Anvil reads base configs by relative import (from .x import *) only`);
    }
    if (!isFile(file)) {
      throw new ConfigError(display, stmt.loc, `${file} not found! It means that incorrect module is defined in \`with read_base(): = from ${name} import ...\`, please make sure the base config module is valid and is consistent with the prior import logic`);
    }
    return this.within(file, display, stmt.loc, () => {
      const baseDisplay = this.display(file);
      const module = parseModule(this.read(file, baseDisplay), baseDisplay);
      const { vars, importedNames } = this.lazyModule(file, baseDisplay, path.join(path.dirname(display), path.relative(path.dirname(abs), file)), module);
      const out = new Map<string, PyValue>();
      for (const [k, v] of vars) if (!k.startsWith('__')) out.set(k, asConfigTree(v));
      return { vars: out, importedNames };
    });
  }
}
