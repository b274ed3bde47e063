// MMEngine's text substitutions before a config is parsed: predefined variables
// ({{fileDirname}} ...), environment variables ({{$NAME:default}}) and {{_base_.a.b}} placeholders.

import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

import { ConfigError } from './errors';
import type { Loc } from './python/ast';
import { SourceMap } from './python/lexer';
import { getItem } from './python/runtime';
import { PyDict, PySet, PyTuple, type PyValue } from './python/values';

/** `{{ fileDirname }}` and friends, from the config's absolute path (backslashes as '/'). */
export function substitutePredefined(text: string, absFile: string): string {
  const base = path.basename(absFile);
  const ext = path.extname(absFile);
  const vars: Record<string, string> = {
    fileDirname: path.dirname(absFile),
    fileBasename: base,
    fileBasenameNoExtension: ext ? base.slice(0, -ext.length) : base,
    fileExtname: ext,
  };
  return text.replace(/\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}/g, (_m, key: string) => vars[key].replace(/\\/g, '/'));
}

/** `{{$NAME:default}}` (optionally quoted inside the braces); a missing variable without default is an error. */
export function substituteEnv(text: string, file: string, env: Record<string, string | undefined>): { text: string; used: Record<string, string> } {
  const used: Record<string, string> = {};
  const src = new SourceMap(text);
  const out = text.replace(/\{\{['"]?\s*\$(\w+)\s*:\s*(\S*?)\s*['"]?\}\}/g, (_m, name: string, def: string, offset: number) => {
    let value = def;
    const fromEnv = env[name];
    if (fromEnv !== undefined) {
      value = fromEnv;
      used[name] = fromEnv;
    }
    if (!value) {
      throw new ConfigError(file, src.loc(offset), `\`${name}\` cannot be found in \`os.environ\`. Please set \`${name}\` in environment or give a default value.`);
    }
    return value;
  });
  return { text: out, used };
}

export interface BaseRef {
  /** The dotted key after `_base_.`. */
  key: string;
  loc: Loc;
}

/**
 * Replaces each `{{_base_.a.b}}` with a quoted placeholder string that survives parsing; the
 * placeholders are resolved against the merged bases after the file is evaluated.
 */
export function preSubstituteBaseRefs(text: string): { text: string; refs: Map<string, BaseRef> } {
  const refs = new Map<string, BaseRef>();
  const byKey = new Map<string, string>();
  const src = new SourceMap(text);
  const out = text.replace(/\{\{\s*_base_\.([\w.]+)\s*\}\}/g, (_m, key: string, offset: number) => {
    let placeholder = byKey.get(key);
    if (!placeholder) {
      placeholder = `_${key}_${randomBytes(3).toString('hex')}`;
      byKey.set(key, placeholder);
      refs.set(placeholder, { key, loc: src.loc(offset) });
    }
    return `"${placeholder}"`;
  });
  return { text: out, refs };
}

/**
 * A copy in which no two places share a container: MMEngine deep-copies each level again as it
 * substitutes, so a dict used under two keys of a config becomes two dicts.
 */
function treeCopy(v: PyValue): PyValue {
  if (v instanceof PyDict) return new PyDict(v.entries().map(([k, x]) => [k, treeCopy(x)]), v.configDict);
  if (Array.isArray(v)) return v.map(treeCopy);
  if (v instanceof PyTuple) return new PyTuple(v.items.map(treeCopy));
  if (v instanceof PySet) return new PySet(v.items(), v.frozen);
  return v;
}

/**
 * Resolves placeholders in dict values and list/tuple items (not keys), on a copy as MMEngine
 * does. The base values are inserted themselves, not copied.
 */
export function resolveBaseRefs(cfg: PyDict, refs: Map<string, BaseRef>, base: PyDict, file: string): PyDict {
  const copy = treeCopy(cfg) as PyDict;
  if (!refs.size) return copy;
  const lookup = (placeholder: string): PyValue => {
    const ref = refs.get(placeholder)!;
    let v: PyValue = base;
    for (const k of ref.key.split('.')) {
      try {
        v = getItem(v, k);
      } catch {
        const missing = ref.key.includes('.') ? `'${ref.key}' ('${k}' is missing)` : `'${k}'`;
        const why = v instanceof PyDict ? `the base config has no key ${missing}` : `'${k}' cannot index a ${Array.isArray(v) ? 'list' : 'value'} in the base config`;
        throw new ConfigError(file, ref.loc, `{{_base_.${ref.key}}}: ${why}`);
      }
    }
    return v;
  };
  const walk = (v: PyValue): PyValue => {
    if (typeof v === 'string') return refs.has(v) ? lookup(v) : v;
    if (v instanceof PyDict) {
      for (const [k, x] of v.entries()) v.set(k, walk(x));
      return v;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => (v[i] = walk(x)));
      return v;
    }
    if (v instanceof PyTuple) return new PyTuple(v.items.map(walk));
    return v;
  };
  for (const [k, x] of copy.entries()) copy.set(k, walk(x));
  return copy;
}
