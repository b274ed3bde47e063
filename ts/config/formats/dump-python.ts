// Writes a merged config as a Python config file in MMEngine style (`key = dict(...)`), which
// loads back to the same to_dict(): floats keep their point, tuples stay tuples, `{{` is escaped.

import { ConfigError } from '../errors';
import { isKeyword } from '../python/lexer';
import { floatRepr, strRepr } from '../python/format';
import { PyDict, PyLazy, PySet, PyTuple, typeName, type PyValue } from '../python/values';

const WIDTH = 100;
const IDENT = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u;

function isIdentifier(k: PyValue): k is string {
  return typeof k === 'string' && IDENT.test(k) && !isKeyword(k);
}

/** A string literal whose text never contains `{{`, so reloading does not substitute inside it. */
function stringLiteral(s: string): string {
  return strRepr(s).replace(/\{\{/g, '{\\x7b');
}

function floatLiteral(x: number): string {
  if (Number.isNaN(x)) return '(1e999 - 1e999)';
  if (!Number.isFinite(x)) return x > 0 ? '1e999' : '-1e999';
  return floatRepr(x);
}

interface Ctx {
  /** Top-level names that shadow builtins the dump would call. */
  braces: boolean;
  setCall: boolean;
}

function scalar(v: PyValue, path: string): string | null {
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return v ? 'True' : 'False';
    case 'bigint':
      return v.toString();
    case 'number':
      return floatLiteral(v);
    case 'string':
      return stringLiteral(v);
  }
  if (v instanceof PyLazy) return stringLiteral(v.toString());
  if (Array.isArray(v) || v instanceof PyTuple || v instanceof PyDict || v instanceof PySet) return null;
  throw new ConfigError(null, null, `${path || '(root)'}: a ${typeName(v)} value cannot be written to a config file`);
}

function render(v: PyValue, indent: number, ctx: Ctx, path: string, seen: Set<object>): string {
  const s = scalar(v, path);
  if (s !== null) return s;
  const container = v as PyValue[] | PyTuple | PyDict | PySet;
  if (seen.has(container)) throw new ConfigError(null, null, `${path || '(root)'}: the value contains itself and cannot be written`);
  seen.add(container);
  try {
    let open: string;
    let close: string;
    let items: string[];
    if (container instanceof PyDict) {
      const call = !ctx.braces && container.keys().every(isIdentifier);
      open = call ? 'dict(' : '{';
      close = call ? ')' : '}';
      items = container.entries().map(([k, x]) => {
        const sub = `${path}.${String(k)}`;
        const key = call ? `${k as string}=` : `${render(k, indent + 4, ctx, sub, seen)}: `;
        return key + render(x, indent + 4, ctx, sub, seen);
      });
    } else if (container instanceof PySet) {
      items = container.items().map((x, i) => render(x, indent + 4, ctx, `${path}[${i}]`, seen));
      if (!items.length) return ctx.setCall ? 'set()' : '{*()}';
      open = '{';
      close = '}';
    } else {
      const list = Array.isArray(container) ? container : container.items;
      items = list.map((x, i) => render(x, indent + 4, ctx, `${path}[${i}]`, seen));
      open = Array.isArray(container) ? '[' : '(';
      close = Array.isArray(container) ? ']' : ')';
      if (container instanceof PyTuple && items.length === 1) return `(${items[0]},)`;
    }
    const flat = `${open}${items.join(', ')}${close}`;
    if (indent + flat.length <= WIDTH && !flat.includes('\n')) return flat;
    const pad = ' '.repeat(indent + 4);
    return `${open}\n${items.map((x) => `${pad}${x},`).join('\n')}\n${' '.repeat(indent)}${close}`;
  } finally {
    seen.delete(container);
  }
}

/** The config as Python source: one `name = value` line per top-level key, in order. */
export function dumpPython(cfg: PyDict): string {
  const keys = cfg.keys();
  for (const k of keys) {
    if (!isIdentifier(k) || k.startsWith('__') || k === '_base_' || k === '_deprecation_') {
      throw new ConfigError(null, null, `top-level key ${typeof k === 'string' ? `'${k}'` : String(k)} cannot be written as a Python config variable`);
    }
  }
  const ctx: Ctx = { braces: keys.includes('dict'), setCall: !keys.includes('set') };
  return cfg.entries().map(([k, v]) => `${k as string} = ${render(v, 0, ctx, k as string, new Set())}\n`).join('');
}
