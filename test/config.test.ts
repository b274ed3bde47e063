// The config system: MMEngine's inheritance semantics (checked against MMEngine 0.10.7 output),
// new-style configs, other formats, cfg-options, errors with file:line:col, dump and the API.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Config, ConfigError, loadConfig, parseCfgOptions, parseOptionValue } from '../ts/config';
import { AnvilError } from '../ts/errors';
import { PyTuple } from '../ts/config/python/values';

let root: string;
let counter = 0;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-config-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Writes a tree of config files into a fresh folder and returns the entry's path. */
function tree(files: Record<string, string>, entry = Object.keys(files).at(-1)!): string {
  const dir = path.join(root, `t${counter++}`);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return path.join(dir, entry);
}

function load(files: Record<string, string>, entry?: string, cfgOptions?: Record<string, unknown> | string[]) {
  return Config.fromFile(tree(files, entry), { cfgOptions }).toDict();
}

function error(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AnvilError);
    return e as ConfigError;
  }
  throw new Error('expected an error');
}

describe('inheritance (MMEngine semantics)', () => {
  it('merges dicts recursively, replaces other values, keeps base key order then new keys', () => {
    const cfg = load({
      'base.py': "model = dict(type='M', a=dict(b=1, c=2), n=[1, 2])\nlr = 0.1\n",
      'child.py': "_base_ = './base.py'\nmodel = dict(a=dict(b=5), n=[3])\nextra = 1\n",
    });
    expect(cfg).toEqual({ model: { type: 'M', a: { b: 5, c: 2 }, n: [3] }, lr: 0.1, extra: 1 });
    expect(Object.keys(cfg)).toEqual(['model', 'lr', 'extra']);
  });

  it('reads _base_ values: attribute access, ConfigDict.update merging nested dicts, item assignment', () => {
    const cfg = load({
      'b.py': "model = dict(a=dict(b=1, c=2), n=[1, 2])\n",
      'c.py': "_base_ = './b.py'\nx = _base_.model.copy()\nx.update(a=dict(b=5))\ny = _base_.model.a.b\nz = _base_.model['n'][1]\nw = _base_.model.get('q', 'dflt')\n",
    });
    expect(cfg).toEqual({ model: { a: { b: 5, c: 2 }, n: [1, 2] }, x: { a: { b: 5, c: 2 }, n: [1, 2] }, y: 5, z: 2, w: 'dflt' });
    const mutated = load({
      'b.py': "model = dict(type='M')\n",
      'a.py': "_base_ = 'b.py'\n_base_.model.extra = 1\n_base_['new'] = dict(k=1)\n",
    });
    expect(mutated).toEqual({ model: { type: 'M', extra: 1 }, new: { k: 1 } });
  });

  it('_delete_ replaces the base value, and a shared dict is two dicts by merge time', () => {
    const cfg = load({
      'b.py': 'model = dict(a=dict(x=1), b=dict(y=2))\n',
      'c.py': "_base_ = './b.py'\nd = dict(_delete_=True, k=1)\nmodel = dict(a=d, b=d)\n",
    });
    expect(cfg).toEqual({ model: { a: { k: 1 }, b: { k: 1 } }, d: { _delete_: true, k: 1 } });
  });

  it('substitutes {{_base_.x}} with the base value and keeps predefined variables per file', () => {
    const entry = tree({
      'cfgs/base.py': "num = 150\nname = '{{ fileBasenameNoExtension }}'\n",
      'cfgs/exp.py': "_base_ = './base.py'\nn = {{_base_.num}}\nwhere = '{{fileDirname}}'\next = '{{ fileExtname }}'\n",
    });
    expect(Config.fromFile(entry).toDict()).toEqual({ num: 150, name: 'base', n: 150, where: path.dirname(entry), ext: '.py' });
  });

  it('reads bases in JSON and YAML (PyYAML scalars: 1e3 stays a string) and from .yml', () => {
    const cfg = load({
      'b.yml': 'a: 1\nb: [1, 2]\nc: {d: yes, e: 1e3, f: 1.0e+3, g: ~, h: 0x10, i: 010}\n',
      'j.json': '{"n": 1.0, "l": [1, 2.5], "inf": Infinity}',
      'c.py': "_base_ = ['./b.yml', './j.json']\nb = [3]\nc2 = _base_.n * 2\n",
    });
    expect(cfg).toEqual({ a: 1, b: [3], c: { d: true, e: '1e3', f: 1000, g: null, h: 16, i: 8 }, n: 1, l: [1, 2.5], inf: Infinity, c2: 2 });
  });

  it('resolves nested and relative _base_ paths', () => {
    const cfg = load(
      {
        'configs/_base_/models/m.py': "model = dict(type='M', dims=[96, 192])\n",
        'configs/_base_/default.py': "_base_ = './models/m.py'\nseed = 0\n",
        'configs/exp/run.py': "_base_ = ['../_base_/default.py']\nmodel = dict(dims=[64, 128])\n",
      },
      'configs/exp/run.py',
    );
    expect(cfg).toEqual({ model: { type: 'M', dims: [64, 128] }, seed: 0 });
  });
});

