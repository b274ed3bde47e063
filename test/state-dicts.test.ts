// State dicts round trip: every optimizer's loadStateDict (torch's format) continues exactly
// where stateDict was taken; OptimWrapper / AmpOptimWrapper / OptimWrapperDict, the message
// hub, the sampler and dataloader position, and the RNG restore what they saved.

import { describe, expect, it } from 'vitest';
import {
  Adadelta,
  Adagrad,
  Adam,
  Adamax,
  AmpOptimWrapper,
  AnvilError,
  ASGD,
  DataLoader,
  DefaultSampler,
  Lamb,
  LinearLR,
  Lion,
  MessageHub,
  NAdam,
  type Optimizer,
  OptimWrapper,
  OptimWrapperDict,
  OPTIM_WRAPPERS,
  Parameter,
  RAdam,
  RMSprop,
  Rng,
  Rprop,
  SGD,
} from '../ts';

type Make = (ps: Parameter[], options?: Record<string, unknown>) => Optimizer;

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

const GRADS = [
  [[0.5, -1.25, 2], [0.125, -3, 0.75, -0.0625], null],
  [[-0.25, 1.5, -2], [4, 0.375, -0.5, 1], [1, -1]],
  [[1, 1, -0.75], [-2.5, 0.25, 6, -1.5], null],
  [[0.3, -0.7, 0.1], null, [0.5, 2]],
  [[-1, 2, 0.5], [1, 1, 1, 1], [-0.25, 0.25]],
];

/** Three parameters in two groups (the second with its own lr), the last one skipped at times. */
function setup(make: Make, options: Record<string, unknown>) {
  const params = [new Parameter([3], { data: [0.5, -1, 2] }), new Parameter([2, 2], { data: [1, 0.25, -0.75, 3] }), new Parameter([2], { data: [0.1, -0.2] })];
  const lr = typeof options.lr === 'number' ? options.lr / 2 : 0.0005;
  return { params, opt: make([{ params: params.slice(0, 2) }, { params: params.slice(2), lr }] as never, options) };
}

function stepWith(params: Parameter[], opt: Optimizer, grads: Array<number[] | null>) {
  params.forEach((p, i) => p.setGrad(grads[i]));
  opt.step();
  opt.zeroGrad();
}

describe('Optimizer.loadStateDict', () => {
  it.each(ALL)('%s: a fresh optimizer loaded with the state after 2 steps continues bit-identically', (_name, make, options) => {
    const a = setup(make, options);
    for (const g of GRADS.slice(0, 2)) stepWith(a.params, a.opt, g);
    const saved = a.opt.stateDict();
    const b = setup(make, options);
    // The loaded optimizer's parameters get a's values (what a checkpoint's state_dict restores).
    b.params.forEach((p, i) => p.data.set(a.params[i].data));
    // Its groups drifted (a scheduler changed them); loading restores the saved ones.
    b.opt.paramGroups[0].lr = 123;
    b.opt.loadStateDict(JSON.parse(JSON.stringify(saved, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v))));
    expect(b.opt.paramGroups.map(({ params: _p, ...h }) => h)).toEqual(a.opt.paramGroups.map(({ params: _p, ...h }) => h));
    for (const g of GRADS.slice(2)) {
      stepWith(a.params, a.opt, g);
      stepWith(b.params, b.opt, g);
    }
    b.params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(a.params[i].data)));
    expect(b.opt.stateDict()).toEqual(a.opt.stateDict());
  });

  it('refuses state dicts that do not fit, leaving the optimizer unchanged', () => {
    const { params, opt } = setup((p, o) => new Adam(p, o), { lr: 0.01 });
    stepWith(params, opt, GRADS[1]);
    const good = opt.stateDict();
    const before = JSON.stringify(opt.stateDict(), (_k, v) => (v instanceof Float32Array ? Array.from(v) : v));
    expect(() => opt.loadStateDict({ ...good, param_groups: good.param_groups.slice(1) })).toThrow(/loaded state dict has 1 parameter groups, the optimizer has 2/);
    expect(() => opt.loadStateDict({ ...good, param_groups: [good.param_groups[0], { ...good.param_groups[1], params: [2, 3] }] })).toThrow(
      /param_groups\[1\] holds 2 parameters, the optimizer's group 1/,
    );
    expect(() => opt.loadStateDict({ ...good, state: { ...good.state, 0: { ...good.state[0], exp_avg: new Float32Array(2) } } })).toThrow(/state\[0\]\.exp_avg must hold 3 values, got 2/);
    expect(() => opt.loadStateDict({ ...good, state: { ...good.state, 1: { ...good.state[1], momentum_buffer: new Float32Array(4) } } })).toThrow(
      /state\[1\] has 'momentum_buffer', which Adam with these hyper-parameters does not keep \(it keeps step, exp_avg, exp_avg_sq\)/,
    );
    expect(() => opt.loadStateDict({ ...good, state: { ...good.state, 0: { ...good.state[0], step: -1 } } })).toThrow(/state\[0\]\.step must be a non-negative integer/);
    expect(() => opt.loadStateDict({ ...good, param_groups: [{ ...good.param_groups[0], lr: -1 }, good.param_groups[1]] })).toThrow(AnvilError);
    expect(JSON.stringify(opt.stateDict(), (_k, v) => (v instanceof Float32Array ? Array.from(v) : v))).toBe(before);
  });
});

