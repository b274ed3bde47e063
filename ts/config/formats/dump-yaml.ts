// Writes config data as block YAML that PyYAML and our reader both load back unchanged:
// floats always with a point (`1.0e-05`), strings quoted unless plainly safe, tuples as lists.

import { ConfigError } from '../errors';
import { floatRepr } from '../python/format';
import { PyDict, PyLazy, PySet, PyTuple, typeName, type PyValue } from '../python/values';

const SPECIAL_WORDS = /^(?:y|n|yes|no|on|off|true|false|null|none|nan|inf|~)$/i;

function quoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0)) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  // `{{` would be substituted when the file is read again
  return `${out.replace(/\{\{/g, '{\\x7b')}"`;
}

function str(s: string): string {
  return /^[A-Za-z_][\w.\-/]*$/.test(s) && !SPECIAL_WORDS.test(s) ? s : quoted(s);
}

function float(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (!Number.isFinite(x)) return x > 0 ? '.inf' : '-.inf';
  const r = floatRepr(x);
  return !r.includes('.') && r.includes('e') ? r.replace('e', '.0e') : r;
}

function scalar(v: PyValue, path: string): string | null {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return float(v);
    case 'string':
      return str(v);
  }
  if (v instanceof PyLazy) return str(v.toString());
  if (Array.isArray(v) || v instanceof PyTuple || v instanceof PySet || v instanceof PyDict) return null;
  throw new ConfigError(null, null, `${path || '(root)'}: a ${typeName(v)} value cannot be written as YAML`);
}

function key(k: PyValue, path: string): string {
  const s = scalar(k, path);
  if (s === null) throw new ConfigError(null, null, `${path || '(root)'}: a ${typeName(k)} key cannot be written as YAML`);
  return s;
}

function lines(v: PyValue, indent: string, path: string, depth: number): string[] {
  if (depth > 500) throw new ConfigError(null, null, `${path || '(root)'}: the value is nested too deeply (or contains itself)`);
  if (v instanceof PyDict) {
    return v.entries().flatMap(([k, x]) => {
      const sub = `${path}.${String(k)}`;
      const s = scalar(x, sub);
      const head = `${indent}${key(k, sub)}:`;
      if (s !== null) return [`${head} ${s}`];
      const empty = emptyText(x);
      if (empty) return [`${head} ${empty}`];
      return [head, ...lines(x, `${indent}  `, sub, depth + 1)];
    });
  }
  const items = Array.isArray(v) ? v : v instanceof PyTuple ? v.items : (v as PySet).items();
  return items.flatMap((x, i) => {
    const sub = `${path}[${i}]`;
    const s = scalar(x, sub);
    if (s !== null) return [`${indent}- ${s}`];
    const empty = emptyText(x);
    if (empty) return [`${indent}- ${empty}`];
    const inner = lines(x, `${indent}  `, sub, depth + 1);
    return [`${indent}- ${inner[0].slice(indent.length + 2)}`, ...inner.slice(1)];
  });
}

function emptyText(v: PyValue): string | null {
  if (v instanceof PyDict) return v.size ? null : '{}';
  const n = Array.isArray(v) ? v.length : v instanceof PyTuple ? v.items.length : (v as PySet).size;
  return n ? null : '[]';
}

export function dumpYaml(cfg: PyDict): string {
  if (!cfg.size) return '{}\n';
  return `${lines(cfg, '', '', 0).join('\n')}\n`;
}
