import { describe, expect, it } from 'vitest';
import { Adam, AdamW, AnvilError, native, type Optimizer, OPTIMIZERS, Parameter, SGD } from '../ts';

const f32 = (xs: number[]) => Array.from(new Float32Array(xs));

/** Fresh parameters with fixed values: shapes [3] and [2, 2]. */
function makeParams(): Parameter[] {
  return [new Parameter([3], { data: [0.5, -1, 2] }), new Parameter([2, 2], { data: [1, 0.25, -0.75, 3] })];
}

const GRADS = [
  [
    [0.1, -0.2, 0.3],
    [1, -1, 0.5, 0],
  ],
  [
    [-0.4, 0.2, 0.05],
    [0.3, 0.1, -2, 0.7],
  ],
  [
    [0.2, 0.2, -0.1],
    [-0.5, 0.6, 0.2, -0.3],
  ],
];

/** Steps `opt` with GRADS and returns the final values of every parameter. */
function run(opt: Optimizer, params: Parameter[]): number[][] {
  for (const grads of GRADS) {
    params.forEach((p, i) => p.setGrad(grads[i]));
    opt.step();
  }
  return params.map((p) => Array.from(p.data));
}

describe('optimizers: TS API and registry agree', () => {
  const cases: Array<[string, (ps: Parameter[]) => Optimizer, Record<string, unknown>]> = [
    ['SGD', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true }), { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 0.01, nesterov: true }],
    ['Adam', (ps) => new Adam(ps, { lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.1, amsgrad: true }), { type: 'Adam', lr: 0.01, betas: [0.8, 0.99], weight_decay: 0.1, amsgrad: true }],
    ['AdamW', (ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.05 }), { type: 'AdamW', lr: 0.01, weight_decay: 0.05 }],
  ];

  it.each(cases)('%s gives identical parameters and groups both ways', (_name, make, cfg) => {
    const pa = makeParams();
    const pb = makeParams();
    const a = make(pa);
    const b = OPTIMIZERS.build<Optimizer>({ ...cfg, params: pb });
    expect(b.type).toBe(a.type);
    const ra = run(a, pa);
    expect(ra).toEqual(run(b, pb));
    expect(ra[0]).not.toEqual(f32([0.5, -1, 2]));
    const { params: _a, ...ga } = a.paramGroups[0];
    const { params: _b, ...gb } = b.paramGroups[0];
    expect(ga).toEqual(gb);
  });

  it('AdamW and Adam group defaults use torch keys', () => {
    const { params, ...group } = new AdamW(makeParams()).paramGroups[0];
    expect(params).toHaveLength(2);
    expect(group).toEqual({
      lr: 0.001,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weight_decay: 0.01,
      amsgrad: false,
      maximize: false,
      decoupled_weight_decay: true,
      foreach: null,
      capturable: false,
      differentiable: false,
      fused: null,
    });
    const adam = new Adam(makeParams()).paramGroups[0];
    expect(adam.weight_decay).toBe(0);
    expect(adam.decoupled_weight_decay).toBe(false);
    const { params: _p, ...sgd } = new SGD(makeParams(), { lr: 0.1 }).paramGroups[0];
    expect(sgd).toEqual({ lr: 0.1, momentum: 0, dampening: 0, weight_decay: 0, nesterov: false, maximize: false, foreach: null, differentiable: false, fused: null });
  });
});

