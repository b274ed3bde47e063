// The Config object (MMEngine's Config): load a file with its bases and overrides, read keys,
// convert with toDict(), merge options, and dump as .py / .json / .yaml.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError } from '../errors';
import { mergeOptions, parseCfgOptions } from './cfg-options';
import { fromPlain, toPlain } from './convert';
import { ConfigError } from './errors';
import { dumpJson } from './formats/dump-json';
import { dumpPython } from './formats/dump-python';
import { dumpYaml } from './formats/dump-yaml';
import { ConfigLoader } from './loader';
import { deepCopy } from './python/runtime';
import { PyDict, PyTuple, type PyValue } from './python/values';

/** Top-level names MMEngine's Config keeps for itself. */
const RESERVED_KEYS = ['filename', 'text', 'pretty_text', 'env_variables'];

export type CfgOptions = Readonly<Record<string, unknown>> | readonly string[];

export interface ConfigLoadOptions {
  /** Overrides as `--cfg-options` gives them: `['a.b=1', ...]`, or `{ 'a.b': 1 }` (values as data). */
  cfgOptions?: CfgOptions;
  /** Environment for `{{$NAME:default}}`; process.env by default. */
  env?: Record<string, string | undefined>;
}

export type DumpFormat = 'py' | 'json' | 'yaml';

/** Runs a load step; a JS stack overflow (a self-referencing or absurdly nested value) becomes a ConfigError. */
function guarded<T>(file: string | null, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new ConfigError(file, null, 'the config is nested too deeply or contains itself');
    }
    throw e;
  }
}

function optionsDict(options: CfgOptions): PyDict {
  if (Array.isArray(options)) return parseCfgOptions(options as readonly string[]);
  return new PyDict(Object.entries(options).map(([k, v]) => [k, fromPlain(v, k)]));
}

export class Config {
  private root: PyDict;

  private constructor(
    root: PyDict,
    /** The file it was loaded from (absolute), or null. */
    readonly filename: string | null,
    /** Environment variables the config used through `{{$NAME:default}}`. */
    readonly envVariables: Readonly<Record<string, string>> = {},
    /** The file as the user named it, for messages. */
    shownAs: string | null = filename,
  ) {
    for (const k of root.keys()) {
      if (typeof k === 'string' && RESERVED_KEYS.includes(k)) throw new ConfigError(shownAs, null, `${k} is reserved for config file`);
    }
    this.root = root;
  }

  /** Loads a config file (.py, .json, .yaml/.yml, .js/.cjs/.mjs/.ts) with its `_base_` chain, then applies cfgOptions. */
  static fromFile(file: string, options: ConfigLoadOptions = {}): Config {
    return guarded(file, () => {
      const loader = new ConfigLoader({ env: options.env ?? process.env });
      const { cfg } = loader.load(file);
      const config = new Config(cfg, path.resolve(file), { ...loader.envUsed }, file);
      if (options.cfgOptions) config.mergeFromDict(options.cfgOptions);
      return config;
    });
  }

  /**
   * A config from source text; `format` is the extension it would have ('py', 'json', ...). Bases
   * resolve against `filename` (a virtual path, `<string>` in the working directory by default).
   */
  static fromString(text: string, format: string, options: ConfigLoadOptions & { filename?: string } = {}): Config {
    const ext = format.startsWith('.') ? format : `.${format}`;
    const file = options.filename ?? `<string>${ext}`;
    return guarded(file, () => {
      const loader = new ConfigLoader({ env: options.env ?? process.env });
      const { cfg } = loader.load(file, text);
      const config = new Config(cfg, null, { ...loader.envUsed }, file);
      if (options.cfgOptions) config.mergeFromDict(options.cfgOptions);
      return config;
    });
  }

  /** A config from plain data (integral numbers become ints). */
  static fromDict(data: Readonly<Record<string, unknown>>, filename: string | null = null): Config {
    const root = fromPlain(data);
    if (!(root instanceof PyDict)) throw new AnvilError('Config.fromDict: expected an object of settings');
    return new Config(root, filename);
  }

  /** A config from config values (ints as bigint, PyTuple, ...), as `values()` returns them. */
  static fromValues(values: PyDict, filename: string | null = null): Config {
    return new Config(deepCopy(values) as PyDict, filename);
  }

  /** MMEngine's merge_from_dict: `{ 'model.backbone.depth': 101, 'pipeline.0.type': 'X', 'optimizer._delete_': true }`. */
  mergeFromDict(options: CfgOptions): this {
    this.root = guarded(this.filename, () => mergeOptions(this.root, optionsDict(options)));
    return this;
  }

  /** The top-level keys, in order. */
  keys(): string[] {
    return this.root.keys().map(String);
  }

  /** A value by dotted path (`'model.backbone.depth'`, list items by index: `'pipeline.1.type'`), as plain data. */
  get<T = unknown>(key: string): T | undefined {
    const v = this.lookup(key);
    return v === undefined ? undefined : (toPlain(v, key) as T);
  }

  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  private lookup(key: string): PyValue | undefined {
    let v: PyValue | undefined = this.root;
    for (const part of key.split('.')) {
      if (v instanceof PyDict) v = v.get(part);
      else if (Array.isArray(v) || v instanceof PyTuple) v = /^\d+$/.test(part) ? (Array.isArray(v) ? v : v.items)[Number(part)] : undefined;
      else return undefined;
      if (v === undefined) return undefined;
    }
    return v;
  }

  /** MMEngine's `to_dict()`: plain objects and arrays (tuples as arrays), ints and floats as numbers. */
  toDict<T = Record<string, unknown>>(): T {
    return guarded(this.filename, () => toPlain(this.root) as T);
  }

  toJSON(): Record<string, unknown> {
    return this.toDict();
  }

  /** The merged values themselves (ints as bigint, tuples as PyTuple), for code that needs Python's types. */
  values(): PyDict {
    return deepCopy(this.root) as PyDict;
  }

  /** The config as a Python config file that loads back to the same `toDict()`. */
  get prettyText(): string {
    return guarded(this.filename, () => dumpPython(this.root));
  }

  /** The config as text in `format`: Python (default), JSON as Python's json writes it, or YAML. */
  format(format: DumpFormat = 'py', options: { indent?: number | null } = {}): string {
    return guarded(this.filename, () => {
      switch (format) {
        case 'py':
          return dumpPython(this.root);
        case 'json':
          return `${dumpJson(this.root, options.indent === undefined ? 4 : options.indent)}\n`;
        case 'yaml':
          return dumpYaml(this.root);
        default:
          throw new AnvilError(`unknown config format '${String(format)}' (py, json or yaml)`);
      }
    });
  }

  /**
   * Writes the config to `file` in the format its extension names (.py, .json, .yaml/.yml) and
   * returns the text; without a file, returns the text in this config's own format (Python by default).
   */
  dump(file?: string): string {
    const ext = path.extname(file ?? this.filename ?? '.py');
    const format: DumpFormat = ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : 'py';
    if (file !== undefined && !['.py', '.json', '.yaml', '.yml'].includes(ext)) {
      throw new AnvilError(`${file}: configs are dumped as .py, .json, .yaml or .yml`);
    }
    const text = this.format(format);
    if (file !== undefined) fs.writeFileSync(file, text);
    return text;
  }
}
