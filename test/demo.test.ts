// `npm run demo` as written: configs/mnist_mlp.py trained by the CLI (epoch-based, validation every
// epoch, warmup + cosine, EMAHook, CheckpointHook with save_best), reaching the README's accuracy,
// printing the best accuracy and its checkpoint, and saving in it the EMA weights it validated.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Accuracy, loadConfig, MNIST, readCheckpointFile, Runner } from '../ts';

const ROOT = path.resolve(__dirname, '..');
const CONFIG = path.join(ROOT, 'configs', 'mnist_mlp.py');
let tmp: string;
let stdout: string;
let status: number | null;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-demo-'));
  // The CLI from the TypeScript sources (the demo script runs dist/cli.js, built from them).
  const r = spawnSync(process.execPath, ['-r', path.join(ROOT, 'test', 'helpers', 'ts-register.cjs'), path.join(ROOT, 'ts', 'cli.ts'), 'train', CONFIG, '--work-dir', 'out'], {
    cwd: tmp,
    encoding: 'utf8',
    timeout: 170_000,
  });
  stdout = r.stdout;
  status = r.status;
  if (r.status !== 0) throw new Error(`demo failed (${String(r.status)}):\n${r.stderr}`);
}, 180_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The accuracy of `stateDict`'s weights on the MNIST test split, evaluated as the ValLoop does. */
function testAccuracy(stateDict: Record<string, Float32Array>): number {
  const cfg = loadConfig(CONFIG);
  const runner = Runner.fromConfig({ model: cfg.model, randomness: { seed: 0 } }, { workDir: null, echo: () => {} });
  for (const [name, p] of runner.model.namedParameters()) p.data.set(stateDict[name]);
  runner.model.eval();
  const data = new MNIST({ split: 'test' });
  const metric = new Accuracy();
  for (let start = 0; start < data.length; start += 1000) {
    const batch = data.getBatch(Array.from({ length: Math.min(1000, data.length - start) }, (_, i) => start + i));
    metric.process(batch, runner.model.valStep(batch));
  }
  return metric.evaluate(data.length).accuracy;
}

describe('npm run demo (configs/mnist_mlp.py)', () => {
  it('validates every epoch and ends with the best accuracy, its checkpoint, and the val accuracy', () => {
    expect(status).toBe(0);
    const vals = [...stdout.matchAll(/Epoch\(val\) \[(\d+)\]\[10\/10\] {4}accuracy: (0\.\d{4})/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(vals.map(([e]) => e)).toEqual([1, 2, 3, 4, 5, 6]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^val accuracy: 0\.98\d\d$/);
    const last = Number(lines.at(-1)!.split(': ')[1]);
    expect(last).toBe(vals.at(-1)![1]);
    const best = lines.at(-2)!.match(/^best accuracy: (0\.\d{4}) \(epoch (\d+)\), checkpoint: (.+)$/);
    expect(best).not.toBeNull();
    const [bestAcc, bestEpoch] = [Number(best![1]), Number(best![2])];
    // The best of the validations, at the first epoch that reached it.
    expect(bestAcc).toBe(Math.max(...vals.map(([, a]) => a)));
    expect(bestEpoch).toBe(vals.find(([, a]) => a === bestAcc)![0]);
    expect(bestAcc).toBeGreaterThanOrEqual(0.98);
    expect(best![3]).toBe(path.join('out', `best_accuracy_epoch_${bestEpoch}.safetensors`));
    expect(fs.existsSync(path.join(tmp, best![3]))).toBe(true);
  });

  it('warms up for the first epoch, then anneals along a cosine to eta_min', () => {
    const lrs = [...stdout.matchAll(/Epoch\(train\) \[(\d)\]\[(\d+)\/469\]  lr: (\S+)/g)].map((m) => ({ epoch: Number(m[1]), idx: Number(m[2]), lr: Number(m[3]) }));
    expect(lrs[0]).toMatchObject({ epoch: 1, idx: 100 });
    // LinearLR from 0.01 * 0.003 over 469 iterations: lr at iteration 99 (logged after it).
    expect(lrs[0].lr).toBeCloseTo(0.003 * (0.01 + (0.99 * 99) / 468), 7);
    const epoch2 = lrs.filter((l) => l.epoch >= 2).map((l) => l.lr);
    for (let i = 1; i < epoch2.length; i++) expect(epoch2[i]).toBeLessThan(epoch2[i - 1]);
    expect(epoch2.at(-1)!).toBeLessThan(0.0001);
  });

  it('keeps the last two epoch checkpoints and the best; the best holds the EMA weights it validated', () => {
    const out = path.join(tmp, 'out');
    const best = stdout.match(/checkpoint: (.+)$/m)![1];
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.safetensors')).sort()).toEqual([path.basename(best), 'epoch_5.safetensors', 'epoch_6.safetensors'].sort());
    const { checkpoint } = readCheckpointFile(path.join(tmp, best));
    const state = checkpoint.state_dict as Record<string, Float32Array>;
    const ema = checkpoint.ema_state_dict as Record<string, Float32Array>;
    // state_dict holds the average (what the validation swapped in), ema_state_dict the trained weights.
    expect(Object.keys(ema).filter((k) => k.startsWith('module.')).sort()).toEqual(Object.keys(state).map((k) => `module.${k}`).sort());
    for (const k of Object.keys(state)) expect(Array.from(state[k])).not.toEqual(Array.from(ema[`module.${k}`]));
    const bestAcc = Number(stdout.match(/^best accuracy: (0\.\d{4})/m)![1]);
    expect(testAccuracy(state).toFixed(4)).toBe(bestAcc.toFixed(4));
  });
});
