import { describe, expect, it } from 'vitest';
import {
  Adadelta,
  Adagrad,
  Adam,
  Adamax,
  AnvilError,
  ASGD,
  Lamb,
  Lion,
  NAdam,
  native,
  type Optimizer,
  OPTIMIZERS,
  Parameter,
  RAdam,
  RMSprop,
  Rprop,
  SGD,
} from '../ts';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, type GradDtype } from '../ts/store/half';

type Make = (ps: Parameter[], options?: Record<string, unknown>) => Optimizer;

/** Every optimizer with options that exercise its state (all present in the stateDict). */
const ALL: Array<[string, Make, Record<string, unknown>]> = [
  ['SGD', (p, o) => new SGD(p, o), { lr: 0.1, momentum: 0.9, weight_decay: 0.01 }],
  ['Adam', (p, o) => new Adam(p, o), { lr: 0.01, amsgrad: true }],
  ['Adamax', (p, o) => new Adamax(p, o), { weight_decay: 0.1 }],
  ['NAdam', (p, o) => new NAdam(p, o), { weight_decay: 0.1, decoupled_weight_decay: true }],
  ['RAdam', (p, o) => new RAdam(p, o), { lr: 0.01 }],
  ['Adagrad', (p, o) => new Adagrad(p, o), { lr: 0.1, lr_decay: 0.01, initial_accumulator_value: 0.1 }],
  ['RMSprop', (p, o) => new RMSprop(p, o), { centered: true, momentum: 0.9, weight_decay: 0.01 }],
  ['Adadelta', (p, o) => new Adadelta(p, o), {}],
  ['ASGD', (p, o) => new ASGD(p, o), { lr: 0.05, t0: 1 }],
  ['Rprop', (p, o) => new Rprop(p, o), {}],
  ['Lion', (p, o) => new Lion(p, o), { weight_decay: 0.1 }],
  ['Lamb', (p, o) => new Lamb(p, o), { max_grad_norm: 2 }],
];

/** Gradients exactly representable in float16 and bfloat16 (few mantissa bits, moderate range). */
const GRADS = [
  [[0.5, -1.25, 2], [0.125, -3, 0.75, -0.0625]],
  [[-0.25, 1.5, -2], [4, 0.375, -0.5, 1]],
  [[1, 1, -0.75], [-2.5, 0.25, 6, -1.5]],
];

function makeParams(gradDtype?: GradDtype): Parameter[] {
  return [new Parameter([3], { data: [0.5, -1, 2], gradDtype }), new Parameter([2, 2], { data: [1, 0.25, -0.75, 3], gradDtype })];
}

/** Steps `make` over GRADS (each gradient times `gradFactor`) and returns the parameters' values. */
function run(make: Make, options: Record<string, unknown>, gradDtype?: GradDtype, gradFactor = 1, gradScale?: number): number[][] {
  const params = makeParams(gradDtype);
  const opt = make(params, options);
  for (const grads of GRADS) {
    params.forEach((p, i) => p.setGrad(grads[i].map((g) => g * gradFactor)));
    opt.step(gradScale === undefined ? undefined : { gradScale });
  }
  return params.map((p) => Array.from(p.data));
}

