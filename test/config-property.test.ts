// Property tests of the config system: random config trees survive dump -> load in every
// format, and random or mutated inputs either load or fail with an AnvilError, never hang.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Config, parseCfgOptions } from '../ts/config';
import { isKeyword } from '../ts/config/python/lexer';
import { PyDict, PyTuple, type PyValue } from '../ts/config/python/values';
import { AnvilError } from '../ts/errors';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-config-prop-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const RESERVED = new Set(['filename', 'text', 'pretty_text', 'env_variables', '_base_', '_deprecation_']);

const topKey = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/)
  .filter((k) => !isKeyword(k) && !k.startsWith('__') && !RESERVED.has(k) && k !== 'dict' && k !== 'set');

const float = fc.oneof(
  fc.double({ noNaN: false }),
  fc.constantFrom(0.1, 1.0, -0.0, 1e-5, 6e-5, 1e16, 1e22, 0.5, 100.0),
);

const scalar: fc.Arbitrary<PyValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  fc.integer({ min: -1000, max: 1000 }).map(BigInt),
  float,
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('{{ fileDirname }}', "it's", '"q"', 'a\\b', 'line\nbreak', 'yes', '1e3', '~', 'null', '{{_base_.x}}', '{{$HOME:x}}', ''),
);

const value: fc.Arbitrary<PyValue> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('tuple'), tie('dict')),
  list: fc.array(tie('v'), { maxLength: 4 }),
  tuple: fc.array(tie('v'), { maxLength: 4 }).map((items) => new PyTuple(items as PyValue[])),
  dict: fc
    .uniqueArray(fc.tuple(fc.string({ maxLength: 8 }), tie('v')), { maxLength: 4, selector: ([k]) => k })
    .map((entries) => new PyDict(entries as Array<[string, PyValue]>)),
})).v as fc.Arbitrary<PyValue>;

const config = fc.uniqueArray(fc.tuple(topKey, value), { maxLength: 6, selector: ([k]) => k }).map((entries) => new PyDict(entries));

/** The value with the types each format keeps: `.py` keeps tuples and int/float; JSON/YAML turn tuples into lists. */
function typed(v: PyValue, tuples: boolean): unknown {
  if (typeof v === 'bigint') return { int: v.toString() };
  if (typeof v === 'number') return { float: Object.is(v, -0) ? '-0' : String(v) };
  if (Array.isArray(v)) return v.map((x) => typed(x, tuples));
  if (v instanceof PyTuple) return tuples ? { tuple: v.items.map((x) => typed(x, tuples)) } : v.items.map((x) => typed(x, tuples));
  if (v instanceof PyDict) return v.entries().map(([k, x]) => [k, typed(x, tuples)]);
  return v;
}

function loadsOrAnvilError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AnvilError)) throw e;
  }
}

describe('dump -> load round trip', () => {
  it('gives back the same values in .py (tuples, floats, big ints kept), .json and .yaml', () => {
    let n = 0;
    fc.assert(
      fc.property(config, (values) => {
        const cfg = Config.fromValues(values);
        for (const ext of ['.py', '.json', '.yaml']) {
          const file = path.join(dir, `c${n++}${ext}`);
          cfg.dump(file);
          const again = Config.fromFile(file);
          expect(typed(again.values(), ext === '.py')).toEqual(typed(values, ext === '.py'));
          expect(again.toDict()).toEqual(cfg.toDict());
        }
      }),
      { numRuns: 150 },
    );
  });
});

const PY_ALPHABET = [...'abcxyz_019 .,:;=+-*/%()[]{}\'"\\#\n\t@!<>&|^~'].concat(['dict(', 'lambda', 'for ', ' in ', 'if ', 'else', 'def ', 'return', 'import ', 'from ', '_base_', '{{', '}}', '**', '"""', "f'{", 'with read_base():\n    ', '    ']);

/** Random edits of a real config's text: deletions, insertions of Python-ish tokens, duplications. */
function mutated(texts: string[]): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.array(fc.constantFrom(...PY_ALPHABET), { maxLength: 4 }), fc.constantFrom('delete', 'insert', 'duplicate', 'replace'));
  return fc.tuple(fc.constantFrom(...texts), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([text, edits]) => {
    let t = text;
    for (const [at, len, tokens, kind] of edits) {
      const i = t.length ? at % t.length : 0;
      if (kind === 'delete') t = t.slice(0, i) + t.slice(i + len);
      else if (kind === 'insert') t = t.slice(0, i) + tokens.join('') + t.slice(i);
      else if (kind === 'duplicate') t = t.slice(0, i + len) + t.slice(i, i + len) + t.slice(i + len);
      else t = t.slice(0, i) + tokens.join('') + t.slice(i + len);
    }
    return t;
  });
}

function fixtureTexts(): string[] {
  const dirs = [path.join(__dirname, 'fixtures/config/snippets'), path.join(__dirname, 'fixtures/config/mmseg/configs/_base_/datasets'), path.join(__dirname, 'fixtures/config/mmseg/configs/mask2former')];
  return dirs.flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith('.py')).map((f) => fs.readFileSync(path.join(d, f), 'utf8')));
}

describe('random and mutated inputs', () => {
  const texts = fixtureTexts();

  it('mutated Python configs load or fail with an AnvilError', () => {
    fc.assert(
      fc.property(mutated(texts), (src) => loadsOrAnvilError(() => Config.fromString(src, 'py', { filename: path.join(dir, 'm.py'), env: {} }).toDict())),
      { numRuns: 400 },
    );
  });

  it('random text as .py, .json and .yaml loads or fails with an AnvilError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('py', 'json', 'yaml'), (src, format) =>
        loadsOrAnvilError(() => Config.fromString(src, format, { filename: path.join(dir, `r.${format}`), env: {} }).toDict()),
      ),
      { numRuns: 400 },
    );
  });

  it('random Python-token soup loads or fails with an AnvilError', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PY_ALPHABET, 'x = ', '\n', '1', "'s'", 'range(', ')'), { maxLength: 40 }), (tokens) =>
        loadsOrAnvilError(() => Config.fromString(tokens.join(''), 'py', { filename: path.join(dir, 's.py'), env: {} }).toDict()),
      ),
      { numRuns: 400 },
    );
  });

  it('random --cfg-options load or fail with an AnvilError', () => {
    const base = Config.fromString("model = dict(a=[dict(b=1), 2], c=(1, 2))\nlr = 0.1\n", 'py');
    const option = fc.tuple(
      fc.array(fc.constantFrom('model', 'a', '0', '1', '5', 'b', 'c', 'lr', '_delete_', 'new'), { minLength: 1, maxLength: 4 }),
      fc.string({ unit: fc.constantFrom(...'01ab,()[] \'".eE-+TrueNone'), maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(option, { maxLength: 4 }), (opts) =>
        loadsOrAnvilError(() => {
          const args = opts.map(([keys, v]) => `${keys.join('.')}=${v}`);
          parseCfgOptions(args);
          Config.fromValues(base.values()).mergeFromDict(args).toDict();
        }),
      ),
      { numRuns: 400 },
    );
  });
});
