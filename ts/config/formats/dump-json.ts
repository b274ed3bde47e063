// Writes config data as Python's json.dumps writes it: key order kept, floats as repr()
// (`1.0`, `6e-05`, NaN/Infinity), exact ints, non-ASCII escaped, tuples and sets as arrays.

import { jsonKey } from '../convert';
import { ConfigError } from '../errors';
import { floatRepr } from '../python/format';
import { PyDict, PyLazy, PySet, PyTuple, typeName, type PyValue } from '../python/values';

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const code = s.charCodeAt(i);
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === '\b') out += '\\b';
    else if (c === '\f') out += '\\f';
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  // `{{` would be substituted when a config file is read again; \u007b reads back as '{'
  return `${out.replace(/\{\{/g, '{\\u007b')}"`;
}

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return floatRepr(v);
}

/** JSON text of a config value; `indent` null writes one line as json.dumps does by default. */
export function dumpJson(v: PyValue, indent: number | null = 4, path = '', depth = 0): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return number(v);
    case 'string':
      return jsonString(v);
  }
  if (v instanceof PyLazy) return jsonString(v.toString());
  if (depth > 1000) throw new ConfigError(null, null, `${path || '(root)'}: the value is nested too deeply (or contains itself)`);
  const nl = indent === null ? '' : `\n${' '.repeat(indent * (depth + 1))}`;
  const end = indent === null ? '' : `\n${' '.repeat(indent * depth)}`;
  const sep = indent === null ? ', ' : ',';
  if (Array.isArray(v) || v instanceof PyTuple || v instanceof PySet) {
    const items = Array.isArray(v) ? v : v instanceof PyTuple ? v.items : v.items();
    if (!items.length) return '[]';
    return `[${items.map((x, i) => nl + dumpJson(x, indent, `${path}[${i}]`, depth + 1)).join(sep)}${end}]`;
  }
  if (v instanceof PyDict) {
    if (!v.size) return '{}';
    return `{${v
      .entries()
      .map(([k, x]) => {
        const key = jsonKey(k);
        return `${nl}${jsonString(key)}: ${dumpJson(x, indent, path ? `${path}.${key}` : key, depth + 1)}`;
      })
      .join(sep)}${end}}`;
  }
  throw new ConfigError(null, null, `${path || '(root)'}: a ${typeName(v)} value cannot be written as JSON`);
}