describe('optimizers: param groups and steps', () => {
  it('updates each group with its own lr (plain SGD by hand)', () => {
    const [a, b] = makeParams();
    const opt = new SGD([{ params: [a], lr: 0.5 }, { params: [b] }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.5, 0.1]);
    a.setGrad([0.1, -0.2, 0.3]);
    b.setGrad([1, -1, 0.5, 0]);
    opt.step();
    expect(Array.from(a.data)).toEqual(f32([0.5 - 0.5 * 0.1, -1 + 0.5 * 0.2, 2 - 0.5 * 0.3]));
    expect(Array.from(b.data)).toEqual(f32([1 - 0.1, 0.25 + 0.1, -0.75 - 0.05, 3]));
  });

  it('reads camelCase keys in groups and lets them override defaults', () => {
    const [a, b] = makeParams();
    const opt = new SGD([{ params: [a] }, { params: [b], weightDecay: 0.5, lr: 0.2 }], { lr: 0.1 });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.2, weight_decay: 0.5, momentum: 0 });
    expect(opt.paramGroups[0].weight_decay).toBe(0);
    b.setGrad([0, 0, 0, 0]);
    opt.step();
    // Only weight decay moves b: p -= lr * wd * p.
    expect(Array.from(b.data)).toEqual(f32([1, 0.25, -0.75, 3].map((x) => x - 0.2 * 0.5 * x)));
  });

  it('skips a parameter without gradient (step stays 0, values unchanged)', () => {
    const [a, b] = makeParams();
    const opt = new AdamW([a, b], { lr: 0.1, weightDecay: 0.5 });
    a.setGrad([1, 1, 1]);
    opt.step();
    opt.step();
    expect(a.step).toBe(2);
    expect(b.step).toBe(0);
    expect(Array.from(b.data)).toEqual(f32([1, 0.25, -0.75, 3]));
    expect(a.data[0]).not.toBeCloseTo(0.5, 3);
  });

  it('applies a changed group.lr at the next step, as a scheduler would', () => {
    const p = new Parameter([2], { data: [1, 2] });
    const opt = new SGD([p], { lr: 0.1 });
    p.setGrad([1, -1]);
    opt.step();
    opt.paramGroups[0].lr = 0.01;
    opt.step();
    expect(Array.from(p.data)).toEqual([Math.fround(Math.fround(1 - 0.1) - 0.01), Math.fround(Math.fround(2 + 0.1) + 0.01)]);
    opt.paramGroups[0].lr = -1;
    expect(() => opt.step()).toThrow(/Invalid learning rate: -1/);
  });

  it('momentum SGD matches the torch recurrence by hand', () => {
    const p = new Parameter([1], { data: [1] });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
    p.setGrad([2]);
    opt.step(); // buf = g = 2 (no dampening on the first step); p = 1 - 0.2
    p.setGrad([1]);
    opt.step(); // buf = 0.9 * 2 + 0.5 * 1 = 2.3; p = 0.8 - 0.23
    expect(p.data[0]).toBeCloseTo(0.57, 6);
    expect(opt.bucket(0).stateView('momentum_buffer', 0)[0]).toBeCloseTo(2.3, 6);
  });

  it('zeroGrad removes every gradient', () => {
    const ps = makeParams();
    const opt = new SGD(ps, { lr: 0.1 });
    ps.forEach((p) => p.accumulateGrad().fill(1));
    opt.zeroGrad();
    expect(ps.map((p) => p.hasGrad)).toEqual([false, false]);
    expect(Array.from(ps[1].grad)).toEqual([0, 0, 0, 0]);
  });
});

