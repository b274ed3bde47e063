import { describe, expect, it } from 'vitest';
import {
  Adam,
  AnvilError,
  Hook,
  HOOKS,
  BaseParamScheduler,
  buildParamSchedulers,
  CosineAnnealingLR,
  LinearLR,
  LinearMomentum,
  MultiStepLR,
  OptimWrapper,
  type ParamScheduler,
  Parameter,
  ReduceOnPlateauLR,
  Runner,
  SGD,
} from '../ts';

const sgd = (lr = 0.01, momentum = 0.9) => new SGD([new Parameter([1])], { lr, momentum, weightDecay: 5e-4 });
const wrap = (o = sgd()) => new OptimWrapper({ optimizer: o });

/** Group 0's `key` before each of `n` iterations, stepping every scheduler after each (iter-based). */
function trace(w: OptimWrapper, schedulers: ParamScheduler[], n: number, key = 'lr'): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(w.optimizer.paramGroups[0][key] as number);
    for (const s of schedulers) s.step();
  }
  return out;
}

const close = (actual: number[], expected: number[], rtol = 1e-12) => {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i])).toBeLessThanOrEqual(rtol * Math.abs(expected[i]) + 1e-18));
};

describe('param schedulers: closed forms', () => {
  it('LinearLR warms up linearly to end - 1 and holds', () => {
    const w = wrap();
    const s = new LinearLR({ optimizer: w, startFactor: 0.1, end: 10, byEpoch: false });
    const lr = trace(w, [s], 14);
    close(lr.slice(0, 10), Array.from({ length: 10 }, (_, k) => 0.01 * (0.1 + (0.9 * k) / 9)));
    close(lr.slice(10), [0.01, 0.01, 0.01, 0.01]);
    expect(s.valueAt(3)).toBeCloseTo(0.01 * (0.1 + 0.3), 15);
    expect(w.optimizer.paramGroups[0].initial_lr).toBe(0.01);
  });

  it('value(step) in closed form equals the stepped values of every family running alone', () => {
    const configs: Array<Record<string, unknown>> = [
      { type: 'LinearLR', start_factor: 0.25, begin: 5, end: 15 },
      { type: 'ConstantLR', factor: 0.5, end: 5 },
      { type: 'StepLR', step_size: 3, gamma: 0.5 },
      { type: 'MultiStepLR', milestones: [4, 7, 7, 9], gamma: 0.1, begin: 1 },
      { type: 'ExponentialLR', gamma: 0.9, end: 8 },
      { type: 'CosineAnnealingLR', T_max: 10, eta_min: 1e-4, end: 10 },
      { type: 'CosineAnnealingLR', T_max: 4, eta_min_ratio: 0.1, end: 20 },
      { type: 'PolyLR', power: 0.9, eta_min: 1e-4, end: 20 },
      { type: 'CosineRestartLR', periods: [5, 10], restart_weights: [1, 0.5], eta_min: 1e-4, end: 15 },
      { type: 'OneCycleLR', eta_max: 0.1, total_steps: 20, pct_start: 0.3, end: 20 },
      { type: 'OneCycleLR', eta_max: 0.01, total_steps: 24, pct_start: 0.25, anneal_strategy: 'linear', three_phase: true },
    ];
    for (const cfg of configs) {
      const w = wrap();
      const [s] = buildParamSchedulers({ ...cfg, by_epoch: false }, w, { maxIters: 24, maxEpochs: 1, epochLength: 24 }) as BaseParamScheduler[];
      const stepped = trace(w, [s], 24);
      close(stepped, stepped.map((_, i) => s.valueAt(i, 0.01)), 1e-12);
    }
  });

  it('keeps MMEngine quirks: ConstantLR restores at end - 1, cosine past T_max swings back from the base value', () => {
    const c = wrap();
    const constant = buildParamSchedulers({ type: 'ConstantLR', factor: 0.5, end: 5, by_epoch: false }, c, null);
    expect(trace(c, constant, 6)).toEqual([0.005, 0.005, 0.005, 0.005, 0.01, 0.01]);
    // A cosine starting below the base (after a warmup ending at 0.5) rises back to the base after its trough.
    const k = wrap();
    const chain = buildParamSchedulers(
      [
        { type: 'LinearLR', start_factor: 0.1, end_factor: 0.5, by_epoch: false, end: 5 },
        { type: 'CosineAnnealingLR', T_max: 4, eta_min: 0, by_epoch: false, begin: 5, end: 20 },
      ],
      k,
      null,
    );
    const lr = trace(k, chain, 14);
    expect(lr[4]).toBeCloseTo(0.005, 15); // warmup end
    expect(lr[9]).toBe(0); // trough at begin + T_max
    expect(lr[13]).toBeCloseTo(0.01, 15); // back up to the base, not to 0.005
  });
});

