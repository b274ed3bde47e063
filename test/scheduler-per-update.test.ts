// Anvil's opt-in `step_per_update=True` on iter-based schedulers: under gradient accumulation
// (accumulative_counts=k) the scheduler advances once per optimizer update, and each real update
// uses the value the schedule gives that update; by default schedulers still step per iteration.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnvilError, buildParamSchedulers, CosineAnnealingLR, LinearLR, OptimWrapper, type ParamScheduler, Parameter, Runner, SGD, StepLR } from '../ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-per-update-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** 160 samples in batches of 10: 16 iterations per epoch; SGD lr 0.1 accumulating over 4 iterations. */
function config(paramScheduler: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [8], num_classes: 10 },
    train_dataloader: { batch_size: 10, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 160 } },
    train_cfg: { type: 'IterBasedTrainLoop', max_iters: 16 },
    optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'SGD', lr: 0.1 }, accumulative_counts: 4 },
    param_scheduler: paramScheduler,
    default_hooks: { checkpoint: null, logger: { type: 'LoggerHook', interval: 100 } },
    randomness: { seed: 3 },
    ...overrides,
  };
}

/** Trains; returns the runner and group 0's lr at each real optimizer step. */
function train(cfg: Record<string, unknown>): { runner: Runner; stepLrs: number[] } {
  const runner = Runner.fromConfig(cfg, { workDir: (cfg.work_dir as string | undefined) ?? null, echo: () => {} });
  const optimizer = runner.optimWrapper!.optimizer;
  const step = optimizer.step.bind(optimizer);
  const stepLrs: number[] = [];
  optimizer.step = () => {
    stepLrs.push(optimizer.paramGroups[0].lr as number);
    step();
  };
  runner.train();
  return { runner, stepLrs };
}

/** Group 0's lr for `n` steps of the schedulers `make` builds on a fresh SGD (lr 0.1), stepping all after each. */
function reference(make: (w: OptimWrapper) => ParamScheduler[], n: number): number[] {
  const w = new OptimWrapper({ optimizer: new SGD([new Parameter([1])], { lr: 0.1 }) });
  const schedulers = make(w);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(w.optimizer.paramGroups[0].lr as number);
    for (const s of schedulers) s.step();
  }
  return out;
}

const globalStep = (s: ParamScheduler) => s.stateDict()._global_step;

