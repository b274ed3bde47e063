// The CUDA backend from JS: on a machine without a GPU (CI) every entry point reports that
// clearly instead of aborting; on a GPU machine a bucket round-trips and steps like the CPU.

import { describe, expect, it } from 'vitest';
import { native } from '../ts/native';

describe('CUDA backend', () => {
  const gpus = native.cudaDeviceCount();

  it('counts GPUs without throwing', () => {
    expect(Number.isInteger(gpus) && gpus >= 0).toBe(true);
  });

  it.runIf(gpus === 0)('throws a clear error for a bucket when no GPU is present', () => {
    const a = new Float32Array(4);
    expect(() => native.CudaBucket.upload(0, a, a, new Uint32Array([0, 4]))).toThrow(/no NVIDIA driver or GPU/);
  });

  it.runIf(gpus > 0)('steps AdamW on the GPU as the CPU kernel does', () => {
    const params = Float32Array.from([1, -2, 3, 0.5]);
    const grads = Float32Array.from([0.5, 0.5, -1, 2]);
    const offsets = Uint32Array.from([0, 3, 4]);
    const opts = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, amsgrad: false, maximize: false, decoupled: true };
    const gpu = native.CudaBucket.upload(0, params, grads, offsets);
    const gpuSteps = new Uint32Array(2);
    gpu.adamStep(opts, gpuSteps, Uint8Array.from([1, 1]));
    const out = new Float32Array(4);
    gpu.downloadParams(out);
    const cpu = params.slice();
    native.adamStep({ params: cpu, grads, states: [new Float32Array(4), new Float32Array(4)], offsets, steps: new Uint32Array(2), hasGrad: Uint8Array.from([1, 1]) }, opts);
    expect(Array.from(gpuSteps)).toEqual([1, 1]);
    out.forEach((v, i) => expect(v).toBeCloseTo(cpu[i], 6));
  });
});