describe('optimizer wrappers: state dicts', () => {
  it('OptimWrapper saves base_param_settings (what schedulers step) with several groups, and restores it in place', () => {
    const { opt } = setup((p, o) => new SGD(p, o), { lr: 0.1, momentum: 0.9 });
    const w = new OptimWrapper({ optimizer: opt });
    const scheduler = new LinearLR({ optimizer: w, startFactor: 0.5, byEpoch: false, end: 4 });
    scheduler.step();
    const saved = w.stateDict();
    expect(saved.base_param_settings).toMatchObject({ lr: w.baseParamSettings!.lr, initial_lr: 0.1 });
    const settings = w.baseParamSettings!;
    const other = new OptimWrapper({ optimizer: setup((p, o) => new SGD(p, o), { lr: 0.1, momentum: 0.9 }).opt });
    const otherSettings = other.baseParamSettings!;
    other.loadStateDict(saved);
    expect(other.baseParamSettings).toBe(otherSettings);
    expect(other.getLr()).toEqual(w.getLr());
    expect(otherSettings.lr).toBe(settings.lr);
    expect(settings.lr).not.toBe(0.1);
  });

  it('AmpOptimWrapper adds loss_scaler (torch GradScaler state) and the count of skipped steps', () => {
    const make = () => new AmpOptimWrapper({ optimizer: new SGD([new Parameter([2], { data: [1, 2] })], { lr: 0.1 }), lossScale: { init_scale: 1024, growth_interval: 1 } });
    const w = make();
    w.optimizer.paramGroups[0].params[0].setGrad([Infinity, 1]);
    w.step();
    w.optimizer.paramGroups[0].params[0].setGrad([1, 1]);
    w.step();
    const saved = w.stateDict();
    expect(saved.loss_scaler).toEqual({ scale: 1024, growth_factor: 2, backoff_factor: 0.5, growth_interval: 1, _growth_tracker: 0 });
    expect(saved.skipped_steps).toBe(1);
    const other = make();
    other.loadStateDict(saved);
    expect(other.lossScaler.getScale()).toBe(1024);
    expect(other.skippedSteps).toBe(1);
    expect(other.stateDict()).toEqual(saved);
  });

  it('OptimWrapperDict reports and saves its wrappers by name; stepping is per wrapper', () => {
    const gen = new OptimWrapper({ optimizer: new Adam([new Parameter([2])], { lr: 0.01 }) });
    const disc = new OptimWrapper({ optimizer: new SGD([new Parameter([3])], { lr: 0.1, momentum: 0.5 }) });
    const dict = OPTIM_WRAPPERS.build({ type: 'OptimWrapperDict', generator: gen, discriminator: disc }) as unknown as OptimWrapperDict;
    expect(dict).toBeInstanceOf(OptimWrapperDict);
    expect(dict.keys()).toEqual(['generator', 'discriminator']);
    expect(dict.getLr()).toEqual({ 'generator.lr': [0.01], 'discriminator.lr': [0.1] });
    expect(dict.getMomentum()).toEqual({ 'generator.momentum': [0.9], 'discriminator.momentum': [0.5] });
    const state = dict.stateDict();
    expect(Object.keys(state)).toEqual(['generator', 'discriminator']);
    dict.get('generator').optimizer.paramGroups[0].lr = 5;
    dict.loadStateDict(state);
    expect(dict.get('generator').getLr().lr).toEqual([0.01]);
    expect(() => dict.loadStateDict({ critic: state.generator })).toThrow(/critic is not found in the optimizer wrappers/);
    expect(() => dict.step()).toThrow(/`step` should be called by each optimizer wrapper separately/);
    expect(() => dict.get('critic')).toThrow(/no optimizer wrapper named 'critic'/);
    expect(() => new OptimWrapperDict({ g: {} as OptimWrapper })).toThrow(/each item must be an optimizer wrapper/);
  });
});