describe('param_scheduler with step_per_update=True', () => {
  it('LinearLR over 4 updates of 16 iterations: each update gets the next warmup value', () => {
    const { runner, stepLrs } = train(config([{ type: 'LinearLR', start_factor: 0.25, by_epoch: false, begin: 0, end: 4, step_per_update: true }]));
    // 0.1 * (0.25 + 0.75 * k / 3) for updates k = 0..3, reached exactly at the last update.
    expect(stepLrs).toHaveLength(4);
    stepLrs.forEach((lr, k) => expect(lr).toBeCloseTo(0.1 * (0.25 + (0.75 * k) / 3), 15));
    expect(globalStep(runner.paramSchedulers[0])).toBe(4);
  });

  it('a LinearLR -> StepLR chain advances 4 times and matches the schedule computed per update', () => {
    const chain = [
      { type: 'LinearLR', start_factor: 0.2, by_epoch: false, begin: 0, end: 2, step_per_update: true },
      { type: 'StepLR', step_size: 1, gamma: 0.5, by_epoch: false, begin: 1, step_per_update: true },
    ];
    const { runner, stepLrs } = train(config(chain));
    const expected = reference(
      (w) => [
        new LinearLR({ optimizer: w, startFactor: 0.2, byEpoch: false, begin: 0, end: 2 }),
        new StepLR({ optimizer: w, stepSize: 1, gamma: 0.5, byEpoch: false, begin: 1, end: 4 }),
      ],
      4,
    );
    expect(stepLrs).toEqual(expected);
    expect(new Set(stepLrs).size).toBe(4); // four different values: the chain really moved per update
    expect(runner.paramSchedulers.map(globalStep)).toEqual([4, 4]);
    // StepLR's `end` defaulted to the run's updates (16 / 4), not its iterations.
    expect(runner.paramSchedulers[1].end).toBe(4);
  });

  it('by default schedulers still step per iteration: 16 steps, updates see every 4th value', () => {
    const chain = [
      { type: 'LinearLR', start_factor: 0.2, by_epoch: false, begin: 0, end: 6 },
      { type: 'StepLR', step_size: 3, gamma: 0.5, by_epoch: false, begin: 6 },
    ];
    const { runner, stepLrs } = train(config(chain));
    const perIter = reference(
      (w) => [new LinearLR({ optimizer: w, startFactor: 0.2, byEpoch: false, begin: 0, end: 6 }), new StepLR({ optimizer: w, stepSize: 3, gamma: 0.5, byEpoch: false, begin: 6, end: 16 })],
      16,
    );
    // The updates happen after iterations 4, 8, 12, 16 (0-based 3, 7, 11, 15).
    expect(stepLrs).toEqual([perIter[3], perIter[7], perIter[11], perIter[15]]);
    expect(runner.paramSchedulers.map(globalStep)).toEqual([16, 16]);
    expect(runner.paramSchedulers[1].end).toBe(16);
  });

  it('a short last window (14 iterations, k=4) is an update too: 4 steps over a cosine of 4 updates', () => {
    const { runner, stepLrs } = train(
      config([{ type: 'CosineAnnealingLR', by_epoch: false, eta_min: 0.01, step_per_update: true }], { train_cfg: { type: 'IterBasedTrainLoop', max_iters: 14 } }),
    );
    const s = runner.paramSchedulers[0];
    expect(s.end).toBe(4); // ceil(14 / 4) updates
    expect(globalStep(s)).toBe(4);
    const expected = reference((w) => [new CosineAnnealingLR({ optimizer: w, byEpoch: false, etaMin: 0.01, end: 4 })], 4);
    expect(stepLrs).toEqual(expected);
    expect(stepLrs[0]).toBe(0.1);
    // MMEngine's cosine: update k gets eta_min + (0.1 - eta_min) * (1 + cos(pi * k / 4)) / 2.
    stepLrs.forEach((lr, k) => expect(lr).toBeCloseTo(0.01 + (0.09 * (1 + Math.cos((Math.PI * k) / 4))) / 2, 15));
  });

  it('convert_to_iter_based counts an epoch as epoch_length / k updates', () => {
    const { runner, stepLrs } = train(
      config([{ type: 'CosineAnnealingLR', by_epoch: true, convert_to_iter_based: true, eta_min: 0, step_per_update: true }], {
        train_cfg: { type: 'EpochBasedTrainLoop', max_epochs: 2 },
      }),
    );
    const s = runner.paramSchedulers[0];
    expect([s.byEpoch, s.begin, s.end]).toEqual([false, 0, 8]); // 2 epochs of 16 / 4 updates
    expect(stepLrs).toEqual(reference((w) => [new CosineAnnealingLR({ optimizer: w, byEpoch: false, end: 8 })], 8));
    expect(globalStep(s)).toBe(8);
  });

  it('resuming at an update boundary gives the same per-update lrs', () => {
    const dir = path.join(tmpRoot, 'resume');
    const sched = [
      { type: 'LinearLR', start_factor: 0.25, by_epoch: false, begin: 0, end: 4, step_per_update: true },
    ];
    const base = config(sched, { work_dir: dir, default_hooks: { checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 8 }, logger: { type: 'LoggerHook', interval: 100 } } });
    const full = train(base);
    const resumed = train({ ...base, work_dir: path.join(dir, 'resumed'), resume: true, load_from: path.join(dir, 'iter_8.safetensors') });
    expect(resumed.stepLrs).toEqual(full.stepLrs.slice(2));
    expect(globalStep(resumed.runner.paramSchedulers[0])).toBe(4);
  });

  it('refuses step_per_update where it cannot count updates', () => {
    const w = new OptimWrapper({ optimizer: new SGD([new Parameter([1])], { lr: 0.1 }), accumulativeCounts: 4 });
    expect(() => new LinearLR({ optimizer: w, stepPerUpdate: true })).toThrow(AnvilError);
    expect(() => buildParamSchedulers({ type: 'LinearLR', step_per_update: true }, w, null)).toThrow(
      /LinearLR: step_per_update=True counts optimizer updates, which needs an iter-based scheduler \(by_epoch=False, or convert_to_iter_based=True\); got by_epoch=True/,
    );
    expect(() => buildParamSchedulers({ type: 'LinearLR', by_epoch: false, step_per_update: 'yes' }, w, null)).toThrow(/LinearLR: step_per_update must be True or False, got "yes"/);
    expect(() => buildParamSchedulers({ type: 'ReduceOnPlateauLR', monitor: 'loss', step_per_update: true }, w, null)).toThrow(/step_per_update=True counts optimizer updates/);
    // 16 iterations per epoch do not split into updates of 3.
    expect(() =>
      Runner.fromConfig(
        config([{ type: 'CosineAnnealingLR', by_epoch: true, convert_to_iter_based: true, step_per_update: true }], {
          train_cfg: { type: 'EpochBasedTrainLoop', max_epochs: 2 },
          optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'SGD', lr: 0.1 }, accumulative_counts: 3 },
        }),
        { workDir: null, echo: () => {} },
      ),
    ).toThrow(/param_scheduler\[0\]: convert_to_iter_based with step_per_update=True needs the epoch length \(16 iterations\) to be a multiple of optim_wrapper\.accumulative_counts \(3\)/);
  });
});