describe('optimizers: torch defaults in param_groups', () => {
  // torch 2.15: `list(torch.optim.X([p]).param_groups[0].items())`, in torch's key order.
  const TORCH: Array<[Make, Record<string, unknown>]> = [
    [(p) => new Adamax(p), { lr: 0.002, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, foreach: null, maximize: false, differentiable: false, capturable: false }],
    [(p) => new NAdam(p), { lr: 0.002, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, momentum_decay: 0.004, decoupled_weight_decay: false, maximize: false, foreach: null, capturable: false, differentiable: false }],
    [(p) => new RAdam(p), { lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, maximize: false, foreach: null, capturable: false, decoupled_weight_decay: false, differentiable: false }],
    [(p) => new Adagrad(p), { lr: 0.01, lr_decay: 0, eps: 1e-10, weight_decay: 0, initial_accumulator_value: 0, foreach: null, maximize: false, differentiable: false, fused: null }],
    [(p) => new RMSprop(p), { lr: 0.01, momentum: 0, alpha: 0.99, eps: 1e-8, centered: false, weight_decay: 0, capturable: false, foreach: null, maximize: false, differentiable: false }],
    [(p) => new Adadelta(p), { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0, maximize: false, capturable: false, foreach: null, differentiable: false }],
    [(p) => new ASGD(p), { lr: 0.01, lambd: 0.0001, alpha: 0.75, t0: 1000000.0, weight_decay: 0, foreach: null, maximize: false, differentiable: false, capturable: false }],
    [(p) => new Rprop(p), { lr: 0.01, etas: [0.5, 1.2], step_sizes: [1e-6, 50], foreach: null, maximize: false, differentiable: false, capturable: false }],
    // Beyond torch: timm's Lion and MMPretrain's Lamb.
    [(p) => new Lion(p), { lr: 1e-4, betas: [0.9, 0.99], weight_decay: 0, maximize: false, foreach: null }],
    [(p) => new Lamb(p), { lr: 1e-3, bias_correction: true, betas: [0.9, 0.999], eps: 1e-6, weight_decay: 0.01, grad_averaging: true, max_grad_norm: 1.0, trust_clip: false, always_adapt: false }],
  ];

  it.each(TORCH)('%# group holds exactly torch\'s keys, values and order', (make, expected) => {
    const { params, ...group } = make(makeParams()).paramGroups[0];
    expect(params).toHaveLength(2);
    expect(Object.keys(group)).toEqual(Object.keys(expected));
    expect(group).toEqual(expected);
  });

  it('builds every type from the registry, as the TS classes do', () => {
    for (const [type, make, options] of ALL) {
      const viaRegistry = run((p) => OPTIMIZERS.build<Optimizer>({ type, ...options, params: p }), {});
      expect(viaRegistry, type).toEqual(run(make, options));
    }
    const a = new NAdam(makeParams(), { momentumDecay: 0.01, decoupledWeightDecay: true }).paramGroups[0];
    expect([a.momentum_decay, a.decoupled_weight_decay]).toEqual([0.01, true]);
    const b = new Rprop(makeParams(), { stepSizes: [1e-5, 1] }).paramGroups[0];
    expect(b.step_sizes).toEqual([1e-5, 1]);
  });
});

describe('optimizers: validation with torch wording', () => {
  const p = () => [new Parameter([2])];
  const cases: Array<[() => unknown, string]> = [
    [() => new Adamax(p(), { lr: -1 }), 'Adamax: Invalid learning rate: -1'],
    [() => new Adamax(p(), { betas: [0.9, 1] }), 'Adamax: Invalid beta parameter at index 1: 1'],
    [() => new NAdam(p(), { momentumDecay: -0.1 }), 'NAdam: Invalid momentum_decay value: -0.1'],
    [() => new NAdam(p(), { eps: -1 }), 'NAdam: Invalid epsilon value: -1'],
    [() => new RAdam(p(), { weightDecay: -1 }), 'RAdam: Invalid weight_decay value: -1'],
    [() => new Adagrad(p(), { lrDecay: -1 }), 'Adagrad: Invalid lr_decay value: -1'],
    [() => new Adagrad(p(), { initialAccumulatorValue: -1 }), 'Adagrad: Invalid initial_accumulator_value value: -1'],
    [() => new RMSprop(p(), { alpha: -1 }), 'RMSprop: Invalid alpha value: -1'],
    [() => new RMSprop(p(), { momentum: -1 }), 'RMSprop: Invalid momentum value: -1'],
    [() => new Adadelta(p(), { rho: 1.5 }), 'Adadelta: Invalid rho value: 1.5'],
    [() => new ASGD(p(), { lambd: -1 }), 'ASGD: Invalid lambd value: -1'],
    [() => new Rprop(p(), { etas: [1.5, 2] }), 'Rprop: Invalid eta values: 1.5, 2'],
    [() => new Lion(p(), { betas: [1, 0.99] }), 'Lion: Invalid beta parameter at index 0: 1'],
    [() => new Lamb(p(), { maxGradNorm: -1 }), 'Lamb: max_grad_norm must be a positive number or null, got -1'],
  ];

  it.each(cases)('%#: %s', (make, message) => {
    expect(make).toThrow(new AnvilError(message));
  });

  it('refuses unknown options and a non-number gradScale', () => {
    expect(() => new Lion(p(), { amsgrad: true } as Record<string, unknown>)).toThrow(/Lion: unexpected argument 'amsgrad'/);
    const opt = new Adamax(p());
    expect(() => opt.step({ gradScale: NaN })).toThrow(new AnvilError('Adamax: gradScale must be a number, got NaN'));
  });

  it('checks changed group values again at the next step', () => {
    const ps = p();
    const opt = new Rprop(ps);
    ps[0].setGrad([1, 1]);
    opt.paramGroups[0].etas = [0.5, 0.9];
    expect(() => opt.step()).toThrow(/Invalid eta values: 0.5, 0.9/);
  });
});

