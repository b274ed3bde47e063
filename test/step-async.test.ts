// optimizer.stepAsync(): the update runs on the libuv thread pool (a napi AsyncTask over the
// bucket registered once with the addon), bit-identical to step(), with JS free meanwhile and
// every buffer-touching call refused while it is in flight.

import { describe, expect, it } from 'vitest';
import {
  Adadelta,
  Adagrad,
  Adam,
  Adamax,
  AdamW,
  AmpOptimWrapper,
  AnvilError,
  ASGD,
  Lamb,
  Lion,
  NAdam,
  native,
  type Optimizer,
  OptimWrapper,
  Parameter,
  RAdam,
  RMSprop,
  Rprop,
  SGD,
} from '../ts';
import type { GradDtype } from '../ts/store/half';

type Make = (ps: Parameter[]) => Optimizer;

/** Every optimizer, with options that exercise its state. */
const ALL: Array<[string, Make]> = [
  ['SGD', (p) => new SGD(p, { lr: 0.1, momentum: 0.9, weight_decay: 0.01, nesterov: true })],
  ['Adam', (p) => new Adam(p, { lr: 0.01, amsgrad: true })],
  ['AdamW', (p) => new AdamW(p, { lr: 0.01 })],
  ['Adamax', (p) => new Adamax(p, { weight_decay: 0.1 })],
  ['NAdam', (p) => new NAdam(p, { weight_decay: 0.1, decoupled_weight_decay: true })],
  ['RAdam', (p) => new RAdam(p, { lr: 0.01 })],
  ['Adagrad', (p) => new Adagrad(p, { lr: 0.1, lr_decay: 0.01, initial_accumulator_value: 0.1 })],
  ['RMSprop', (p) => new RMSprop(p, { centered: true, momentum: 0.9, weight_decay: 0.01 })],
  ['Adadelta', (p) => new Adadelta(p, {})],
  ['ASGD', (p) => new ASGD(p, { lr: 0.05, t0: 1 })],
  ['Rprop', (p) => new Rprop(p, {})],
  ['Lion', (p) => new Lion(p, { weight_decay: 0.1 })],
  ['Lamb', (p) => new Lamb(p, { max_grad_norm: 2 })],
];

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out[i] = x / 1073741824 - 1;
  }
  return out;
}

/** Three parameters (one frozen), the same values and gradients on every call. */
function model(gradDtype: GradDtype = 'float32'): Parameter[] {
  const shapes = [[7], [3, 5], [4]];
  const ps = shapes.map((s, i) => new Parameter(s, { data: values(s.reduce((a, b) => a * b, 1), 11 + i), gradDtype }));
  ps[2].requiresGrad = false;
  return ps;
}

function setGrads(ps: Parameter[], step: number): void {
  ps.forEach((p, i) => p.setGrad(values(p.numel, 100 * step + i)));
}

/** Bits of everything a step writes: values and every state buffer / scalar. */
function snapshot(o: Optimizer, ps: Parameter[]): unknown {
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  const state = Object.values(o.stateDict().state).map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, typeof v === 'number' ? v : bits(v)])));
  return { params: ps.map((p) => bits(p.data)), state };
}