describe('new-style configs (with read_base())', () => {
  it('imports base variables, shares them between imports, and writes imported classes as dotted strings', () => {
    const cfg = load({
      'base.py': "model = dict(backbone=dict(depth=50), head=dict(n=19))\nlr = 0.01\n",
      'child.py':
        'from mmengine.config import read_base\nwith read_base():\n    from .base import *\n    from .base import model as m2\n' +
        "from mmengine.hooks import EMAHook\nimport torch.nn as nn\n\nmodel.backbone.depth = 101\nlr = lr * 2\nhook = dict(type=EMAHook, act=nn.ReLU)\nimport os.path as osp\nname = osp.basename(__file__)\n",
    });
    expect(cfg).toEqual({
      model: { backbone: { depth: 101 }, head: { n: 19 } },
      lr: 0.02,
      m2: { backbone: { depth: 101 }, head: { n: 19 } },
      hook: { type: 'mmengine.hooks.EMAHook', act: 'torch.nn.ReLU' },
      name: 'child.py',
    });
  });

  it('refuses mixing styles and star imports of packages', () => {
    expect(error(() => load({ 'b.py': 'import numpy as np\n', 'a.py': "_base_ = './b.py'\n" })).message).toMatch(/inheritance chain must match/);
    expect(error(() => load({ 'b.py': "_base_ = []\nx = 1\n", 'a.py': 'from mmengine.config import read_base\nwith read_base():\n    from .b import *\n' })).message).toMatch(
      /a\.py:3:5: .*inheritance chain must match|b\.py:1:1: .*inheritance chain must match/,
    );
    expect(error(() => load({ 'a.py': 'from torch.optim import *\n' })).message).toMatch(/a\.py:1:25: Illegal syntax in config! `from xxx import \*`/);
  });
});