describe('param schedulers: chains, momentum, epochs', () => {
  it('composes overlapping windows as MMEngine does (warmup inside MultiStepLR)', () => {
    const w = wrap();
    const chain = [new LinearLR({ optimizer: w, startFactor: 0.01, end: 6, byEpoch: false }), new MultiStepLR({ optimizer: w, milestones: [4, 8], gamma: 0.5, end: 12, byEpoch: false })];
    const linear = (k: number) => 0.01 + (0.99 * Math.min(k, 5)) / 5;
    close(trace(w, chain, 12), Array.from({ length: 12 }, (_, k) => 0.01 * linear(k) * 0.5 ** ((k >= 4 ? 1 : 0) + (k >= 8 ? 1 : 0))), 1e-12);
  });

  it('schedules Adam betas[0] through LinearMomentum', () => {
    const adam = new Adam([new Parameter([1])], { lr: 0.001, betas: [0.9, 0.999] });
    const w = new OptimWrapper({ optimizer: adam });
    const s = new LinearMomentum({ optimizer: w, startFactor: 0.9, end: 8, byEpoch: false });
    const momentum: number[] = [];
    for (let i = 0; i < 10; i++) {
      momentum.push(w.getMomentum().momentum[0]);
      expect((adam.paramGroups[0].betas as number[])[0]).toBe(momentum[i]);
      expect((adam.paramGroups[0].betas as number[])[1]).toBe(0.999);
      s.step();
    }
    close(momentum, [0.81, 0.8228571428571428, 0.8357142857142857, 0.8485714285714285, 0.8614285714285714, 0.8742857142857143, 0.8871428571428571, 0.9, 0.9, 0.9], 1e-12);
    expect(() => new LinearMomentum({ optimizer: w, end: 8 })).not.toThrow();
  });

  it('builds as the runner does: default end, by_epoch, convert_to_iter_based', () => {
    const w = wrap();
    const run = { maxIters: 20, maxEpochs: 5, epochLength: 4 };
    const [warm, cos] = buildParamSchedulers(
      [
        { type: 'LinearLR', start_factor: 0.001, begin: 0, end: 1, convert_to_iter_based: true },
        { type: 'CosineAnnealingLR', T_max: 4, begin: 1, convert_to_iter_based: true },
      ],
      w,
      run,
    ) as BaseParamScheduler[];
    expect([warm.byEpoch, warm.begin, warm.end]).toEqual([false, 0, 4]);
    expect([cos.byEpoch, cos.begin, cos.end, (cos as CosineAnnealingLR).TMax]).toEqual([false, 4, 20, 16]);
    const [epochBased] = buildParamSchedulers({ type: 'MultiStepLR', milestones: [2, 4] }, wrap(), run);
    expect([epochBased.byEpoch, epochBased.end]).toEqual([true, 5]);
    const [iterBased] = buildParamSchedulers({ type: 'PolyLR', by_epoch: false }, wrap(), run);
    expect(iterBased.end).toBe(20);
  });

  it('reduces on plateau after `patience` validations without improvement', () => {
    const w = wrap(sgd(0.1));
    const s = new ReduceOnPlateauLR({ optimizer: w, monitor: 'loss', patience: 1, factor: 0.5, cooldown: 1, minValue: 0.02 });
    const lrs: number[] = [];
    for (const loss of [1, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 0.99, 0.99, 0.99]) {
      s.step({ loss });
      lrs.push(w.getLr().lr[0]);
    }
    expect(lrs).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02]);
    expect(() => s.step({ acc: 1 })).toThrow(/got key loss is not in dict/);
  });
});

describe('param schedulers: state', () => {
  it('keeps only counters, and a rebuilt scheduler with them continues the same values', () => {
    const cfg = [
      { type: 'LinearLR', start_factor: 0.1, by_epoch: false, end: 5 },
      { type: 'CosineAnnealingLR', T_max: 12, eta_min: 1e-4, by_epoch: false, begin: 5, end: 17 },
    ];
    const a = wrap();
    const sa = buildParamSchedulers(cfg, a, null);
    const first = trace(a, sa, 7);
    const states = sa.map((s) => s.stateDict());
    expect(states).toEqual([
      { last_step: 4, _global_step: 7 },
      { last_step: 2, _global_step: 7 },
    ]);
    // Resume: fresh optimizer and schedulers from the config, then the checkpoint's groups and states.
    const b = wrap();
    const sb = buildParamSchedulers(cfg, b, null);
    for (const key of ['lr', 'initial_lr']) b.optimizer.paramGroups[0][key] = a.optimizer.paramGroups[0][key];
    sb.forEach((s, i) => s.loadStateDict(JSON.parse(JSON.stringify(states[i]))));
    expect(trace(b, sb, 12)).toEqual(trace(a, sa, 12));
    expect(first).toHaveLength(7);
    expect(() => sb[0].loadStateDict({ last_step: 'x' })).toThrow(AnvilError);
  });
});

