// The `torch` feature from TypeScript: the addon built with it (native/torch/) loads the
// TorchScript MLP of scripts/gen-torch-interop-fixtures.py and trains it with Anvil's kernels in
// libtorch's memory, against PyTorch's own AdamW on the same batch. Not part of the default
// vitest run: `bash scripts/torch-interop.sh` builds the addon and the fixtures, then runs this
// with ANVIL_TORCH_ADDON and ANVIL_TORCH_FIXTURES set.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

interface AdamOptions { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; amsgrad: boolean; maximize: boolean; decoupled: boolean }

/** What native/torch/index.d.ts declares for the class (that file exists only after the feature build). */
interface TorchModule {
  parameters(): Array<{ name: string; shape: number[]; numel: number }>;
  forwardBackward(inputs: Float32Array, inputShape: number[], targets: Float32Array | Int32Array, options?: { targetShape?: number[]; loss?: string; lossScale?: number }): number;
  zeroGrad(): void;
  clipGradNorm(maxNorm: number, normType?: number, errorIfNonfinite?: boolean): number;
  ampCheck(scale: number, clip?: { maxNorm: number; normType: number; errorIfNonfinite: boolean }): { foundInf: boolean; totalNorm?: number; gradScale: number };
  adamStep(options: AdamOptions, gradScale?: number): void;
  sgdStep(options: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean }, gradScale?: number): void;
  resetOptimizer(): void;
  unscaleGrads(scale: number): boolean;
  clipGradValue(clipValue: number): void;
  gradValues(index: number): Float32Array;
  steps(): number[];
  parameterValues(index: number): Float32Array;
  addresses(): { parameters: string[]; gradients: string[] };
}

interface TorchAddon {
  TorchModule: { load(path: string): TorchModule };
  updateGradScale(scale: number, growthTracker: number, foundInf: boolean, growthFactor: number, backoffFactor: number, growthInterval: number): { scale: number; growthTracker: number };
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run \`bash scripts/torch-interop.sh\``);
  return v;
}

const FIXTURES = env('ANVIL_TORCH_FIXTURES');
const ADDON_DIR = env('ANVIL_TORCH_ADDON');
const addonFile = fs.readdirSync(ADDON_DIR).find((f) => f.endsWith('.node'));
if (!addonFile) throw new Error(`no .node file in ${ADDON_DIR}`);
// An absolute path: the base given to createRequire does not matter (and need not exist).
const addon = createRequire(path.join(ADDON_DIR, 'noop.js'))(path.join(ADDON_DIR, addonFile)) as TorchAddon;

/** The fixtures' manifest: hyperparameters and raw little-endian tensors. */
const hp: Record<string, number> = {};
const tensors: Record<string, Float32Array | BigInt64Array> = {};
for (const line of fs.readFileSync(path.join(FIXTURES, 'manifest.txt'), 'utf8').trim().split('\n')) {
  const f = line.split(' ');
  if (f[0] === 'hp') hp[f[1]] = Number(f[2]);
  else {
    const bytes = fs.readFileSync(path.join(FIXTURES, f[4]));
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    tensors[f[1]] = f[2] === 'i64' ? new BigInt64Array(buf) : new Float32Array(buf);
  }
}
const f32 = (name: string) => tensors[name] as Float32Array;
const x = f32('x');
const y = Int32Array.from(tensors.y as BigInt64Array, Number);
const adamw: AdamOptions = { lr: hp.lr, beta1: hp.beta1, beta2: hp.beta2, eps: hp.eps, weightDecay: hp.weight_decay, amsgrad: false, maximize: false, decoupled: true };

function maxDiff(module: TorchModule, prefix: string): number {
  let worst = 0;
  module.parameters().forEach((p, i) => {
    const got = module.parameterValues(i);
    const want = f32(`${prefix}.${p.name}`);
    expect(got.length).toBe(want.length);
    for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]));
  });
  return worst;
}

