// `anvil print-config` and `train --cfg-options`, run from the TypeScript sources (transpiled
// once with `typescript` into a temp folder, so this needs no build): output, formats, errors.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const MMSEG = path.join(__dirname, 'fixtures', 'config', 'mmseg');
let tmp: string;
let cli: string;

/** Transpiles ts/ into <tmp>/dist beside links to native/, node_modules and package.json, as dist/ sits in the repo. */
function transpileSources(out: string): void {
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  for (const file of walk(path.join(ROOT, 'ts'))) {
    const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    }).outputText;
    const dest = path.join(out, 'dist', path.relative(path.join(ROOT, 'ts'), file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, js);
  }
  for (const link of ['native', 'node_modules', 'package.json']) fs.symlinkSync(path.join(ROOT, link), path.join(out, link));
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-config-cli-'));
  transpileSources(path.join(tmp, 'build'));
  cli = path.join(tmp, 'build', 'dist', 'cli.js');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function anvil(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('anvil print-config', () => {
  it('--format json prints exactly to_dict() of MMEngine, for a real MMSegmentation config', () => {
    const rel = 'vit/vit_vit-b16_mln_upernet_8xb2-160k_ade20k-512x512.py';
    const expected = JSON.parse(fs.readFileSync(path.join(MMSEG, 'expected.json'), 'utf8'))[rel].cfg;
    const r = anvil('print-config', path.join(MMSEG, 'configs', rel), '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expected);
    expect(Object.keys(JSON.parse(r.stdout))).toEqual(Object.keys(expected));
    // floats keep their point, as Python's json writes them
    expect(r.stdout).toContain('"loss_weight": 1.0');
  });

  it('applies --cfg-options and prints Python (default) or YAML that load back the same', () => {
    const file = path.join(MMSEG, 'configs', 'convnext/convnext-tiny_upernet_8xb2-amp-160k_ade20k-512x512.py');
    const opts = ['--cfg-options', 'train_cfg.max_iters=2000', 'param_scheduler.1.end=2000', 'default_hooks.visualization=None', 'crop_size=(256,256)'];
    const json = JSON.parse(anvil('print-config', file, ...opts, '--format', 'json').stdout);
    expect(json.train_cfg.max_iters).toBe(2000);
    expect(json.param_scheduler[1].end).toBe(2000);
    expect(json.default_hooks.visualization).toBeNull();
    expect(json.crop_size).toEqual([256, 256]);
    for (const format of ['py', 'yaml']) {
      const r = anvil('print-config', file, ...opts, ...(format === 'py' ? [] : ['--format', format]));
      expect(r.status).toBe(0);
      const dumped = path.join(tmp, `dumped.${format}`);
      fs.writeFileSync(dumped, r.stdout);
      expect(JSON.parse(anvil('print-config', dumped, '--format', 'json').stdout)).toEqual(json);
    }
    expect(anvil('print-config', file, ...opts).stdout).toMatch(/^crop_size = \(256, 256\)$/m);
  });

  it('exits 2 with file:line:col for a bad config and with usage errors, never a stack trace', () => {
    fs.writeFileSync(path.join(tmp, 'bad.py'), "x = dict(a=1\n");
    const bad = anvil('print-config', 'bad.py');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("anvil: bad.py:1:9: SyntaxError: '(' was never closed\n");
    expect(anvil('print-config').stderr).toMatch(/^anvil: print-config: expected a config file/);
    expect(anvil('print-config', 'bad.py', '--format', 'toml').stderr).toMatch(/^anvil: print-config: --format must be py, json or yaml, got 'toml'/);
    expect(anvil('print-config', 'bad.py', '--cfg-options').stderr).toMatch(/^anvil: --cfg-options needs at least one KEY=VALUE/);
    const opt = anvil('print-config', path.join(MMSEG, 'configs', '_base_/default_runtime.py'), '--cfg-options', 'vis_backends.3.type=X');
    expect(opt.status).toBe(2);
    expect(opt.stderr).toMatch(/^anvil: cfg-options 'vis_backends\.3': Index 3 exceeds the length of list/);
    for (const r of [bad, opt]) expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('anvil train --cfg-options', () => {
  it('overrides the config before the runner builds it', () => {
    fs.writeFileSync(path.join(tmp, 'small.py'), "model = dict(type='MLPClassifier', in_features=4, hidden_sizes=[8], num_classes=2)\n");
    const r = anvil('train', 'small.py', '--cfg-options', 'model.type=NoSuchModel', '--work-dir', 'out');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^anvil: model\.type: 'NoSuchModel' is not registered/);
  });
});