describe('param schedulers: errors', () => {
  const w = wrap();
  it('reports bad configs with the config key', () => {
    expect(() => buildParamSchedulers({ type: 'LinearLR', begin: 5, end: 5, by_epoch: false }, w, null)).toThrow(/end should be larger than begin, but got begin=5, end=5/);
    expect(() => buildParamSchedulers([{ type: 'StepLR', step_size: 2, gammma: 0.1 }], w, null)).toThrow(/^param_scheduler\[0\] \(StepLR\): StepLR: unexpected argument 'gammma'/);
    expect(() => buildParamSchedulers({ type: 'WarmupLR' }, w, null)).toThrow(/^param_scheduler\.type: 'WarmupLR' is not registered in PARAM_SCHEDULERS/);
    expect(() => buildParamSchedulers({ type: 'LinearLR', start_factor: 1.5 }, w, null)).toThrow(/Starting multiplicative factor should between 0 and 1/);
    expect(() => buildParamSchedulers({ type: 'StepLR', step_size: 2, by_epoch: false, convert_to_iter_based: true }, w, { maxIters: 4, maxEpochs: 2, epochLength: 2 })).toThrow(
      /Only epoch-based kwargs whose `by_epoch=True` can be converted/,
    );
    expect(() => buildParamSchedulers({ type: 'CosineAnnealingLR', eta_min: 0, eta_min_ratio: 0.1 }, w, null)).toThrow(/Either `eta_min` or `eta_min_ratio` should be specified/);
    expect(() => buildParamSchedulers({ type: 'OneCycleLR', eta_max: 0.1, total_steps: 3, by_epoch: false }, wrap(), null).forEach((s) => [1, 2, 3, 4].forEach(() => s.step()))).toThrow(
      /Tried to step 5 times\. The specified number of total steps is 3/,
    );
    expect(() => new LinearMomentum({ optimizer: new OptimWrapper({ optimizer: sgd() }), end: 3 })).not.toThrow();
  });
});

/** Records the logged train/lr of every iteration (after RuntimeInfoHook wrote it). */
class LrRecorderHook extends Hook {
  readonly lrs: number[] = [];
  override afterTrainIter(runner: Runner): void {
    this.lrs.push(runner.messageHub.getScalar('train/lr')!.current());
  }
}
HOOKS.registerClass('SchedulersTestLrRecorderHook', LrRecorderHook, { accepts: [] });

describe('param schedulers in the runner', () => {
  it('LinearLR warmup + CosineAnnealingLR change the logged lr as MMEngine does', () => {
    const lines: string[] = [];
    const runner = Runner.fromConfig(
      {
        model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [16], num_classes: 10 },
        train_dataloader: { batch_size: 20, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 200 } },
        train_cfg: { type: 'IterBasedTrainLoop', max_iters: 40 },
        optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'AdamW', lr: 1e-3 } },
        param_scheduler: [
          { type: 'LinearLR', start_factor: 0.1, by_epoch: false, begin: 0, end: 10 },
          { type: 'CosineAnnealingLR', T_max: 30, eta_min: 1e-5, by_epoch: false, begin: 10, end: 40 },
        ],
        default_hooks: { logger: { type: 'LoggerHook', interval: 10 } },
        custom_hooks: [{ type: 'SchedulersTestLrRecorderHook', priority: 'HIGHEST' }],
        randomness: { seed: 0 },
      },
      { workDir: null, echo: (l) => lines.push(l) },
    );
    expect(runner.hooks.map((h) => h.typeName)).toContain('ParamSchedulerHook');
    runner.train();
    // train/lr of every iteration, recorded from MMEngine 0.10.7 with the same schedulers.
    const reference = [
      0.0001, 0.0002, 0.00030000000000000003, 0.0004, 0.0005, 0.0006, 0.0007, 0.0007999999999999999, 0.0009, 0.001, 0.001,
      0.0009972883382072953, 0.0009891830623632338, 0.0009757729755661011, 0.0009572050015330874, 0.0009336825748732973,
      0.0009054634122155991, 0.0008728566886113102, 0.0008362196501476349, 0.0007959536998847742, 0.0007525, 0.0007063346383225212,
      0.000657963412215599, 0.0006079162869547909, 0.0005567415893174886, 0.0005050000000000002, 0.0004532584106825117,
      0.00040208371304520916, 0.00035203658778440114, 0.00030366536167747904, 0.00025750000000000013, 0.00021404630011522585,
      0.00017378034985236535, 0.00013714331138868998, 0.00010453658778440108, 7.631742512670285e-5, 5.279499846691252e-5,
      3.4227024433899005e-5, 2.0816937636766188e-5, 1.2711661792704668e-5,
    ];
    const recorder = runner.hooks.find((h): h is LrRecorderHook => h instanceof LrRecorderHook)!;
    close(recorder.lrs, reference, 1e-12);
    const logged = lines.filter((l) => l.includes('Iter(train)')).map((l) => l.match(/ lr: (\S+)/)![1]);
    expect(logged).toEqual(['1.0000e-03', '7.9595e-04', '3.0367e-04', '1.2712e-05']);
  });
});
