import { execSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SGD_PLAIN = path.resolve(ROOT, '../shared/conformance/cases/optimizer/sgd-plain.json');
let tmp: string;

/** Runs `node dist/cli.js ...args` in the temp dir. */
function anvil(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at /m);

beforeAll(() => {
  execSync('npm run build:ts', { cwd: ROOT, stdio: 'pipe' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('anvil CLI', () => {
  it('--help prints usage and exits 0; no command exits 1', () => {
    const help = anvil('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage:\n {2}anvil train <config> \[--work-dir DIR\]/);
    expect(help.stdout).toContain('anvil conformance <dir>');
    const none = anvil();
    expect(none.status).toBe(1);
    expect(none.stdout).toBe(help.stdout);
    const version = anvil('--version');
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('refuses an unknown command with a clear message and no stack trace', () => {
    const r = anvil('fit', 'x.json');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^anvil: unknown command 'fit'\nUsage:/);
    expect(r.stdout).toBe('');
    noStackTrace(r.stderr);
  });

  it('train: a missing config file exits 2 naming the file', () => {
    const r = anvil('train', 'configs/nope.json');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('anvil: configs/nope.json: config file not found');
    noStackTrace(r.stderr);
    expect(anvil('train').stderr).toMatch(/^anvil: train: expected a config file/);
    expect(anvil('train', 'a.json', '--epochs', '3').stderr).toMatch(/^anvil: train: unknown option '--epochs'/);
  });

  it('train: a config error exits 2 naming the key', () => {
    const file = path.join(tmp, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ model: { type: 'Transformer' } }));
    const r = anvil('train', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^anvil: model\.type: 'Transformer' is not registered in MODELS/);
    noStackTrace(r.stderr);
    fs.writeFileSync(file, '{ "model": ');
    expect(anvil('train', file).stderr).toMatch(/bad\.json: invalid JSON/);
  });

  it('train: a small MNIST config trains and prints the val accuracy', () => {
    const config = {
      model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [32], num_classes: 10 },
      train_dataloader: { batch_size: 50, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 1000 } },
      val_dataloader: { batch_size: 200, dataset: { type: 'MNIST', split: 'test', limit: 200 } },
      val_evaluator: { type: 'Accuracy' },
      train_cfg: { by_epoch: false, max_iters: 40, val_interval: 40 },
      optim_wrapper: { optimizer: { type: 'AdamW', lr: 0.001 } },
      default_hooks: { logger: { type: 'LoggerHook', interval: 20 } },
      randomness: { seed: 0 },
    };
    fs.writeFileSync(path.join(tmp, 'small.json'), JSON.stringify(config));
    const r = anvil('train', 'small.json', '--work-dir', 'out');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^val accuracy: 0\.\d{4}$/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^val accuracy: 0\.\d{4}$/);
    expect(r.stdout).toContain('Iter(train) [40/40]');
    // Besides the run folder: the default CheckpointHook's last checkpoint and its marker.
    const runs = fs.readdirSync(path.join(tmp, 'out')).filter((f) => f !== 'epoch_1.safetensors' && f !== 'last_checkpoint');
    expect(runs).toHaveLength(1);
    expect(fs.readFileSync(path.join(tmp, 'out', 'last_checkpoint'), 'utf8')).toBe(path.join(tmp, 'out', 'epoch_1.safetensors'));
    // vis_data: MMEngine's default visualizer (LocalVisBackend) writes the scalars and config there.
    expect(fs.readdirSync(path.join(tmp, 'out', runs[0])).sort()).toEqual([`${runs[0]}.log`, 'config.json', 'vis_data']);
  });

  it('conformance: a passing case exits 0, a corrupted one exits 1', () => {
    const good = path.join(tmp, 'cases-good');
    fs.mkdirSync(good);
    fs.copyFileSync(SGD_PLAIN, path.join(good, 'sgd-plain.json'));
    const ok = anvil('conformance', good);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe('pass  optimizer/sgd-plain\n1 passed, 0 failed, 0 unsupported\n');

    const bad = path.join(tmp, 'cases-bad');
    fs.mkdirSync(bad);
    const c = JSON.parse(fs.readFileSync(SGD_PLAIN, 'utf8'));
    c.expected.params[0][0].data[0] += 1;
    fs.writeFileSync(path.join(bad, 'sgd-plain.json'), JSON.stringify(c));
    const failed = anvil('conformance', bad);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/^FAIL {2}optimizer\/sgd-plain: params\[0\]\[0\]\.data\[0\]: expected /);
    expect(failed.stdout.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed, 0 unsupported');

    const missing = anvil('conformance', path.join(tmp, 'nowhere'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^anvil: conformance: '.*nowhere' is not a directory/);
  });
});
