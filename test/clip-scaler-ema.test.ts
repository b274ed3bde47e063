import { describe, expect, it, vi } from 'vitest';
import {
  AdamW,
  AnvilError,
  BatchNorm1d,
  clipGradNorm,
  clipGradValue,
  ExponentialMovingAverage,
  getTotalNorm,
  GradScaler,
  Linear,
  MLPClassifier,
  Module,
  MODELS,
  MomentumAnnealingEMA,
  Parameter,
  ParameterStore,
  SGD,
  StochasticWeightAverage,
} from '../ts';
import type { BaseAveragedModel, ClassificationBatch, ClassificationOutput } from '../ts';
import { f16BitsToF32, f32ToF16Bits } from '../ts/store/half';
import { Rng } from '../ts/util/rng';

const f32 = Math.fround;
/** torch's clip coefficient in float32: (1 / (total + 1e-6)) * max_norm, clamped to 1. */
const coef = (maxNorm: number, total: number) => Math.min(f32(f32(1 / f32(total + f32(1e-6))) * f32(maxNorm)), 1);

function param(values: number[], grad?: number[] | null): Parameter {
  const p = new Parameter([values.length], { data: values });
  if (grad) p.setGrad(grad);
  return p;
}

describe('clipGradNorm', () => {
  it('scales only the gradients that exist and returns the total norm', () => {
    const a = param([0, 0], [3, -4]);
    const b = param([0], [12]);
    const none = param([0, 0]); // no gradient: neither counted nor touched
    const total = clipGradNorm([a, none, b], 6.5);
    expect(total).toBe(13);
    const c = coef(6.5, 13);
    expect(Array.from(a.grad)).toEqual([f32(3 * c), f32(-4 * c)]);
    expect(Array.from(b.grad)).toEqual([f32(12 * c)]);
    expect(none.hasGrad).toBe(false);
    expect(Array.from(none.grad)).toEqual([0, 0]);
    // Under the limit nothing changes.
    const small = param([0, 0], [0.3, 0.4]);
    expect(clipGradNorm([small], 1)).toBeCloseTo(0.5, 6);
    expect(Array.from(small.grad)).toEqual([f32(0.3), f32(0.4)]);
  });

  it('takes parameters packed in an optimizer bucket, arrays, or a single array', () => {
    const ps = [param([0, 0], [1, 1]), param([0], [1]), param([0], null), param([0, 0, 0], [1, 1, 1])];
    new SGD(ps, { lr: 0.1 }); // packs all four into one bucket
    expect(ps[0].location.bucket).toBe(ps[3].location.bucket);
    expect(clipGradNorm(ps, 1, 1)).toBe(6);
    expect(ps[3].grad[0]).toBeCloseTo(1 / 6, 6);
    expect(ps[2].grad[0]).toBe(0);
    const g = Float32Array.of(-2, 0, 2);
    expect(clipGradNorm(g, 1, 'inf')).toBe(2);
    expect(g[0]).toBeCloseTo(-1, 6);
    expect(clipGradNorm([Float32Array.of(3), Float32Array.of(4)], 10)).toBe(5);
    expect(clipGradNorm([], 1)).toBe(0);
  });

  it('follows torch for the other orders: 0 counts tensors with a non-zero, -1 skips absent gradients', () => {
    const grads = () => [Float32Array.of(1, 0, -2), Float32Array.of(0, 0), Float32Array.of(4)];
    expect(getTotalNorm(grads(), 0)).toBe(2);
    expect(getTotalNorm(grads(), 1)).toBe(7);
    expect(getTotalNorm(grads(), 'inf')).toBe(4);
    expect(getTotalNorm(grads(), '-inf')).toBe(0);
    expect(getTotalNorm(grads(), 3)).toBeCloseTo(Math.cbrt(1 + 8 + 64), 5);
    // A zero-filled absent gradient would make the -1 norm 0; torch leaves it out.
    const ps = [param([0], [2]), param([0]), param([0], [2])];
    expect(getTotalNorm(ps, -1)).toBe(1);
    expect(() => getTotalNorm([new Float32Array(0)], 'inf')).toThrow(/inf norm of an empty gradient tensor/);
  });

  it('applies the coefficient even for non-finite norms, unless errorIfNonfinite throws first', () => {
    const g = Float32Array.of(1, Infinity, -2);
    expect(clipGradNorm([g], 1)).toBe(Infinity);
    expect([g[0], Number.isNaN(g[1]), Object.is(g[2], -0)]).toEqual([0, true, true]);
    const n = Float32Array.of(NaN, 1);
    expect(clipGradNorm([n], 1)).toBeNaN();
    expect(Number.isNaN(n[1])).toBe(true);
    const h = Float32Array.of(1, Infinity);
    let err: unknown;
    try {
      clipGradNorm([h], 1, 2, { errorIfNonfinite: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AnvilError);
    expect((err as Error).message).toMatch(/^clipGradNorm: The total norm of order 2\.0 for gradients from `parameters` is non-finite/);
    expect(Array.from(h)).toEqual([1, Infinity]);
  });

  it('clips fp16 and bf16 gradients in their own precision', () => {
    const p = new Parameter([2], { gradDtype: 'float16' });
    p.setGrad([3, -4]);
    const total = clipGradNorm([p, { bits: Uint16Array.of(0x4140 /* bf16 12 */), dtype: 'bfloat16' }], 6.5);
    expect(total).toBe(13);
    const c = coef(6.5, 13);
    expect(Array.from(p.gradBits(), f16BitsToF32)).toEqual([f16BitsToF32(f32ToF16Bits(3 * c)), f16BitsToF32(f32ToF16Bits(-4 * c))]);
  });

  it('reports bad input as AnvilError', () => {
    expect(() => clipGradNorm([Float32Array.of(1)], 1, 'two' as never)).toThrow(AnvilError);
    expect(() => clipGradNorm([Float32Array.of(1)], 1, NaN)).toThrow(/norm_type must be a number/);
    expect(() => clipGradNorm([Float32Array.of(1)], '1' as never)).toThrow(/max_norm must be a number/);
    expect(() => clipGradNorm([[1, 2] as never], 1)).toThrow(/item 0 is not a Parameter/);
    const shared = new Float32Array(4);
    expect(() => clipGradNorm([shared.subarray(0, 3), shared.subarray(2)], 1)).toThrow(/overlap/);
  });
});

describe('clipGradValue', () => {
  it('clamps existing gradients to [-c, c] in float32', () => {
    const a = param([0, 0, 0], [-0.9, 0.2, 1.5]);
    const none = param([0]);
    clipGradValue([a, none], 0.3);
    expect(Array.from(a.grad)).toEqual([f32(-0.3), f32(0.2), f32(0.3)]);
    expect(none.grad[0]).toBe(0);
    expect(() => clipGradValue([a], null as never)).toThrow(/clip_value must be a number/);
  });
});

describe('GradScaler', () => {
  function setup(options: Record<string, unknown> = {}) {
    const p = param([1, 2]);
    const opt = new SGD([p], { lr: 1 });
    return { p, opt, scaler: new GradScaler(options) };
  }

  it("has torch's defaults and state dict", () => {
    const s = new GradScaler();
    expect(s.getScale()).toBe(65536);
    expect(s.stateDict()).toEqual({ scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 0 });
    expect(s.scale(0.5)).toBe(32768);
    expect(new GradScaler({ init_scale: 0.1 }).getScale()).toBe(f32(0.1));
  });

  it('unscales, steps, and grows the scale every growthInterval finite steps', () => {
    const { p, opt, scaler } = setup({ initScale: 4, growthInterval: 2 });
    p.setGrad([4, -8]);
    expect(scaler.step(opt)).toEqual({ skipped: false });
    expect(Array.from(p.grad)).toEqual([1, -2]); // unscaled in place, as torch
    expect(Array.from(p.data)).toEqual([0, 4]);
    scaler.update();
    expect([scaler.getScale(), scaler.getGrowthTracker()]).toEqual([4, 1]);
    p.setGrad([4, 4]);
    scaler.step(opt);
    scaler.update();
    expect([scaler.getScale(), scaler.getGrowthTracker()]).toEqual([8, 0]);
  });

  it('skips the step on inf/NaN and backs off', () => {
    const { p, opt, scaler } = setup({ initScale: 8, growthInterval: 1 });
    p.setGrad([1, NaN]);
    expect(scaler.step(opt)).toEqual({ skipped: true });
    expect(Array.from(p.data)).toEqual([1, 2]);
    scaler.update();
    expect(scaler.getScale()).toBe(4);
    // A growth past float32's range is not applied.
    const big = setup({ initScale: 3e38, growthInterval: 1 });
    big.p.setGrad([0, 0]);
    big.scaler.step(big.opt);
    big.scaler.update();
    expect(big.scaler.getScale()).toBe(f32(3e38));
  });

  it('lets gradients be unscaled once per step, for clipping in between', () => {
    const { p, opt, scaler } = setup({ initScale: 2 });
    p.setGrad([6, 8]);
    scaler.unscale(opt);
    expect(Array.from(p.grad)).toEqual([3, 4]);
    expect(clipGradNorm([p], 1)).toBe(5);
    expect(() => scaler.unscale(opt)).toThrow('GradScaler: unscale_() has already been called on this optimizer since the last update().');
    scaler.step(opt); // does not unscale again
    expect(p.data[0]).toBeCloseTo(1 - 0.6, 5);
    expect(() => scaler.step(opt)).toThrow(/step\(\) has already been called since the last update\(\)/);
    expect(() => scaler.unscale(opt)).toThrow(/unscale_\(\) is being called after step\(\)/);
    scaler.update();
    p.setGrad([2, 2]);
    scaler.unscale(opt); // a new iteration
  });

  it('refuses updates and steps with nothing checked', () => {
    const { p, opt, scaler } = setup();
    expect(() => scaler.update()).toThrow(AnvilError);
    expect(() => scaler.update()).toThrow(/No inf checks were recorded prior to update/);
    expect(() => scaler.step(opt)).toThrow(/No inf checks were recorded for this optimizer/);
    scaler.update(1024); // a static scale needs no checks
    expect(scaler.getScale()).toBe(1024);
    p.setGrad([1, 1]);
    scaler.step(opt);
    scaler.update(1024.3);
    expect(scaler.getScale()).toBe(f32(1024.3));
  });

  it('unscales fp16 gradients in float32 and rounds once, as torch on CPU', () => {
    const p = new Parameter([2], { data: [0, 0], gradDtype: 'float16' });
    const opt = new SGD([p], { lr: 1 });
    const scaler = new GradScaler({ initScale: 3 });
    p.setGrad([1000, 3]);
    scaler.unscale(opt);
    const inv = f32(1 / 3);
    expect(Array.from(p.gradBits(), f16BitsToF32)).toEqual([333.25, f16BitsToF32(f32ToF16Bits(f32(3 * inv)))]);
    expect(f16BitsToF32(f32ToF16Bits(f32(1000 * inv)))).toBe(333.25);
    expect(scaler.step(opt).skipped).toBe(false);
    expect(p.data[0]).toBe(-333.25);
  });

  it('does nothing but step when disabled, and round-trips its state', () => {
    const { p, opt } = setup();
    const off = new GradScaler({ enabled: false });
    p.setGrad([1, 1]);
    expect(off.step(opt)).toEqual({ skipped: false });
    expect(Array.from(p.data)).toEqual([0, 1]);
    expect([off.getScale(), off.stateDict(), off.scale(3)]).toEqual([1, {}, 3]);
    off.update();
    const s = new GradScaler();
    s.loadStateDict({ scale: 128, growth_factor: 4, backoff_factor: 0.25, growth_interval: 10, _growth_tracker: 3 });
    expect(s.stateDict()).toEqual({ scale: 128, growth_factor: 4, backoff_factor: 0.25, growth_interval: 10, _growth_tracker: 3 });
    expect(() => s.loadStateDict({})).toThrow(/source state dict is empty/);
  });

  it('fusedStep matches unscale + clipGradNorm + step bit for bit with a power-of-two scale', () => {
    const make = (type: 'SGD' | 'AdamW') => {
      const ps = [param([0.5, -1, 2]), param([0.25]), param([3, 4])];
      const opt = type === 'SGD' ? new SGD(ps, { lr: 0.1, momentum: 0.9 }) : new AdamW(ps, { lr: 0.01 });
      return { ps, opt, scaler: new GradScaler({ initScale: 1024, growthInterval: 1 }) };
    };
    const grads = [[300, -2000, 50], null, [1e4, -7]];
    for (const type of ['SGD', 'AdamW'] as const) {
      const a = make(type);
      const b = make(type);
      for (let step = 0; step < 3; step++) {
        for (const m of [a, b]) m.ps.forEach((p, i) => p.setGrad(grads[i] && grads[i].map((g) => g * (step + 1))));
        a.scaler.unscale(a.opt);
        const norm = clipGradNorm(a.ps, 1.5);
        expect(a.scaler.step(a.opt).skipped).toBe(false);
        const fused = b.scaler.fusedStep(b.opt, { maxNorm: 1.5 });
        expect(fused).toEqual({ skipped: false, totalNorm: norm });
        for (const m of [a, b]) m.scaler.update();
        expect(b.ps.map((p) => Array.from(p.data))).toEqual(a.ps.map((p) => Array.from(p.data)));
        expect(b.scaler.getScale()).toBe(a.scaler.getScale());
      }
      // The fused step leaves the stored gradients scaled.
      expect(b.ps[1].hasGrad).toBe(false);
    }
  });

  it('fusedStep skips on inf/NaN, works without clipping and when disabled', () => {
    const { p, opt, scaler } = setup({ initScale: 4 });
    p.setGrad([Infinity, 1]);
    expect(scaler.fusedStep(opt, { maxNorm: 1 })).toEqual({ skipped: true, totalNorm: Infinity });
    expect(Array.from(p.data)).toEqual([1, 2]);
    scaler.update();
    expect(scaler.getScale()).toBe(2);
    p.setGrad([2, -2]);
    expect(scaler.fusedStep(opt)).toEqual({ skipped: false, totalNorm: null });
    expect(Array.from(p.data)).toEqual([0, 3]); // lr 1, gradient [2, -2] / 2
    expect(Array.from(p.grad)).toEqual([2, -2]);
    expect(() => scaler.fusedStep(opt)).toThrow(/cannot follow them before update/);
    scaler.update();
    p.setGrad([Infinity, 0]);
    expect(() => scaler.fusedStep(opt, { maxNorm: 1, errorIfNonfinite: true })).toThrow(/non-finite, so it cannot be clipped/);
    const off = new GradScaler({ enabled: false });
    const q = param([0, 0], [3, 4]);
    const sgd = new SGD([q], { lr: 1 });
    expect(off.fusedStep(sgd, { maxNorm: 1 })).toEqual({ skipped: false, totalNorm: 5 });
    expect(q.data[0]).toBeCloseTo(-0.6, 5);
  });

  it('validates its options', () => {
    expect(() => new GradScaler({ growthFactor: 1 })).toThrow('GradScaler: The growth factor must be > 1.0 (got 1).');
    expect(() => new GradScaler({ backoff_factor: 1.5 })).toThrow(/backoff factor must be < 1.0/);
    expect(() => new GradScaler({ growth_interval: 2.5 })).toThrow(/'growth_interval' must be an integer/);
    expect(() => new GradScaler({ init_scal: 2 })).toThrow(/unexpected argument 'init_scal'/);
    expect(() => new GradScaler({ enabled: false, growthFactor: 0.5 })).not.toThrow();
  });
});

/** fc Linear(3, 2) + bn BatchNorm1d(2), as the ema conformance cases use. */
class Net extends Module {
  readonly fc = this.addModule('fc', new Linear({ inFeatures: 3, outFeatures: 2, rng: new Rng(1) }));
  readonly bn = this.addModule('bn', new BatchNorm1d({ numFeatures: 2 }));
}

function state(ema: BaseAveragedModel, name: string): number[] {
  const t = ema.averagedTensors().find((x) => x.name === name);
  if (!t) throw new Error(`no ${name}`);
  return Array.from(t.data);
}

describe('averaged models', () => {
  it('BatchNorm1d declares torch parameters and buffers', () => {
    const bn = new BatchNorm1d({ numFeatures: 2 });
    expect(bn.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    expect(bn.namedBuffers().map(([n, b]) => [n, b.dtype, Array.from(b.data)])).toEqual([
      ['running_mean', 'float32', [0, 0]],
      ['running_var', 'float32', [1, 1]],
      ['num_batches_tracked', 'int64', [0]],
    ]);
    expect(bn.attrs()).toEqual({ num_features: 2, eps: 1e-5, momentum: 0.1, affine: true, track_running_stats: true });
  });

  it('ExponentialMovingAverage copies first, then lerps by the momentum and copies the buffers', () => {
    const net = new Net();
    const ema = new ExponentialMovingAverage(net, { momentum: 0.25 });
    net.fc.bias!.data.set([4, 8]);
    net.bn.runningMean!.data.set([1, 1]);
    ema.updateParameters(net); // copies
    expect(state(ema, 'fc.bias')).toEqual([4, 8]);
    net.fc.bias!.data.set([0, 0]);
    net.bn.runningMean!.data.set([2, 2]);
    net.bn.numBatchesTracked!.data[0] = 7;
    ema.updateParameters(net);
    expect(state(ema, 'fc.bias')).toEqual([3, 6]);
    expect(state(ema, 'bn.running_mean')).toEqual([2, 2]); // copied, not averaged
    expect(state(ema, 'bn.num_batches_tracked')).toEqual([7]);
    expect(ema.steps).toBe(2);
  });

  it('averages buffers too with updateBuffers, but integer buffers keep their first copy; interval skips calls', () => {
    const net = new Net();
    const ema = new ExponentialMovingAverage(net, { momentum: 0.5, interval: 2, updateBuffers: true });
    net.bn.runningMean!.data.set([4, 4]);
    net.bn.numBatchesTracked!.data[0] = 1;
    ema.updateParameters(net); // k = 0: copy
    net.bn.runningMean!.data.set([0, 0]);
    net.bn.numBatchesTracked!.data[0] = 2;
    ema.updateParameters(net); // k = 1: not on the interval
    expect(state(ema, 'bn.running_mean')).toEqual([4, 4]);
    ema.updateParameters(net); // k = 2: lerp by 0.5
    expect(state(ema, 'bn.running_mean')).toEqual([2, 2]);
    expect(state(ema, 'bn.num_batches_tracked')).toEqual([1]);
  });

  it('MomentumAnnealingEMA uses max(momentum, gamma / (gamma + steps)); SWA keeps the running mean', () => {
    const store = (v: number) => new ParameterStore([['w', param([v])]]);
    const ann = new MomentumAnnealingEMA(store(0), { momentum: 0.01, gamma: 1 });
    ann.updateParameters(store(0));
    ann.updateParameters(store(8)); // k = 1: weight 1 / 2
    expect(state(ann, 'w')).toEqual([4]);
    ann.updateParameters(store(7)); // k = 2: weight 1 / 3
    expect(state(ann, 'w')[0]).toBeCloseTo(5, 6);
    const swa = new StochasticWeightAverage(store(0), { interval: 2 });
    for (const v of [2, 100, 4, 100, 9]) swa.updateParameters(store(v)); // averages calls 0, 2, 4
    expect(state(swa, 'w')[0]).toBeCloseTo(5, 6);
    expect(swa.steps).toBe(5);
  });

  it('builds from MODELS with the model as an argument, and validates as MMEngine', () => {
    const net = new Net();
    const ema = MODELS.build<ExponentialMovingAverage>({ type: 'ExponentialMovingAverage', momentum: 0.1, update_buffers: true }, 'ema', { model: net });
    expect(ema).toBeInstanceOf(ExponentialMovingAverage);
    expect([ema.momentum, ema.updateBuffers, ema.interval, ema.typeName]).toEqual([0.1, true, 1, 'ExponentialMovingAverage']);
    expect(MODELS.build<MomentumAnnealingEMA>({ type: 'MomentumAnnealingEMA', gamma: 4 }, 'ema', { model: net }).gamma).toBe(4);
    expect(() => MODELS.build({ type: 'StochasticWeightAverage', momentum: 0.1 }, 'ema', { model: net })).toThrow(/unexpected argument 'momentum'/);
    expect(() => new ExponentialMovingAverage(net, { momentum: 1 })).toThrow(/momentum must be in range \(0.0, 1.0\)/);
    expect(() => new MomentumAnnealingEMA(net, { gamma: 0 })).toThrow(/gamma must be greater than 0/);
    expect(() => new StochasticWeightAverage(net, { interval: 0 })).toThrow(/interval must be a positive integer/);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    new ExponentialMovingAverage(net, { momentum: 0.9 });
    expect(warn.mock.calls[0][0]).toMatch(/usually a small number/);
    warn.mockRestore();
    const other = new ParameterStore([['fc.weight', param([1])]]);
    expect(() => ema.updateParameters(other)).toThrow(/'fc.weight' is float32 with 1 elements in the model, float32 with 6 in the average/);
    expect(() => ema.forwardBackward()).toThrow(/not trained/);
  });

  it('saves and loads its state as MMEngine (steps and module.* tensors)', () => {
    const net = new Net();
    const ema = new StochasticWeightAverage(net);
    ema.updateParameters(net);
    const sd = ema.stateDict();
    expect(Object.keys(sd)).toEqual(['steps', 'module.fc.weight', 'module.fc.bias', 'module.bn.weight', 'module.bn.bias', 'module.bn.running_mean', 'module.bn.running_var', 'module.bn.num_batches_tracked']);
    const copy = new StochasticWeightAverage(new Net());
    copy.loadStateDict(sd);
    expect(copy.steps).toBe(1);
    expect(state(copy, 'fc.weight')).toEqual(Array.from(net.fc.weight.data));
    expect(() => copy.loadStateDict({ steps: 1 })).toThrow(/needs 'module.fc.weight'/);
  });

  it('predicts with the averaged weights and leaves the source model as it was', () => {
    const model = new MLPClassifier({ inFeatures: 2, hiddenSizes: [], numClasses: 2 });
    const [[, w], [, b]] = model.namedParameters();
    w.data.set([1, 0, 0, 1]);
    b.data.set([0, 0]);
    const ema = new ExponentialMovingAverage<ClassificationBatch, ClassificationOutput>(model, { momentum: 0.5 });
    w.data.set([0, 1, 1, 0]); // the source now swaps the classes; the average still holds the first weights
    const batch = { inputs: Float32Array.of(1, 0), labels: Uint32Array.of(0), size: 1, features: 2 };
    expect(ema.predict(batch)[0].predLabel).toBe(0);
    expect(model.predict(batch)[0].predLabel).toBe(1);
    expect(Array.from(w.data)).toEqual([0, 1, 1, 0]);
  });
});