describe('runtime state', () => {
  it('MessageHub round-trips scalar histories and plain runtime info', () => {
    const hub = new MessageHub();
    for (const v of [1, 2, 3]) hub.updateScalar('train/loss', v);
    hub.updateInfo('best_score', 0.5);
    hub.updateInfo('keep_ckpt_ids', [2, 4]);
    hub.updateInfo('model', new Rng(0)); // not plain data: left out
    const state = hub.stateDict();
    expect(Object.keys(state.runtime_info)).toEqual(['best_score', 'keep_ckpt_ids']);
    const other = new MessageHub();
    other.loadStateDict(state);
    expect(Array.from(other.getScalar('train/loss')!.toArray())).toEqual([1, 2, 3]);
    expect(other.getScalar('train/loss')!.mean(2)).toBe(2.5);
    expect(other.getInfo('keep_ckpt_ids')).toEqual([2, 4]);
  });

  it('Rng state round-trips', () => {
    const a = new Rng(42);
    a.nextU32();
    const b = new Rng(0);
    b.setState(a.getState());
    expect([b.nextU32(), b.nextU32()]).toEqual([a.nextU32(), a.nextU32()]);
    expect(() => b.setState([1, 2, 3])).toThrow(/four unsigned 32-bit integers/);
  });

  it('DataLoader resumes mid-epoch without building the consumed batches, whatever epoch the loop counts from', () => {
    const built: number[][] = [];
    const dataset = { length: 10, getBatch: (idx: readonly number[]) => (built.push([...idx]), [...idx]) };
    const make = () => new DataLoader({ dataset, batchSize: 3, sampler: new DefaultSampler({ shuffle: true, seed: 5 }) });
    const a = make();
    const passes: number[][][] = [];
    for (let e = 0; e < 3; e++) {
      a.sampler.setEpoch(e);
      passes.push([...a]);
    }
    // Stop after 2 batches of epoch 1.
    const b = make();
    b.sampler.setEpoch(0);
    [...b];
    b.sampler.setEpoch(1);
    const it1 = b[Symbol.iterator]();
    it1.next();
    it1.next();
    const state = b.stateDict();
    expect(state).toEqual({ epoch: 1, consumed: 2, sampler: { seed: 5, epoch: 1, shuffle: true } });
    const c = new DataLoader({ dataset, batchSize: 3, sampler: new DefaultSampler({ shuffle: true, seed: 99 }) });
    c.loadStateDict(state);
    expect(c.nextPassStart).toBe(2);
    built.length = 0;
    // An iteration-based loop restarts its count at 0: the sampler follows on from the saved epoch.
    c.sampler.setEpoch(0);
    expect([...c]).toEqual(passes[1].slice(2));
    expect(built).toEqual(passes[1].slice(2));
    expect(c.nextPassStart).toBe(0);
    c.sampler.setEpoch(1);
    expect([...c]).toEqual(passes[2]);
    expect(c.stateDict()).toMatchObject({ epoch: 3, consumed: 0 });
    expect(() => c.loadStateDict({ epoch: 0, consumed: 4 })).toThrow(/4 batches of the epoch were consumed, but an epoch has only 4/);
    expect(() => c.loadStateDict({ epoch: 0, consumed: 1, sampler: { seed: 1, shuffle: false } })).toThrow(/shuffle=false, this one shuffle=true/);
  });
});
