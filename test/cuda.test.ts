// The CUDA backend from JS. Without a GPU (CI) every entry point reports that clearly instead of
// aborting, and the GPU tests say skipped; on a GPU machine every optimizer, GradScaler, clipping
// and EMA run on the device and match the CPU kernels.

import { describe, expect, it } from 'vitest';
import { parseDevice } from '../ts/cuda/kernels';
import '../ts/ema';
import { native } from '../ts/native';
import '../ts/optim';
import { clipGradNorm, clipGradValue } from '../ts/optim/clip-grad';
import { GradScaler } from '../ts/optim/grad-scaler';
import type { Optimizer } from '../ts/optim/optimizer';
import { OPTIMIZERS } from '../ts/registry';
import { Parameter } from '../ts/store/parameter';

const gpus = native.cudaDeviceCount();

function values(n: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return (x / 2 ** 31) * 2 - 1;
  });
}

const SHAPES = [[3, 5], [7], [2, 2, 3]];

function params(): Parameter[] {
  return SHAPES.map((s, i) => new Parameter(s, { data: values(s.reduce((a, b) => a * b, 1), 10 + i) }));
}

/** Steps a fresh optimizer 3 times (the middle tensor skips step 2) on `device`; returns params and state. */
function train(cfg: Record<string, unknown>, device: string) {
  const ps = params();
  const opt = OPTIMIZERS.build<Optimizer>({ ...cfg, params: ps }, 'optimizer').to(device);
  for (let s = 0; s < 3; s++) {
    ps.forEach((p, i) => p.setGrad(s === 1 && i === 1 ? null : values(p.numel, 100 * s + i)));
    opt.step();
  }
  return { params: ps.map((p) => Array.from(p.data)), state: opt.stateDict().state };
}

function expectClose(a: unknown, b: unknown, path = ''): void {
  if (typeof b === 'number') {
    expect(typeof a, path).toBe('number');
    if (Number.isNaN(b)) expect(Number.isNaN(a as number), path).toBe(true);
    else expect(Math.abs((a as number) - b), `${path}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(b));
  } else if (ArrayBuffer.isView(b) || Array.isArray(b)) {
    const bs = Array.from(b as ArrayLike<number>);
    const as = Array.from(a as ArrayLike<number>);
    expect(as.length, path).toBe(bs.length);
    bs.forEach((v, i) => expectClose(as[i], v, `${path}[${i}]`));
  } else if (b && typeof b === 'object') {
    expect(Object.keys(a as object).sort(), path).toEqual(Object.keys(b).sort());
    for (const [k, v] of Object.entries(b)) expectClose((a as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else {
    expect(a, path).toEqual(b);
  }
}

describe('CUDA backend', () => {
  it('counts GPUs without throwing', () => {
    expect(Number.isInteger(gpus) && gpus >= 0).toBe(true);
  });

  it('rejects device strings it does not know', () => {
    expect(() => parseDevice('gpu', 'optimizer.device')).toThrow(/optimizer.device: expected 'cpu', 'cuda' or 'cuda:N', got "gpu"/);
    expect(parseDevice('cpu')).toEqual({ type: 'cpu', index: 0, name: 'cpu' });
  });

  it.runIf(gpus === 0)('says clearly that CUDA is missing, everywhere a device can be asked for', () => {
    const a = new Float32Array(4);
    expect(() => native.CudaBucket.upload(0, a, a, new Uint32Array([0, 4]))).toThrow(/no NVIDIA driver or GPU/);
    const opt = OPTIMIZERS.build<Optimizer>({ type: 'AdamW', lr: 0.1, params: params() }, 'optimizer');
    expect(() => opt.to('cuda')).toThrow(/AdamW.to: 'cuda' was requested but CUDA is not available/);
    expect(opt.device).toBe('cpu');
    expect(() => clipGradNorm(new Float32Array(3), 1, 2, { device: 'cuda:1' })).toThrow(/clipGradNorm: device: 'cuda:1' was requested but CUDA is not available/);
  });

  it.skipIf(gpus === 0)('steps every optimizer on the GPU as the CPU kernels do, state included', () => {
    const configs: Array<Record<string, unknown>> = [
      { type: 'SGD', lr: 0.1, momentum: 0.9, nesterov: true },
      { type: 'SGD', lr: 0.1, weight_decay: 0.01 },
      { type: 'Adam', lr: 0.01, amsgrad: true, weight_decay: 0.1 },
      { type: 'AdamW', lr: 0.01 },
      { type: 'Adamax', lr: 0.01 },
      { type: 'NAdam', lr: 0.01, decoupled_weight_decay: true, weight_decay: 0.1 },
      { type: 'RAdam', lr: 0.01, betas: [0.9, 0.5] },
      { type: 'Adagrad', lr: 0.1, initial_accumulator_value: 0.2, lr_decay: 0.01 },
      { type: 'RMSprop', lr: 0.01, momentum: 0.5, centered: true },
      { type: 'Adadelta', lr: 1.0, maximize: true },
      { type: 'ASGD', lr: 0.01, t0: 1 },
      { type: 'Rprop', lr: 0.01 },
      { type: 'Lion', lr: 0.001, weight_decay: 0.1 },
      { type: 'Lamb', lr: 0.01, weight_decay: 0.01 },
    ];
    for (const cfg of configs) {
      const cpu = train(cfg, 'cpu');
      const gpu = train(cfg, 'cuda');
      expectClose(gpu, cpu, String(cfg.type));
    }
  });

  it.skipIf(gpus === 0)('clips, unscales and averages on the GPU as on the CPU', () => {
    const grads = () => [Float32Array.from(values(300, 1)), Float32Array.from(values(5, 2))];
    for (const normType of [2, 1, 'inf' as const, 0.5]) {
      const [c, g] = [grads(), grads()];
      expectClose(clipGradNorm(g, 0.3, normType, { device: 'cuda' }), clipGradNorm(c, 0.3, normType), `norm ${normType}`);
      expectClose(g, c, `clipped by ${normType}`);
    }
    const [c, g] = [grads(), grads()];
    clipGradValue(c, 0.2);
    clipGradValue(g, 0.2, { device: 'cuda' });
    expectClose(g, c, 'clip_grad_value');
    // GradScaler over an optimizer on the GPU: an inf step is skipped, then the scale backs off.
    const run = (device: string) => {
      const ps = params();
      const opt = OPTIMIZERS.build<Optimizer>({ type: 'SGD', lr: 0.1, params: ps }, 'optimizer').to(device);
      const scaler = new GradScaler({ init_scale: 1024, growth_interval: 1 });
      const skipped: boolean[] = [];
      for (let s = 0; s < 3; s++) {
        ps.forEach((p, i) => p.setGrad(values(p.numel, s + i).map((v) => (s === 1 && i === 0 ? Infinity : v * 1024))));
        skipped.push(scaler.step(opt).skipped);
        scaler.update();
      }
      return { skipped, scale: scaler.getScale(), params: ps.map((p) => Array.from(p.data)) };
    };
    const gpu = run('cuda');
    expect(gpu.skipped).toEqual([false, true, false]);
    expectClose(gpu, run('cpu'), 'GradScaler');
  });
});
