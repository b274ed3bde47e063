// YAML configs read as PyYAML (YAML 1.1) reads them for MMEngine: ints as ints, and scalars
// PyYAML keeps as strings (`6e-5`, `y`) kept as strings; errors name line and column.

import { parseDocument, visit } from 'yaml';

import { ConfigError } from '../errors';
import { PyDict, PySet, type PyValue } from '../python/values';

/** PyYAML's float and int resolvers (a float needs a dot, an exponent needs a sign). */
const PYYAML_FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const PYYAML_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PYYAML_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;

function convert(v: unknown, file: string): PyValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
    case 'string':
    case 'bigint':
    case 'number':
      return v;
  }
  if (Array.isArray(v)) return v.map((x) => convert(x, file));
  if (v instanceof Map) return new PyDict([...v.entries()].map(([k, x]) => [convert(k, file), convert(x, file)]));
  if (v instanceof Set) return new PySet([...v].map((x) => convert(x, file)));
  throw new ConfigError(file, null, `YAML value of type ${(v as object).constructor?.name ?? typeof v} is not supported in configs`);
}

export function parseYaml(text: string, file: string): PyValue {
  const doc = parseDocument(text, { version: '1.1', intAsBigInt: true, uniqueKeys: false });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const message = err.message.split('\n')[0].replace(/ at line \d+, column \d+:$/, '');
    throw new ConfigError(file, pos ? { line: pos.line, col: pos.col } : null, `invalid YAML: ${message}`);
  }
  // plain scalars the yaml package reads as numbers/bools but PyYAML keeps as strings
  visit(doc, {
    Scalar(_key, node) {
      if (node.type !== 'PLAIN' || typeof node.source !== 'string') return;
      const src = node.source;
      const v = node.value;
      const number = typeof v === 'number' || typeof v === 'bigint';
      if ((number && !PYYAML_FLOAT.test(src) && !PYYAML_INT.test(src)) || (typeof v === 'boolean' && !PYYAML_BOOL.test(src))) node.value = src;
    },
  });
  try {
    return convert(doc.toJS({ mapAsMap: true, maxAliasCount: 10_000 }), file);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(file, null, `invalid YAML: ${(e as Error).message}`);
  }
}