describe('errors name the file, line and column', () => {
  it('syntax errors', () => {
    expect(error(() => load({ 'a.py': 'x = dict(a=1\ny = 2\n' })).message).toMatch(/a\.py:1:9: SyntaxError: '\(' was never closed$/);
    expect(error(() => load({ 'a.py': 'x = 1 +\n' })).message).toMatch(/a\.py:1:8: SyntaxError: expected an expression, found end of line$/);
    expect(error(() => load({ 'a.py': 'x = 1\n  y = 2\n' })).message).toMatch(/a\.py:2:3: SyntaxError: unexpected indent$/);
    expect(error(() => load({ 'a.py': 'class A:\n    pass\n' })).message).toMatch(/a\.py:1:1: SyntaxError: class definitions are not supported in configs$/);
    expect(error(() => load({ 'a.py': "x = 'abc\n" })).message).toMatch(/a\.py:1:5: SyntaxError: unterminated string literal$/);
    expect(error(() => load({ 'a.py': 'x = 1j\n' })).message).toMatch(/a\.py:1:5: SyntaxError: complex numbers are not supported/);
  });

  it('evaluation errors point at the expression', () => {
    expect(error(() => load({ 'a.py': 'x = 1\ny = [x,\n     zz]\n' })).message).toMatch(/a\.py:3:6: NameError: name 'zz' is not defined$/);
    expect(error(() => load({ 'a.py': "m = dict(a=1)\nv = m['b']\n" })).message).toMatch(/a\.py:2:6: KeyError: 'b'$/);
  });

  it('inheritance errors', () => {
    expect(error(() => load({ 'a.py': "_base_ = './missing.py'\n" })).message).toMatch(/a\.py:1:1: base config '\.\/missing\.py' not found/);
    expect(error(() => load({ 'b.py': 'x = 1\n', 'a.py': "_base_ = './b.py'\ny = 0\nx = dict(a=1)\n" })).message).toMatch(
      /a\.py:3:1: x=\{'a': 1\} in child config cannot inherit from base because x is a dict in the child config but is an int in base config/,
    );
    expect(error(() => load({ 'b.py': 'x = 1\n', 'c.py': 'x = 2\n', 'a.py': "_base_ = ['./b.py', './c.py']\n" })).message).toMatch(
      /a\.py:1:1: Duplicate key is not allowed among bases\. Duplicate keys: 'x' \(\.\/b\.py and \.\/c\.py\)/,
    );
    expect(error(() => load({ 'b.py': 'x = 1\n', 'a.py': "_base_ = './b.py'\ny = {{_base_.nope}}\n" })).message).toMatch(/a\.py:2:5: \{\{_base_\.nope\}\}: the base config has no key 'nope'$/);
    expect(error(() => load({ 'a.py': "filename = 'x'\n" })).message).toMatch(/filename is reserved for config file/);
    expect(error(() => load({ 'a.py': "x = '{{$ANVIL_SURELY_UNSET_VAR:}}'\n" })).message).toMatch(/a\.py:1:6: `ANVIL_SURELY_UNSET_VAR` cannot be found/);
  });

  it('detects _base_ cycles', () => {
    const e = error(() => load({ 'a.py': "_base_ = './b.py'\n", 'b.py': "_base_ = './a.py'\n" }, 'a.py'));
    expect(e.message).toMatch(/b\.py:1:1: circular _base_ inheritance: .*a\.py -> .*b\.py -> .*a\.py$/);
    expect(error(() => load({ 'a.py': "_base_ = './a.py'\n" })).message).toMatch(/circular _base_ inheritance/);
  });

  it('bounds endless loops, deep recursion and huge values', () => {
    expect(error(() => load({ 'a.py': 'while True:\n    pass\n' })).message).toMatch(/a\.py:2:5: RuntimeError: config evaluation did not finish/);
    expect(error(() => load({ 'a.py': 'def f(n):\n    return f(n + 1)\nx = f(0)\n' })).message).toMatch(/RecursionError: maximum recursion depth exceeded/);
    expect(error(() => load({ 'a.py': 'x = [0] * 10 ** 9\n' })).message).toMatch(/a\.py:1:5: MemoryError/);
    expect(error(() => load({ 'a.py': 'x = 10 ** 10 ** 8\n' })).message).toMatch(/OverflowError/);
    expect(error(() => load({ 'a.py': `x = ${'('.repeat(300)}1${')'.repeat(300)}\n` })).message).toMatch(/SyntaxError: (too many nested parentheses|expression too deeply nested)/);
    expect(error(() => load({ 'a.py': 'a = []\na.append(a)\n' })).message).toMatch(/nested too deeply or contains itself/);
  });

  it('a missing entry file and an unknown format', () => {
    expect(error(() => Config.fromFile('nope/none.py')).message).toBe('nope/none.py: config file not found');
    const txt = tree({ 'a.txt': 'x' });
    expect(error(() => Config.fromFile(txt)).message).toMatch(/unsupported config format '\.txt'/);
    expect(error(() => Config.fromFile(tree({ 'bad.json': '{ "model": ' }))).message).toMatch(/bad\.json: invalid JSON at line 1, column 12: expecting a value, found end of file$/);
    expect(error(() => Config.fromFile(tree({ 'bad.yaml': 'a: [1,\n' }))).message).toMatch(/bad\.yaml:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a \]$/);
  });
});

