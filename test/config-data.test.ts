// Config files checked against what MMEngine 0.10.7 made of them (expected.json files written
// by scripts/gen-config-fixtures.py): Python snippets, MMEngine's own config test data, and
// real MMSegmentation 1.2.2 config trees.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { Config } from '../ts/config';
import { AnvilError } from '../ts/errors';

const FIXTURES = path.join(__dirname, 'fixtures', 'config');
// Physical path: the test chdirs there, and process.cwd() reports a path through no symlink.
const DATA_ROOT = fs.realpathSync(path.resolve(__dirname, '../../shared/mmengine-config-data'));

type Expected = Record<string, { cfg?: Record<string, unknown>; error?: string; unjsonable?: string }>;

function readExpected(file: string): Expected {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Loads a config: `cfg` is its toDict(), `error` the thrown error. */
function load(file: string): { cfg?: unknown; error?: unknown } {
  try {
    return { cfg: Config.fromFile(file).toDict() };
  } catch (error) {
    return { error };
  }
}

/** Keys in MMEngine's order; JS objects put integer-like keys first, so compare those sorted. */
function keyOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keyOrder);
  if (v && typeof v === 'object') return Object.keys(v).map((k) => [k, keyOrder((v as Record<string, unknown>)[k])]);
  return v;
}

describe('Python snippets', () => {
  const dir = path.join(FIXTURES, 'snippets');
  const expected = readExpected(path.join(dir, 'expected.json'));

  for (const [name, exp] of Object.entries(expected)) {
    it(`${name} ${exp.cfg ? 'loads as MMEngine loads it' : `fails as MMEngine does (${exp.error!.split(':')[0]})`}`, () => {
      const got = load(path.join(dir, name));
      if (exp.cfg) {
        expect(got.error).toBeUndefined();
        expect(got.cfg).toEqual(exp.cfg);
        expect(keyOrder(got.cfg)).toEqual(keyOrder(exp.cfg));
      } else {
        expect(got.error).toBeInstanceOf(AnvilError);
        const message = (got.error as Error).message;
        // our message names the file, line and column, then what was found
        expect(message).toMatch(new RegExp(`^(.*/)?${name.replace('.', '\\.')}(:\\d+:\\d+)?: `));
        const pyType = exp.error!.split(':')[0];
        if (!['RuntimeError', 'ConfigParsingError', 'SyntaxError', 'IndentationError'].includes(pyType)) expect(message).toContain(`${pyType}: `);
      }
    });
  }
});

describe("MMEngine's config test data", () => {
  const expected = readExpected(path.join(FIXTURES, 'mmengine-data', 'expected.json'));
  const home = os.homedir();
  const resolve = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace('<ROOT>', DATA_ROOT).replace('<HOME>', home);
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
    return v;
  };

  it('loads the same files as before (the count may only grow) and fails the others with AnvilError', () => {
    const cwd = process.cwd();
    process.chdir(DATA_ROOT); // test_code_in_config.py opens a path relative to the data root
    try {
      const loaded: string[] = [];
      const mismatched: string[] = [];
      for (const [rel, exp] of Object.entries(expected)) {
        const got = load(rel);
        if (got.error) {
          expect(got.error, rel).toBeInstanceOf(AnvilError);
          continue;
        }
        loaded.push(rel);
        if (exp.cfg && JSON.stringify(keyOrder(got.cfg)) !== JSON.stringify(keyOrder(resolve(exp.cfg)))) mismatched.push(rel);
      }
      // every file MMEngine turns into data gives the same data here
      expect(mismatched).toEqual([]);
      const mmengineLoads = Object.entries(expected).filter(([, e]) => e.cfg).map(([rel]) => rel);
      expect(mmengineLoads.filter((rel) => !loaded.includes(rel))).toEqual([]);
      // 49 as MMEngine gives them, plus test_ast_transform.py and test_code_in_config.py (MMEngine
      // keeps a module / class object there that has no data form; we leave imports out)
      expect(loaded.length).toBe(51);
      expect(Object.keys(expected).length).toBe(65);
    } finally {
      process.chdir(cwd);
    }
  });

  it('reads environment variables with {{$NAME:default}}', () => {
    const file = path.join(DATA_ROOT, 'tests/data/config/py_config/test_environment_var.py');
    expect(() => Config.fromFile(file, { env: {} })).toThrow(/`ITEM1` cannot be found in `os\.environ`/);
    const cfg = Config.fromFile(file, { env: { ITEM1: 'x', ITEM3: '8' } });
    expect(cfg.toDict()).toEqual({ item1: 'x', item2: 'default_value', item3: 8 });
    expect(cfg.envVariables).toEqual({ ITEM1: 'x', ITEM3: '8' });
  });
});

describe('MMSegmentation 1.2.2 configs', () => {
  const dir = path.join(FIXTURES, 'mmseg', 'configs');
  const expected = readExpected(path.join(FIXTURES, 'mmseg', 'expected.json'));

  for (const [rel, exp] of Object.entries(expected)) {
    it(`${rel} merges as MMEngine merges it`, () => {
      const got = load(path.join(dir, rel));
      expect(got.error).toBeUndefined();
      expect(got.cfg).toEqual(exp.cfg);
      expect(keyOrder(got.cfg)).toEqual(keyOrder(exp.cfg));
    });
  }

  it('dumps each to .py, .json and .yaml that load back to the same dict', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-mmseg-dump-'));
    try {
      for (const rel of Object.keys(expected)) {
        const cfg = Config.fromFile(path.join(dir, rel));
        for (const ext of ['.py', '.json', '.yaml']) {
          const out = path.join(tmp, `dumped${ext}`);
          cfg.dump(out);
          expect(Config.fromFile(out).toDict(), `${rel} as ${ext}`).toEqual(cfg.toDict());
        }
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
