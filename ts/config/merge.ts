// MMEngine's merge of a child config into its base (`_merge_a_into_b`): dicts merge key by
// key, `_delete_=True` replaces, other values replace; option merges may index lists ('0').

import { ConfigError } from './errors';
import { repr } from './python/format';
import { truthy } from './python/operators';
import { toConfigDict } from './python/runtime';
import { PyDict, typeName, type PyValue } from './python/values';

export const DELETE_KEY = '_delete_';

export interface MergeContext {
  /** Where the child came from, for messages: a file, or 'cfg-options'. */
  source: string;
  /** Locations of top-level keys in the child file, when known. */
  locate?: (key: string) => { line: number; col: number } | null;
  allowListKeys: boolean;
}

function article(type: string): string {
  return /^[aeiou]/i.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * Merges `a` into a shallow copy of `b` and returns it. Like MMEngine, `_delete_` is popped from
 * the child dict itself (so a dict shared between keys only deletes once), and only where the
 * base has the key.
 */
export function mergeInto(a: PyDict, b: PyDict | PyValue[], ctx: MergeContext, path: string[] = []): PyDict | PyValue[] {
  const out = Array.isArray(b) ? [...b] : b.copy();
  for (const [k, v] of a.entries()) {
    const keyPath = [...path, String(k)];
    if (ctx.allowListKeys && typeof k === 'string' && /^\d+$/.test(k) && Array.isArray(out)) {
      const i = Number(k);
      if (out.length <= i) {
        throw new ConfigError(ctx.source === 'cfg-options' ? null : ctx.source, null, `${ctx.source === 'cfg-options' ? `cfg-options '${keyPath.join('.')}': ` : ''}Index ${i} exceeds the length of list ${repr(out)}`);
      }
      // MMEngine recurses `_merge_a_into_b(v, b[i])` whatever v is: it copies b[i] (only a dict or
      // a list can be copied) and then walks v.items(), so an indexed item only takes a dict.
      const cur = out[i];
      if (!(cur instanceof PyDict) && !Array.isArray(cur)) throw listItemError(keyPath, `'${typeName(cur)}' object has no attribute 'copy'`, ctx);
      if (!(v instanceof PyDict)) throw listItemError(keyPath, `'${typeName(v)}' object has no attribute 'items'`, ctx);
      out[i] = mergeInto(v, cur, ctx, keyPath);
      continue;
    }
    if (Array.isArray(out)) {
      throw new ConfigError(ctx.source === 'cfg-options' ? null : ctx.source, null, `${ctx.source === 'cfg-options' ? 'cfg-options: ' : ''}'${keyPath.join('.')}': '${String(k)}' indexes a list; use a list index (0, 1, ...)`);
    }
    if (v instanceof PyDict) {
      const has = out.has(k);
      // MMEngine evaluates `k in b and not v.pop('_delete_', False)`: no pop when the base lacks k
      const del = has && v.has(DELETE_KEY) ? popDelete(v) : false;
      if (has && !del) {
        const cur = out.get(k)!;
        if (!(cur instanceof PyDict) && !(ctx.allowListKeys && Array.isArray(cur))) throw typeError(keyPath, v, cur, ctx);
        out.set(k, mergeInto(v, cur as PyDict | PyValue[], ctx, keyPath));
      } else {
        out.set(k, toConfigDict(v));
      }
    } else {
      out.set(k, v);
    }
  }
  return out;
}

/** A list item indexed by an option but not merged into a dict or list, as MMEngine's AttributeError says. */
function listItemError(keyPath: string[], what: string, ctx: MergeContext): ConfigError {
  const options = ctx.source === 'cfg-options';
  return new ConfigError(
    options ? null : ctx.source,
    null,
    `${options ? `cfg-options '${keyPath.join('.')}': ` : ''}${what} (an indexed list item can only be merged with a dict of keys; set the whole list to replace it)`,
  );
}

function popDelete(v: PyDict): boolean {
  const flag = v.get(DELETE_KEY)!;
  v.delete(DELETE_KEY);
  return truthy(flag);
}

function typeError(keyPath: string[], v: PyDict, cur: PyValue, ctx: MergeContext): ConfigError {
  const key = keyPath[keyPath.length - 1];
  const loc = keyPath.length === 1 && ctx.locate ? ctx.locate(key) : null;
  const where = ctx.source === 'cfg-options' ? null : ctx.source;
  const prefix = ctx.source === 'cfg-options' ? `cfg-options '${keyPath.join('.')}': ` : keyPath.length > 1 ? `${keyPath.join('.')}: ` : '';
  return new ConfigError(
    where,
    loc,
    `${prefix}${key}=${repr(v)} in child config cannot inherit from base because ${key} is a dict in the child config but is ${article(typeName(cur))} in base config. ` +
      `You may set \`${DELETE_KEY}=True\` to ignore the base config.`,
  );
}