describe('TorchModule (torch feature)', () => {
  it('trains a TorchScript MLP with AdamW and clipping in libtorch memory, as torch does', () => {
    const m = addon.TorchModule.load(path.join(FIXTURES, 'mlp_loss.pt'));
    expect(m.parameters()).toEqual([
      { name: 'fc1.weight', shape: [16, 8], numel: 128 },
      { name: 'fc1.bias', shape: [16], numel: 16 },
      { name: 'fc2.weight', shape: [4, 16], numel: 64 },
      { name: 'fc2.bias', shape: [4], numel: 4 },
    ]);
    expect(maxDiff(m, 'init')).toBe(0);
    const before = m.addresses();
    const losses: number[] = [];
    for (let step = 0; step < hp.steps; step++) {
      m.zeroGrad();
      const loss = m.forwardBackward(x, [64, 8], y);
      const norm = m.clipGradNorm(hp.max_norm);
      expect(Math.abs(loss - f32('adamw.losses')[step])).toBeLessThan(1e-5);
      expect(Math.abs(norm - f32('adamw.norms')[step])).toBeLessThan(1e-5);
      m.adamStep(adamw);
      losses.push(loss);
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.9);
    expect(m.steps()).toEqual([10, 10, 10, 10]);
    expect(m.addresses()).toEqual(before);
    expect(maxDiff(m, 'adamw')).toBeLessThan(1e-6);
  });

  it('runs a dynamic loss-scaling loop: an overflowing step is skipped and the scale backs off', () => {
    const m = addon.TorchModule.load(path.join(FIXTURES, 'mlp_loss.pt'));
    const clip = { maxNorm: hp.max_norm, normType: 2, errorIfNonfinite: false };
    // The first batch (inputs of 1e30) overflows the float32 gradients at a scale of 2^66.
    const huge = x.map((v) => v * 1e30);
    let scale = 2 ** 66;
    let tracker = 0;
    const skipped: number[] = [];
    for (let iter = 0; m.steps()[0] < hp.steps; iter++) {
      m.zeroGrad();
      m.forwardBackward(iter === 0 ? huge : x, [64, 8], y, { lossScale: scale });
      const check = m.ampCheck(scale, clip);
      if (check.foundInf) skipped.push(iter);
      else m.adamStep(adamw, check.gradScale);
      ({ scale, growthTracker: tracker } = addon.updateGradScale(scale, tracker, check.foundInf, 2, 0.5, 2000));
    }
    expect(skipped).toEqual([0]);
    expect(scale).toBe(2 ** 65);
    // The skipped step left the parameters alone: ten real steps give torch's AdamW result.
    expect(maxDiff(m, 'adamw')).toBeLessThan(1e-6);
  });

  it('loss modes and bad input', () => {
    const m = addon.TorchModule.load(path.join(FIXTURES, 'mlp_logits.pt'));
    expect(Math.abs(m.forwardBackward(x, [64, 8], y, { loss: 'cross_entropy' }) - f32('adamw.losses')[0])).toBeLessThan(1e-6);
    const mse = m.forwardBackward(x, [64, 8], f32('mse_target'), { loss: 'mse', targetShape: [64, 4] });
    expect(Math.abs(mse - f32('mse_loss0')[0])).toBeLessThan(1e-6);
    expect(() => m.forwardBackward(x, [64, 7], y, { loss: 'cross_entropy' })).toThrow(/inputs shape \[64, 7\] holds 448 values, inputs has 512/);
    expect(() => m.forwardBackward(x, [64, 8], y, { loss: 'hinge' })).toThrow(/unknown loss 'hinge'/);
    expect(() => addon.TorchModule.load(path.join(FIXTURES, 'missing.pt'))).toThrow(/cannot load .*missing\.pt/);
  });

  it('unscales and clips gradients in place; one optimizer state per optimizer', () => {
    const m = addon.TorchModule.load(path.join(FIXTURES, 'mlp_loss.pt'));
    m.forwardBackward(x, [64, 8], y, { lossScale: 1024 });
    const scaled = m.gradValues(0);
    expect(m.unscaleGrads(1024)).toBe(false);
    const unscaled = m.gradValues(0);
    expect(Array.from(unscaled)).toEqual(Array.from(scaled, (g) => g / 1024)); // exact: a power of two
    expect(unscaled.some((g) => Math.abs(g) > 2e-3)).toBe(true);
    m.clipGradValue(1e-3);
    const clipped = m.gradValues(0);
    expect(Array.from(clipped)).toEqual(Array.from(unscaled, (g) => Math.fround(Math.min(Math.max(g, -1e-3), 1e-3))));
    m.adamStep(adamw);
    const sgd = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
    expect(() => m.sgdStep(sgd)).toThrow(/holds 2 state buffers per parameter, the kernel needs 1/);
    m.resetOptimizer();
    m.sgdStep(sgd);
    expect(m.steps()).toEqual([1, 1, 1, 1]);
  });
});
