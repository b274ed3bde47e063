// `--cfg-options key=value ...`: MMEngine's DictAction value parsing (ints, floats, bools, None,
// lists and tuples, nested) and merge_from_dict (dotted keys, list indices, `_delete_`).

import { ConfigError } from './errors';
import { mergeInto } from './merge';
import { parseFloatText, parseIntText } from './python/builtins';
import { PyDict, PyTuple, type PyValue } from './python/values';

function parseScalar(val: string): PyValue {
  try {
    return parseIntText(val, 10);
  } catch {
    // not an int
  }
  try {
    return parseFloatText(val);
  } catch {
    // not a float
  }
  const lower = val.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  if (val === 'None') return null;
  return val;
}

/** Index of the first comma whose prefix has balanced brackets (or the length), as DictAction finds it. */
function nextComma(s: string, whole: string): number {
  const count = (t: string, c: string) => t.split(c).length - 1;
  if (count(s, '(') !== count(s, ')') || count(s, '[') !== count(s, ']')) {
    throw new ConfigError(null, null, `cfg-options: imbalanced brackets in '${whole}'`);
  }
  let round = 0;
  let square = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') round++;
    else if (c === ')') round--;
    else if (c === '[') square++;
    else if (c === ']') square--;
    else if (c === ',' && round === 0 && square === 0) return i;
  }
  return s.length;
}

/** One option value as DictAction parses it: `1`, `1e-4`, `true`, `None`, `a,b`, `[1,(2,3)]`, `'text'`. */
export function parseOptionValue(raw: string): PyValue {
  return parseIterable(raw, raw, 0);
}

function parseIterable(raw: string, whole: string, depth: number): PyValue {
  // DictAction recurses forever on values such as '],[' (Python's RecursionError); say what is wrong instead
  if (depth > 100) throw new ConfigError(null, null, `cfg-options: cannot parse the value '${whole}'`);
  let val = raw.replace(/^['"]+|['"]+$/g, '').replace(/ /g, '');
  let isTuple = false;
  if (val.startsWith('(') && val.endsWith(')')) {
    isTuple = true;
    val = val.slice(1, -1);
  } else if (val.startsWith('[') && val.endsWith(']')) {
    val = val.slice(1, -1);
  } else if (!val.includes(',')) {
    return parseScalar(val);
  }
  const values: PyValue[] = [];
  while (val.length > 0) {
    const i = nextComma(val, whole);
    values.push(parseIterable(val.slice(0, i), whole, depth + 1));
    val = val.slice(i + 1);
  }
  return isTuple ? new PyTuple(values) : values;
}

/** `KEY=VALUE` arguments as an ordered dict of dotted keys (a repeated key keeps its first place, last value). */
export function parseCfgOptions(args: readonly string[]): PyDict {
  const out = new PyDict();
  for (const kv of args) {
    const eq = kv.indexOf('=');
    if (eq < 0) throw new ConfigError(null, null, `cfg-options: '${kv}' is not KEY=VALUE`);
    out.set(kv.slice(0, eq), parseOptionValue(kv.slice(eq + 1)));
  }
  return out;
}

/** MMEngine's merge_from_dict: dotted keys become nested dicts, merged with list indices allowed. */
export function mergeOptions(cfg: PyDict, options: PyDict): PyDict {
  const nested = new PyDict([], true);
  for (const [fullKey, v] of options.entries()) {
    if (typeof fullKey !== 'string') throw new ConfigError(null, null, `cfg-options: keys must be strings, got ${String(fullKey)}`);
    const keys = fullKey.split('.');
    let d = nested;
    for (const k of keys.slice(0, -1)) {
      if (!d.has(k)) d.set(k, new PyDict([], true));
      const next = d.get(k);
      if (!(next instanceof PyDict)) throw new ConfigError(null, null, `cfg-options: '${fullKey}' goes through '${k}', which another option sets to a value`);
      d = next;
    }
    d.set(keys[keys.length - 1], v);
  }
  return mergeInto(nested, cfg, { source: 'cfg-options', allowListKeys: true }) as PyDict;
}
