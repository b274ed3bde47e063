// JSON configs read as Python's json module reads them: ints stay ints (1 vs 1.0 kept),
// NaN/Infinity accepted, duplicate keys keep the last value; errors name line and column.

import { ConfigError } from '../errors';
import { SourceMap } from '../python/lexer';
import { PyDict, type PyValue } from '../python/values';

const MAX_DEPTH = 500;

export function parseJson(text: string, file: string): PyValue {
  const src = new SourceMap(text);
  let i = 0;
  let depth = 0;
  const fail = (what: string, at = i): never => {
    const { line, col } = src.loc(at);
    const found = at >= text.length ? 'end of file' : `'${text[at]}'`;
    throw new ConfigError(file, null, `invalid JSON at line ${line}, column ${col}: ${what}, found ${found}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null], ['NaN', NaN], ['Infinity', Infinity]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail('expecting a value');
  };
  const nest = () => {
    if (++depth > MAX_DEPTH) fail('nesting too deep');
  };
  const object = (): PyDict => {
    nest();
    i++;
    const out = new PyDict();
    ws();
    if (text[i] === '}') {
      i++;
      depth--;
      return out;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expecting a property name in double quotes');
      const key = string();
      ws();
      if (text[i] !== ':') fail("expecting ':' delimiter");
      i++;
      out.set(key, value());
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        depth--;
        return out;
      }
      fail("expecting ',' delimiter");
    }
  };
  const array = (): PyValue[] => {
    nest();
    i++;
    const out: PyValue[] = [];
    ws();
    if (text[i] === ']') {
      i++;
      depth--;
      return out;
    }
    for (;;) {
      out.push(value());
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        depth--;
        return out;
      }
      fail("expecting ',' delimiter");
    }
  };
  const string = (): string => {
    const start = i;
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c < ' ') fail('invalid control character in string');
      if (c === '\\') {
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail('invalid \\escape');
      } else {
        out += c;
        i++;
      }
    }
  };
  const number = (): PyValue => {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (text.startsWith('-Infinity', i)) {
      i += 9;
      return -Infinity;
    }
    if (!m) return fail('expecting a value');
    i += m[0].length;
    return m[1] || m[2] ? Number(m[0]) : BigInt(m[0]);
  };
  const result = value();
  ws();
  if (i < text.length) fail('extra data after the value');
  return result;
}