describe('optimizers: parameters without gradient', () => {
  it.each(ALL)('%s skips them: no state, no step, values unchanged', (type, make, options) => {
    const [a, b] = makeParams();
    const opt = make([a, b], options);
    for (const grads of GRADS) {
      a.setGrad(grads[0]);
      opt.step();
    }
    expect(Array.from(b.data)).toEqual([1, 0.25, -0.75, 3]);
    expect(b.step).toBe(0);
    const state = opt.stateDict().state;
    if (type === 'Adagrad') {
      // torch creates Adagrad's state at construction, for every parameter.
      expect(state[1].step).toBe(0);
      expect(Array.from(state[1].sum as Float32Array)).toEqual([0.1, 0.1, 0.1, 0.1].map(Math.fround));
    } else {
      expect(state[1]).toEqual({});
    }
    expect(a.step).toBe(3);
  });
});

describe('optimizers: state in torch key names', () => {
  const KEYS: Record<string, string[]> = {
    SGD: ['momentum_buffer'],
    Adam: ['step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
    Adamax: ['step', 'exp_avg', 'exp_inf'],
    NAdam: ['step', 'mu_product', 'exp_avg', 'exp_avg_sq'],
    RAdam: ['step', 'exp_avg', 'exp_avg_sq'],
    Adagrad: ['step', 'sum'],
    RMSprop: ['step', 'square_avg', 'momentum_buffer', 'grad_avg'],
    Adadelta: ['step', 'square_avg', 'acc_delta'],
    ASGD: ['step', 'eta', 'mu', 'ax'],
    Rprop: ['step', 'prev', 'step_size'],
    Lion: ['exp_avg'],
    Lamb: ['step', 'exp_avg', 'exp_avg_sq'],
  };

  it.each(ALL)('%s', (type, make, options) => {
    const params = makeParams();
    const opt = make(params, options);
    params.forEach((p, i) => p.setGrad(GRADS[0][i]));
    opt.step();
    const st = opt.stateDict().state[1];
    expect(Object.keys(st)).toEqual(KEYS[type]);
    for (const [k, v] of Object.entries(st)) {
      const scalar = k === 'step' || k === 'mu_product' || k === 'eta' || k === 'mu';
      expect(typeof v === 'number', k).toBe(scalar);
    }
  });

  it('NAdam mu_product and ASGD eta, mu are float32 values, set at the first step', () => {
    const [a] = makeParams();
    const nadam = new NAdam([a]);
    a.setGrad([1, 1, 1]);
    nadam.step();
    const mu = 0.9 * (1 - 0.5 * 0.96 ** 0.004);
    expect(nadam.stateDict().state[0].mu_product).toBe(Math.fround(mu));
    const [b] = makeParams();
    const asgd = new ASGD([b], { lr: 0.1, lambd: 0.5, t0: 0 });
    b.setGrad([1, 1, 1]);
    asgd.step();
    expect(asgd.stateDict().state[0]).toMatchObject({ eta: Math.fround(0.1 / 1.05 ** 0.75), mu: 1 });
  });

  it('keeps per-tensor state when groups are repacked after a hyper-parameter change', () => {
    const twoGroups = (ps: Parameter[], lr1: number) => new NAdam([{ params: [ps[0]] }, { params: [ps[1]], lr: lr1 }]);
    const a = makeParams();
    const b = makeParams();
    const shared = twoGroups(a, 0.002); // identical groups: one bucket
    const separate = twoGroups(b, 0.003); // two buckets from the start
    separate.paramGroups[1].lr = 0.002;
    for (const [k, grads] of GRADS.entries()) {
      if (k === 1) shared.paramGroups[1].lr = separate.paramGroups[1].lr = 0.01;
      a.forEach((p, i) => p.setGrad(grads[i]));
      b.forEach((p, i) => p.setGrad(grads[i]));
      shared.step();
      separate.step();
    }
    expect(a.map((p) => Array.from(p.data))).toEqual(b.map((p) => Array.from(p.data)));
    expect(shared.stateDict().state).toEqual(separate.stateDict().state);
  });
});

describe('optimizers: half-precision gradients and the gradient scale', () => {
  it.each(ALL)('%s: float16 and bfloat16 gradients give the float32 result exactly', (_type, make, options) => {
    const reference = run(make, options);
    expect(reference[0]).not.toEqual([0.5, -1, 2].map(Math.fround));
    expect(run(make, options, 'float16')).toEqual(reference);
    expect(run(make, options, 'bfloat16')).toEqual(reference);
  });

  it.each(ALL)('%s: gradScale multiplies the gradients as they are read', (_type, make, options) => {
    const reference = run(make, options);
    // Gradients stored 4x larger, read back at 1/4: exactly the reference (powers of two).
    expect(run(make, options, 'float32', 4, 0.25)).toEqual(reference);
    expect(run(make, options, 'float16', 4, 0.25)).toEqual(reference);
    expect(run(make, options, 'bfloat16', 4, 0.25)).toEqual(reference);
  });

  it('leaves the stored gradients as they were', () => {
    const ps = makeParams('float16');
    const opt = new SGD(ps, { lr: 0.1 });
    ps[0].setGrad([8, -8, 2]);
    const bits = Array.from(ps[0].gradBits());
    opt.step({ gradScale: 0.5 });
    expect(Array.from(ps[0].gradBits())).toEqual(bits);
    const [q] = makeParams();
    q.setGrad([4, -4, 1]);
    new SGD([q], { lr: 0.1 }).step();
    expect(Array.from(ps[0].data)).toEqual(Array.from(q.data));
  });

  it('half-precision parameters hold gradient bits, refuse float32 views and stay apart from float32 ones', () => {
    const [p] = makeParams('bfloat16');
    expect(p.gradDtype).toBe('bfloat16');
    p.setGrad([1, -2, 0.5]);
    expect(Array.from(p.gradBits())).toEqual([0x3f80, 0xc000, 0x3f00]);
    expect(p.hasGrad).toBe(true);
    expect(() => p.grad).toThrow(/the gradient is bfloat16 bits/);
    // Models add float32 into a staging copy, rounded into the bits when they are next read.
    const staged = p.accumulateGrad();
    expect(Array.from(staged)).toEqual([1, -2, 0.5]);
    staged[0] += 0.25;
    expect(Array.from(p.gradBits())).toEqual([0x3fa0, 0xc000, 0x3f00]);
    expect(() => new SGD([p, new Parameter([1])])).toThrow(/gradients of bfloat16 and float32 cannot share a bucket/);
    p.setGrad(null);
    expect(Array.from(p.gradBits())).toEqual([0, 0, 0]);
    expect(p.hasGrad).toBe(false);
  });
});

describe('Lion and Lamb (beyond torch.optim)', () => {
  it('Lion steps by lr times the sign of the interpolated momentum, after the decay', () => {
    const p = new Parameter([3], { data: [1, 1, 1] });
    const opt = new Lion([p], { lr: 0.1, weightDecay: 0.5 });
    p.setGrad([2, -2, 0]);
    opt.step();
    const decayed = Math.fround(Math.fround(1 - 0.1 * 0.5));
    const lr = Math.fround(0.1);
    expect(Array.from(p.data)).toEqual([decayed - lr, decayed + lr, decayed].map(Math.fround));
    expect(Array.from(opt.stateDict().state[0].exp_avg as Float32Array)).toEqual([0.02, -0.02, 0].map(Math.fround));
  });

  it('Lamb clips by the global gradient norm before the step', () => {
    const grads = [[3, 0, 0], [0, 4, 0, 0]]; // global norm 5
    const step = (maxGradNorm: number | null, firstScale: number) => {
      const ps = makeParams();
      const opt = new Lamb(ps, { lr: 0.1, maxGradNorm });
      ps.forEach((p, i) => p.setGrad(grads[i].map((g) => g * firstScale)));
      opt.step();
      // Two steps, so the clipped magnitude matters (bias-corrected moments of unequal gradients).
      ps.forEach((p, i) => p.setGrad(grads[i].map((g) => g * 0.1)));
      opt.step();
      return ps.flatMap((p) => Array.from(p.data));
    };
    const clipped = step(1, 1);
    const byHand = step(null, 1 / 5); // first step's norm is 5 -> / 5; the second's is 0.5 -> kept
    clipped.forEach((x, i) => expect(x).toBeCloseTo(byHand[i], 6));
    expect(step(null, 1)).not.toEqual(clipped);
  });
});

describe('half-precision bits', () => {
  it('encode float16 with round-to-nearest-even, subnormals, infinities and NaN', () => {
    expect([1, -2, 0.5, 65504, 2 ** -24, 0, -0].map(f32ToF16Bits)).toEqual([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0, 0x8000]);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie to even (down)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie to even (up)
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: tie to even 0
    expect(f32ToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
    for (const x of [1, -2, 0.5, 65504, 2 ** -24, 3 * 2 ** -20, 1.5, -Infinity]) expect(f16BitsToF32(f32ToF16Bits(x))).toBe(x);
  });

  it('encode bfloat16 with round-to-nearest-even', () => {
    expect([1, -2, 0.5].map(f32ToBf16Bits)).toEqual([0x3f80, 0xc000, 0x3f00]);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie to even (down)
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie to even (up)
    expect(f32ToBf16Bits(Infinity)).toBe(0x7f80);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
    expect(f32ToBf16Bits(3.3895313892515355e38)).toBe(0x7f7f); // the largest finite bfloat16
    for (const x of [1, -2, 0.5, 1.0078125, 3.3895313892515355e38, 2 ** -133, -Infinity]) expect(bf16BitsToF32(f32ToBf16Bits(x))).toBe(x);
  });
});

describe('native layer: gradient dtypes and per-tensor state', () => {
  const base = () => ({
    params: new Float32Array(2),
    grads: new Float32Array([1, 1]) as Float32Array | Uint16Array,
    states: [new Float32Array(2), new Float32Array(2)],
    tensorStates: [new Float64Array(1)],
    offsets: Uint32Array.of(0, 2),
    steps: new Uint32Array(1),
    hasGrad: Uint8Array.of(1),
  });
  const nadam = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, momentumDecay: 0.004, decoupledWeightDecay: false, maximize: false };

  it('refuses a dtype that does not match the array, and unknown dtypes', () => {
    expect(() => native.nadamStep({ ...base(), gradDtype: 'float16' }, nadam)).toThrow("gradDtype 'float16' needs grads as a Uint16Array of raw bits");
    expect(() => native.nadamStep({ ...base(), grads: new Uint16Array(2) }, nadam)).toThrow("gradDtype 'float32' needs grads as a Float32Array");
    expect(() => native.nadamStep({ ...base(), grads: new Uint16Array(2), gradDtype: 'int8' }, nadam)).toThrow(/unknown gradDtype 'int8'/);
  });

  it('checks the per-tensor state buffers', () => {
    expect(() => native.nadamStep({ ...base(), tensorStates: [] }, nadam)).toThrow('expected 1 per-tensor state buffers, got 0');
    expect(() => native.nadamStep({ ...base(), tensorStates: [new Float64Array(2)] }, nadam)).toThrow(/holds 2 entries, the bucket has 1 tensors/);
    const b = base();
    native.nadamStep({ ...b, grads: Uint16Array.of(0x3c00, 0x3c00), gradDtype: 'float16', gradScale: 2 }, nadam);
    const mu = 0.9 * (1 - 0.5 * 0.96 ** 0.004);
    expect(b.tensorStates[0][0]).toBe(Math.fround(mu));
    // exp_avg = (1 - beta1) * g with g = 1 (fp16 bits) * 2
    expect(Array.from(b.states[0])).toEqual([0.2, 0.2].map(Math.fround));
  });
});

describe('kernel threads', () => {
  it('splits a large bucket across threads without changing a bit', async () => {
    const { numThreads, setNumThreads, AdamW, Parameter } = await import('../ts');
    const before = numThreads();
    const run = (threads: number) => {
      setNumThreads(threads);
      const shapes = [[300_000], [7], [200_000]];
      const ps = shapes.map((s, k) => new Parameter(s, { data: Float32Array.from({ length: s[0] }, (_, i) => Math.sin(i + k)) }));
      const opt = new AdamW(ps, { lr: 1e-2 });
      for (let step = 0; step < 3; step++) {
        ps.forEach((p, k) => p.setGrad(Float32Array.from({ length: p.numel }, (_, i) => Math.cos(i * (step + 1) + k))));
        opt.step();
      }
      return ps.map((p) => Array.from(p.data));
    };
    const one = run(1);
    expect(numThreads()).toBe(1);
    const two = run(2);
    setNumThreads(before);
    expect(two).toEqual(one);
    expect(() => setNumThreads(-1)).toThrow(/non-negative integer/);
  });
});