describe('optimizers: errors', () => {
  const p = () => [new Parameter([2])];

  it('refuses unknown options, naming the accepted ones', () => {
    expect(() => new SGD(p(), { lr: 0.1, momentun: 0.9 } as Record<string, unknown>)).toThrow(AnvilError);
    expect(() => new SGD(p(), { lr: 0.1, momentun: 0.9 } as Record<string, unknown>)).toThrow(
      /SGD: unexpected argument 'momentun' \(accepted: lr, momentum, dampening/,
    );
    expect(() => OPTIMIZERS.build({ type: 'AdamW', lr: 0.1, weightdecay: 0.1, params: p() }, 'optim_wrapper.optimizer')).toThrow(
      /^optim_wrapper\.optimizer \(AdamW\): AdamW: unexpected argument 'weightdecay'/,
    );
    // torch's AdamW keeps decoupled_weight_decay=True in its groups but has no such argument.
    for (const options of [{ decoupled_weight_decay: true }, { decoupledWeightDecay: false }]) {
      expect(() => new AdamW(p(), options as Record<string, unknown>)).toThrow(/^AdamW: unexpected argument 'decoupled_weight_decay'/);
    }
    expect(new Adam(p(), { decoupledWeightDecay: true }).paramGroups[0].decoupled_weight_decay).toBe(true);
  });

  it('checks hyper-parameters with torch wording', () => {
    expect(() => new SGD(p(), { lr: -0.1 })).toThrow(new AnvilError('SGD: Invalid learning rate: -0.1'));
    expect(() => new Adam(p(), { lr: -1 })).toThrow(new AnvilError('Adam: Invalid learning rate: -1'));
    expect(() => new Adam(p(), { betas: [1, 0.999] })).toThrow(new AnvilError('Adam: Invalid beta parameter at index 0: 1'));
    expect(() => new AdamW(p(), { betas: [0.9, -0.1] })).toThrow(new AnvilError('AdamW: Invalid beta parameter at index 1: -0.1'));
    expect(() => new AdamW(p(), { betas: [0.9] as unknown as [number, number] })).toThrow(/'betas' must be a pair of numbers/);
    expect(() => new AdamW(p(), { eps: -1e-8 })).toThrow(/Invalid epsilon value/);
    expect(() => new SGD(p(), { lr: 0.1, nesterov: true })).toThrow(new AnvilError('SGD: Nesterov momentum requires a momentum and zero dampening'));
    expect(() => new SGD(p(), { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/Nesterov momentum/);
    expect(() => new SGD(p(), { lr: 'fast' } as Record<string, unknown>)).toThrow(new AnvilError(`SGD: 'lr' must be a number, got "fast"`));
    expect(() => new AdamW(p(), { eps: 'tiny' } as Record<string, unknown>)).toThrow(new AnvilError(`AdamW: 'eps' must be a number, got "tiny"`));
  });

  it('refuses a parameter in two groups and empty parameter lists', () => {
    const [a, b] = makeParams();
    expect(() => new SGD([{ params: [a, b] }, { params: [b] }], { lr: 0.1 })).toThrow(
      new AnvilError('SGD: some parameters appear in more than one parameter group'),
    );
    expect(() => new Adam([])).toThrow(/empty parameter list/);
    expect(() => OPTIMIZERS.build({ type: 'SGD', lr: 0.1 })).toThrow(/'params' must be a list/);
  });
});

describe('optimizers: stateDict', () => {
  it('keys state by parameter index over all groups and lists params as indices', () => {
    const [a, b] = makeParams();
    const c = new Parameter([2], { data: [1, 1] });
    const opt = new Adam([{ params: [a, b] }, { params: [c], lr: 0.5 }], { lr: 0.1 });
    a.setGrad([1, 2, 3]);
    b.setGrad([1, 1, 1, 1]);
    opt.step();
    a.setGrad(null); // gradients persist across steps until removed, as in torch
    b.setGrad([1, 1, 1, 1]);
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '1', '2']);
    expect(sd.state[0].step).toBe(1);
    expect(sd.state[1].step).toBe(2);
    expect(sd.state[2]).toEqual({});
    expect(Object.keys(sd.state[1]).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'step']);
    // exp_avg = (1 - beta1) * g after one step.
    expect(Array.from(sd.state[0].exp_avg as Float32Array).map((x) => +x.toFixed(6))).toEqual([0.1, 0.2, 0.3]);
    expect(sd.param_groups.map((g) => g.params)).toEqual([[0, 1], [2]]);
    expect(sd.param_groups[1]).toMatchObject({ lr: 0.5, betas: [0.9, 0.999], weight_decay: 0 });
    // A copy: later steps do not change a taken state dict.
    const copy = (sd.state[0].exp_avg as Float32Array).slice();
    a.setGrad([5, 5, 5]);
    opt.step();
    expect(sd.state[0].exp_avg).toEqual(copy);
  });

  it('SGD reports momentum_buffer and no step', () => {
    const [a] = makeParams();
    const opt = new SGD([a], { lr: 0.1, momentum: 0.9 });
    a.setGrad([1, 2, 3]);
    opt.step();
    const st = opt.stateDict().state[0];
    expect(Object.keys(st)).toEqual(['momentum_buffer']);
    expect(Array.from(st.momentum_buffer as Float32Array)).toEqual([1, 2, 3]);
  });
});

describe('native layer', () => {
  const sgd = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
  const arrays = (params: Float32Array, state: Float32Array) => ({
    params,
    grads: new Float32Array([1, 1, 1, 1]),
    states: [state],
    offsets: Uint32Array.of(0, 4),
    steps: new Uint32Array(1),
    hasGrad: Uint8Array.of(1),
  });

  it('refuses overlapping views of one buffer with an Error, not a crash', () => {
    const buf = new Float32Array(8);
    expect(() => native.sgdStep(arrays(buf.subarray(0, 4), buf.subarray(2, 6)), sgd)).toThrow(/overlap/);
    expect(Array.from(buf)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const params = new Float32Array(4);
    expect(() => native.sgdStep({ ...arrays(params, new Float32Array(4)), grads: params }, sgd)).toThrow(/'params' and 'grads' overlap/);
  });

  it('checks lengths and offsets', () => {
    const a = arrays(new Float32Array(4), new Float32Array(4));
    expect(() => native.sgdStep({ ...a, offsets: Uint32Array.of(0, 10) }, sgd)).toThrow('offsets end at 10, params hold 4');
    expect(() => native.sgdStep({ ...a, grads: new Float32Array(3) }, sgd)).toThrow('grads hold 3 elements, params hold 4');
  });

  it('accepts adjacent, disjoint views of one buffer', () => {
    const buf = new Float32Array(8);
    const a = arrays(buf.subarray(0, 4), buf.subarray(4, 8));
    native.sgdStep(a, sgd);
    expect(Array.from(buf)).toEqual(f32([-0.1, -0.1, -0.1, -0.1, 1, 1, 1, 1]));
    expect(a.steps[0]).toBe(1);
  });
});