describe('stepAsync', () => {
  for (const [name, make] of ALL) {
    it(`${name}: equals step() bit for bit, over several steps and a grad scale`, async () => {
      const [a, b] = [model(), model()];
      const [oa, ob] = [make(a), make(b)];
      for (let s = 1; s <= 3; s++) {
        setGrads(a, s);
        setGrads(b, s);
        oa.step({ gradScale: s === 2 ? 0.5 : 1 });
        await ob.stepAsync({ gradScale: s === 2 ? 0.5 : 1 });
      }
      expect(snapshot(ob, b)).toEqual(snapshot(oa, a));
      // The frozen parameter was skipped by both.
      expect(Array.from(b[2].data)).toEqual(Array.from(values(4, 13)));
    });
  }

  it('half-precision gradients (bf16, fp16) step identically off the thread', async () => {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const [a, b] = [model(dtype), model(dtype)];
      const [oa, ob] = [new AdamW(a, { lr: 0.01 }), new AdamW(b, { lr: 0.01 })];
      setGrads(a, 1);
      setGrads(b, 1);
      oa.step({ gradScale: 0.25 });
      await ob.stepAsync({ gradScale: 0.25 });
      expect(snapshot(ob, b)).toEqual(snapshot(oa, a));
    }
  });

  it('JS keeps running while a large step computes', async () => {
    const n = 1 << 22;
    const p = new Parameter([n], { data: values(n, 1) });
    const opt = new AdamW([p], { lr: 1e-3 });
    p.setGrad(values(n, 2));
    const before = p.data[12345];
    let turns = 0;
    let done = false;
    const spin = () => {
      if (done) return;
      turns++;
      setImmediate(spin);
    };
    const step = opt.stepAsync().then(() => (done = true));
    setImmediate(spin);
    // A callback of the event loop runs before the step resolves: the JS thread is free.
    const first = await Promise.race([step.then(() => 'step'), new Promise((r) => setImmediate(() => r('event loop')))]);
    expect(first).toBe('event loop');
    expect(opt.stepping).toBe(true);
    await step;
    expect(turns).toBeGreaterThan(0);
    expect(opt.stepping).toBe(false);
    expect(p.data[12345]).not.toBe(before);
    expect(p.step).toBe(1);
  });

  it('refuses a second step, zeroGrad and state access while one is in flight', async () => {
    const n = 1 << 21;
    const p = new Parameter([n], { data: values(n, 3) });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    p.setGrad(values(n, 4));
    const running = opt.stepAsync();
    expect(() => opt.step()).toThrow(AnvilError);
    expect(() => opt.step()).toThrow(/SGD\.step: a stepAsync\(\) of this optimizer is still running; await it first/);
    expect(() => opt.zeroGrad()).toThrow(/SGD\.zeroGrad: a stepAsync\(\) of this optimizer is still running/);
    expect(() => opt.stateDict()).toThrow(/SGD\.stateDict: a stepAsync\(\)/);
    await expect(opt.stepAsync()).rejects.toThrow(/SGD\.stepAsync: a stepAsync\(\) of this optimizer is still running/);
    await running;
    expect(p.step).toBe(1);
    // Settled: everything works again.
    opt.step();
    opt.zeroGrad();
    expect(p.step).toBe(2);
    expect(p.hasGrad).toBe(false);
  });

  it('the native handle refuses a second step while one is in flight', async () => {
    const n = 1 << 20;
    const arrays = {
      params: values(n, 5),
      grads: values(n, 6),
      states: [new Float32Array(n)],
      offsets: Uint32Array.of(0, n),
      steps: new Uint32Array(1),
      hasGrad: Uint8Array.of(1),
    };
    const handle = new native.StepBucket(arrays);
    const sgd = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
    const running = native.sgdStepAsync(handle, sgd);
    expect(handle.busy).toBe(true);
    expect(() => native.sgdStep(handle, sgd)).toThrow('a step on this bucket is already in flight; await it before stepping again');
    expect(() => native.sgdStepAsync(handle, sgd)).toThrow(/already in flight/);
    await running;
    expect(handle.busy).toBe(false);
    expect(arrays.steps[0]).toBe(1);
    // A registered handle steps synchronously too, with the same bits as the arrays.
    const copy = { ...arrays, params: arrays.params.slice(), states: [arrays.states[0].slice()], steps: arrays.steps.slice() };
    native.sgdStep(handle, sgd, 0.5);
    native.sgdStep(copy, sgd, 0.5);
    expect(Buffer.from(arrays.params.buffer).equals(Buffer.from(copy.params.buffer))).toBe(true);
    expect(arrays.params[7]).not.toBe(values(n, 5)[7]);
    expect(arrays.steps[0]).toBe(2);
  });

  it('OptimWrapper.updateParamsAsync clips, steps and zeroes as updateParams does', async () => {
    const [a, b] = [model(), model()];
    const wa = new OptimWrapper({ optimizer: new AdamW(a, { lr: 0.01 }), accumulativeCounts: 2, clipGrad: { max_norm: 0.5 } });
    const wb = new OptimWrapper({ optimizer: new AdamW(b, { lr: 0.01 }), accumulativeCounts: 2, clipGrad: { max_norm: 0.5 } });
    for (let s = 1; s <= 4; s++) {
      setGrads(a, s);
      setGrads(b, s);
      wa.updateParams(1);
      await wb.updateParamsAsync(1);
    }
    expect(snapshot(wb.optimizer, b)).toEqual(snapshot(wa.optimizer, a));
    expect(wb.lastGradNorm).toBe(wa.lastGradNorm);
    expect(b[0].hasGrad).toBe(false);
    expect(b[0].step).toBe(2);
  });

  it('AmpOptimWrapper.stepAsync: the fused AMP step off the thread, skipped on inf', async () => {
    const [a, b] = [model('float16'), model('float16')];
    const wa = new AmpOptimWrapper({ optimizer: new AdamW(a, { lr: 0.01 }), dtype: 'float16', lossScale: 1024, clipGrad: { max_norm: 1 } });
    const wb = new AmpOptimWrapper({ optimizer: new AdamW(b, { lr: 0.01 }), dtype: 'float16', lossScale: 1024, clipGrad: { max_norm: 1 } });
    for (let s = 1; s <= 3; s++) {
      for (const [ps, w] of [[a, wa], [b, wb]] as const) {
        ps.forEach((p, i) => p.setGrad(values(p.numel, 10 * s + i).map((v) => v * 1024 * (s === 2 && i === 0 ? Infinity : 1))));
        if (w === wa) w.step();
      }
      await wb.stepAsync();
      wb.zeroGrad();
      wa.zeroGrad();
    }
    expect(snapshot(wb.optimizer, b)).toEqual(snapshot(wa.optimizer, a));
    expect([wb.skippedSteps, wa.skippedSteps]).toEqual([1, 1]);
    expect(wb.lastGradNorm).toBe(wa.lastGradNorm);
  });
});
