import { describe, expect, it } from 'vitest';
import { Adam, AnvilError, Bucket, packBucket, Parameter, ParameterStore } from '../ts';

describe('Parameter', () => {
  it('exposes data and grad as views of its shape', () => {
    const p = new Parameter([2, 3], { data: [1, 2, 3, 4, 5, 6] });
    expect(p.numel).toBe(6);
    expect(p.shape).toEqual([2, 3]);
    expect(Array.from(p.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(p.grad)).toEqual([0, 0, 0, 0, 0, 0]);
    // Views: writing through one handle is seen by the next read.
    p.data[4] = -7;
    expect(p.data[4]).toBe(-7);
    expect(p.location.bucket.params[4]).toBe(-7);
    expect(p.requiresGrad).toBe(true);
    expect(new Parameter([3], { requiresGrad: false }).requiresGrad).toBe(false);
  });

  it('tracks whether it has a gradient, as torch does with grad is None', () => {
    const p = new Parameter([3]);
    expect(p.hasGrad).toBe(false);
    const g = p.accumulateGrad();
    expect(p.hasGrad).toBe(true);
    g[1] += 2;
    p.accumulateGrad()[1] += 3;
    expect(Array.from(p.grad)).toEqual([0, 5, 0]);
    p.setGrad([1, 2, 3]);
    expect(Array.from(p.grad)).toEqual([1, 2, 3]);
    p.setGrad(null);
    expect(p.hasGrad).toBe(false);
    expect(Array.from(p.grad)).toEqual([0, 0, 0]);
  });

  it('rejects bad shapes and wrong data lengths', () => {
    expect(() => new Parameter([2, -1])).toThrow(AnvilError);
    expect(() => new Parameter([2.5])).toThrow(/non-negative integers/);
    expect(() => new Parameter([2], { data: [1, 2, 3] })).toThrow(/data holds 3 values, the shape needs 2/);
    expect(() => new Parameter([2]).setGrad([1])).toThrow(/grad holds 1 values, the shape needs 2/);
  });
});

describe('packBucket', () => {
  it('moves parameters into one bucket keeping values, grads and has-grad flags', () => {
    const a = new Parameter([2], { data: [1, 2] });
    const b = new Parameter([2, 2], { data: [3, 4, 5, 6] });
    const c = new Parameter([1], { data: [7] });
    b.setGrad([0.1, 0.2, 0.3, 0.4]);
    const bucket = packBucket([a, b, c]);
    expect(bucket.size).toBe(3);
    expect(Array.from(bucket.offsets)).toEqual([0, 2, 6, 7]);
    expect(Array.from(bucket.params)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(bucket.hasGrad)).toEqual([0, 1, 0]);
    expect(bucket.grads[2]).toBeCloseTo(0.1, 7);
    for (const p of [a, b, c]) expect(p.location.bucket).toBe(bucket);
    expect(Array.from(c.data)).toEqual([7]);
    expect(b.hasGrad).toBe(true);
    expect(a.hasGrad).toBe(false);
    // Handles now write into the shared bucket.
    c.data[0] = 70;
    expect(bucket.params[6]).toBe(70);
  });

  it('keeps steps and optimizer state when packing again after an Adam step', () => {
    const a = new Parameter([2], { data: [1, -1] });
    const b = new Parameter([3], { data: [0.5, 0, 2] });
    const untouched = new Parameter([1], { data: [9] });
    const adam = new Adam([a, b], { lr: 0.1 });
    a.setGrad([1, -2]);
    b.setGrad([0.5, 0.25, -4]);
    adam.step();
    const before = {
      a: Array.from(a.data),
      b: Array.from(b.data),
      expAvgB: Array.from(adam.bucket(0).stateView('exp_avg', 1)),
      expAvgSqA: Array.from(adam.bucket(0).stateView('exp_avg_sq', 0)),
    };
    // First Adam step moves each element by ~lr * sign(grad).
    expect(before.a[0]).toBeCloseTo(0.9, 5);
    expect(before.a[1]).toBeCloseTo(-0.9, 5);
    expect(before.expAvgB[2]).toBeCloseTo(-0.4, 6);

    const packed = packBucket([untouched, b, a]);
    expect(Array.from(packed.steps)).toEqual([0, 1, 1]);
    expect(b.step).toBe(1);
    expect(a.step).toBe(1);
    expect(untouched.step).toBe(0);
    expect(Array.from(a.data)).toEqual(before.a);
    expect(Array.from(b.data)).toEqual(before.b);
    expect(Array.from(untouched.data)).toEqual([9]);
    expect(Array.from(b.grad)).toEqual(Array.from(new Float32Array([0.5, 0.25, -4])));
    expect(packed.stateNames().sort()).toEqual(['exp_avg', 'exp_avg_sq']);
    expect(Array.from(packed.stateView('exp_avg', 1))).toEqual(before.expAvgB);
    expect(Array.from(packed.stateView('exp_avg_sq', 2))).toEqual(before.expAvgSqA);
    expect(Array.from(packed.stateView('exp_avg', 0))).toEqual([0]);
    expect(Array.from(packed.params)).toEqual([9, ...before.b, ...before.a]);
  });
});

describe('Bucket', () => {
  it('allocates views per tensor and zero-fills state on first use', () => {
    const bucket = new Bucket([{ shape: [2] }, { shape: [3] }]);
    bucket.params.set([1, 2, 3, 4, 5]);
    expect(Array.from(bucket.paramView(1))).toEqual([3, 4, 5]);
    expect(bucket.hasState('m')).toBe(false);
    expect(Array.from(bucket.stateView('m', 0))).toEqual([0, 0]);
    expect(bucket.hasState('m')).toBe(true);
    bucket.grads.fill(1);
    bucket.hasGrad.fill(1);
    bucket.zeroGrad();
    expect(Array.from(bucket.grads)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(bucket.hasGrad)).toEqual([0, 0]);
  });

  it('borrows arrays of the right length and refuses wrong lengths', () => {
    const params = new Float32Array([1, 2, 3, 4]);
    const grads = new Float32Array(4);
    const bucket = new Bucket([{ shape: [2, 2] }], { params, grads });
    expect(bucket.params).toBe(params);
    bucket.paramView(0)[0] = 10;
    expect(params[0]).toBe(10);
    expect(() => new Bucket([{ shape: [2, 2] }], { params: new Float32Array(3), grads })).toThrow(AnvilError);
    expect(() => new Bucket([{ shape: [2, 2] }], { params, grads: new Float32Array(5) })).toThrow(
      /borrowed arrays hold 4 params and 5 grads, the shapes need 4/,
    );
  });
});

describe('ParameterStore', () => {
  it('keeps named parameters in order and refuses duplicate names', () => {
    const w = new Parameter([2, 3]);
    const b = new Parameter([2]);
    const store = new ParameterStore([
      ['fc.weight', w],
      ['fc.bias', b],
    ]);
    expect(store.namedParameters().map(([n]) => n)).toEqual(['fc.weight', 'fc.bias']);
    expect(store.parameter('fc.bias')).toBe(b);
    expect(store.numel).toBe(8);
    expect(() => store.parameter('fc.nope')).toThrow(/no parameter named 'fc.nope'/);
    expect(() =>
      new ParameterStore([
        ['w', w],
        ['w', b],
      ]),
    ).toThrow(new AnvilError("ParameterStore: duplicate parameter name 'w'"));
  });
});