describe('--cfg-options', () => {
  it('parses values as MMEngine DictAction does', () => {
    const v = (s: string) => parseOptionValue(s);
    expect(v('1')).toBe(1n);
    expect(v('-1e-4')).toBe(-1e-4);
    expect(v('1.0')).toBe(1);
    expect(v('inf')).toBe(Infinity);
    expect(v('True')).toBe(true);
    expect(v('false')).toBe(false);
    expect(v('None')).toBe(null);
    expect(v('none')).toBe('none');
    expect(v("'quoted'")).toBe('quoted');
    expect(v('a,b')).toEqual(['a', 'b']);
    expect(v('[1, 2, 3]')).toEqual([1n, 2n, 3n]);
    expect(v('(1,2)')).toEqual(new PyTuple([1n, 2n]));
    expect(v('[(1,2),[a,b],c]')).toEqual([new PyTuple([1n, 2n]), ['a', 'b'], 'c']);
    expect(v('[]')).toEqual([]);
    expect(v('')).toBe('');
    expect(() => v('[1,2')).toThrow(/imbalanced brackets/);
    expect(parseCfgOptions(['a.b=1', 'c=x=y']).entries()).toEqual([
      ['a.b', 1n],
      ['c', 'x=y'],
    ]);
    expect(() => parseCfgOptions(['novalue'])).toThrow(/'novalue' is not KEY=VALUE/);
  });

  it('merges dotted keys, list indices and _delete_, as merge_from_dict does', () => {
    const files = { 'a.py': "pipeline = [dict(type='A', p=1), dict(type='B', q=2)]\nlr = 0.1\n" };
    const cfg = load(files, undefined, { 'pipeline.1._delete_': true, 'pipeline.1.type': 'X', 'pipeline.0.p': 5, 'new.deep.key': [1, 2] });
    expect(cfg).toEqual({ pipeline: [{ type: 'A', p: 5 }, { type: 'X', q: 2, _delete_: true }], lr: 0.1, new: { deep: { key: [1, 2] } } });
    const fromArgs = load(files, undefined, ['lr=0.2', 'pipeline.0.type=C', 'scales=[(1,2),(3,4)]']);
    expect(fromArgs).toEqual({ pipeline: [{ type: 'C', p: 1 }, { type: 'B', q: 2 }], lr: 0.2, scales: [[1, 2], [3, 4]] });
    expect(error(() => load(files, undefined, { 'pipeline.5': 1 })).message).toMatch(/cfg-options 'pipeline\.5': Index 5 exceeds the length of list/);
    expect(error(() => load(files, undefined, { 'lr.x': 1 })).message).toMatch(/cfg-options 'lr': lr=\{'x': 1\} in child config cannot inherit/);
    // an indexed item merges like MMEngine's _merge_a_into_b(v, b[i]): only a dict into a dict or list
    expect(error(() => load(files, undefined, { 'pipeline.0': 'X' })).message).toMatch(/cfg-options 'pipeline\.0': 'str' object has no attribute 'items'/);
    const scalars = { 'a.py': 'mean = [1.5, 2.5]\n' };
    expect(error(() => load(scalars, undefined, { 'mean.1': 0.5 })).message).toMatch(/cfg-options 'mean\.1': 'float' object has no attribute 'copy'/);
    expect(error(() => load(scalars, undefined, { 'mean.0.x': 1 })).message).toMatch(/cfg-options 'mean\.0': 'float' object has no attribute 'copy'/);
  });
});

describe('other config formats', () => {
  it('reads .js, .mjs and .ts modules with _base_ and {{_base_.x}}', () => {
    const base = "model = dict(type='M', depth=50)\nlr = 0.1\n";
    expect(load({ 'b.py': base, 'a.js': "module.exports = { _base_: './b.py', model: { depth: 101 }, fn() {}, lr2: {{_base_.lr}} };\n" })).toEqual({
      model: { type: 'M', depth: 101 },
      lr: 0.1,
      lr2: 0.1,
    });
    expect(load({ 'b.py': base, 'a.mjs': "const depth = 18;\nexport default { _base_: ['./b.py'], model: { depth } };\n" })).toEqual({ model: { type: 'M', depth: 18 }, lr: 0.1 });
    expect(
      load({ 'b.py': base, 'a.ts': "interface M { depth: number }\nconst model: M = { depth: 34 };\nexport default { _base_: './b.py', model, steps: [1, 2] as number[] };\n" }),
    ).toEqual({ model: { type: 'M', depth: 34 }, lr: 0.1, steps: [1, 2] });
    expect(error(() => load({ 'a.js': 'module.exports = { f: { g() {} } };\n' })).message).toMatch(/a\.js: f\.g: a function is not config data/);
    expect(error(() => load({ 'a.js': 'throw new Error("boom");\n' })).message).toMatch(/a\.js: the config module failed to run: Error: boom/);
  });

  it('a Python config may use a YAML base and the other way round', () => {
    expect(load({ 'b.py': 'x = dict(a=1)\n', 'a.yaml': "_base_: ./b.py\nx: {b: 2}\ny: '{{ fileBasename }}'\n" })).toEqual({ x: { a: 1, b: 2 }, y: 'a.yaml' });
  });
});

describe('Config API', () => {
  it('get/has by dotted path, keys(), toDict() with tuples as arrays, fromDict and fromString', () => {
    const cfg = Config.fromString("model = dict(backbone=dict(depth=50), out=(1, 2))\npipeline = [dict(type='A')]\n", 'py');
    expect(cfg.keys()).toEqual(['model', 'pipeline']);
    expect(cfg.get<number>('model.backbone.depth')).toBe(50);
    expect(cfg.get('model.out')).toEqual([1, 2]);
    expect(cfg.get('pipeline.0.type')).toBe('A');
    expect(cfg.has('model.nope')).toBe(false);
    expect(cfg.get('model.nope')).toBeUndefined();
    expect(JSON.parse(JSON.stringify(cfg))).toEqual(cfg.toDict());
    const fromDict = Config.fromDict({ a: { b: 1 }, c: [1.5] });
    expect(fromDict.mergeFromDict({ 'a.b': 2 }).toDict()).toEqual({ a: { b: 2 }, c: [1.5] });
    expect(() => Config.fromDict({ text: 1 })).toThrow(/text is reserved/);
  });

  it('formats JSON as Python json writes it (key order, 1.0, exact big ints)', () => {
    const cfg = Config.fromString("a = 1.0\nb = 6e-05\nc = 2 ** 70\nd = {2: 'x', 'k': (1, 2)}\ne = float('nan')\nf = 'é'\n", 'py');
    expect(cfg.format('json', { indent: null })).toBe('{"a": 1.0, "b": 6e-05, "c": 1180591620717411303424, "d": {"2": "x", "k": [1, 2]}, "e": NaN, "f": "\\u00e9"}\n');
  });

  it('dumps .py that reloads to the same dict, escaping {{ and keeping floats and tuples', () => {
    const src = "a = dict(x=1.0, y=(1,), z={'k-1': [None, True]}, w=1e-05)\nb = '{{ fileDirname }}'\nc = float('inf')\nd = dict(_delete_=True, q=1)\n";
    const file = tree({ 'a.py': src.replace("'{{ fileDirname }}'", "'x'") });
    const cfg = Config.fromFile(file, { cfgOptions: { b: '{{ fileDirname }}' } });
    const text = cfg.prettyText;
    expect(text).toContain("a = dict(x=1.0, y=(1,), z={'k-1': [None, True]}, w=1e-05)");
    const out = path.join(path.dirname(file), 'dumped.py');
    cfg.dump(out);
    const again = Config.fromFile(out);
    expect(again.toDict()).toEqual(cfg.toDict());
    expect(again.get('b')).toBe('{{ fileDirname }}');
    expect(again.format('json')).toBe(cfg.format('json'));
    expect(error(() => Config.fromDict({ 'not-an-identifier': 1 }).prettyText).message).toMatch(/top-level key 'not-an-identifier' cannot be written/);
  });

  it('loadConfig gives the runner plain settings and applies cfg-options', () => {
    const file = path.resolve(__dirname, '../configs/mnist_mlp.py');
    const cfg = loadConfig(file, ['train_cfg.max_iters=10']);
    expect(cfg.model).toEqual({ type: 'MLPClassifier', in_features: 784, hidden_sizes: [256, 128], num_classes: 10 });
    expect((cfg.train_cfg as Record<string, unknown>).max_iters).toBe(10);
    expect((cfg.optim_wrapper as { optimizer: { betas: unknown } }).optimizer.betas).toEqual([0.9, 0.999]);
  });
});

describe('the whole MMSegmentation 1.2.2 config tree', () => {
  // ANVIL_MMSEG_CONFIGS=<wheel>/mmseg/.mim/configs (from `pip download mmsegmentation==1.2.2 --no-deps`)
  const dir = process.env.ANVIL_MMSEG_CONFIGS;
  it.skipIf(!dir)('loads every config without error', () => {
    const files: string[] = [];
    const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.py') && files.push(path.join(d, e.name))));
    walk(dir!);
    const failed = files.filter((f) => {
      try {
        Config.fromFile(f).toDict();
        return false;
      } catch {
        return true;
      }
    });
    expect(failed).toEqual([]);
    expect(files.length).toBeGreaterThan(700);
  });
});
