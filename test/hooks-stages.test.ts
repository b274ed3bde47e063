// Each built-in hook takes part in exactly the stages its MMEngine (or MMSegmentation) namesake
// overrides, with its default priority; the small hooks' behaviour (EmptyCacheHook, EMAHook options).

import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AnvilError,
  DistSamplerSeedHook,
  EMAHook,
  EmptyCacheHook,
  HOOKS,
  type Hook,
  IterTimerHook,
  LoggerHook,
  MLPClassifier,
  NaiveVisualizationHook,
  ParamSchedulerHook,
  registerDeviceCache,
  Runner,
  RuntimeInfoHook,
  SegVisualizationHook,
  STAGES,
  SyncBuffersHook,
} from '../ts';

/** `get_triggered_stages()` of mmengine 0.10.7 / mmsegmentation 1.2.2, and the class priority. */
const MMENGINE: Record<string, [number, string[]]> = {
  RuntimeInfoHook: [10, ['before_run', 'after_train', 'before_train_epoch', 'after_test_epoch', 'after_test', 'before_val', 'before_train_iter', 'after_train_iter', 'before_test', 'after_val', 'after_val_epoch', 'before_train']],
  IterTimerHook: [50, ['before_val_epoch', 'after_test_iter', 'after_train_epoch', 'before_train_epoch', 'before_val_iter', 'after_test_epoch', 'after_val_iter', 'before_train_iter', 'before_test_iter', 'before_test_epoch', 'after_train_iter', 'after_val_epoch', 'before_train']],
  LoggerHook: [60, ['before_run', 'after_test_iter', 'after_test_epoch', 'after_run', 'after_val_iter', 'after_train_iter', 'after_val_epoch']],
  DistSamplerSeedHook: [50, ['before_train_epoch']],
  ParamSchedulerHook: [70, ['after_train_epoch', 'after_train_iter', 'after_val_epoch']],
  EMAHook: [50, ['before_run', 'before_val_epoch', 'after_load_checkpoint', 'after_test_epoch', 'before_save_checkpoint', 'before_test_epoch', 'after_train_iter', 'after_val_epoch', 'before_train']],
  EmptyCacheHook: [50, ['before_val_epoch', 'after_test_iter', 'after_train_epoch', 'before_train_epoch', 'after_test_epoch', 'after_val_iter', 'before_test_epoch', 'after_train_iter', 'after_val_epoch']],
  SyncBuffersHook: [50, ['after_train_epoch', 'before_val_epoch']],
  NaiveVisualizationHook: [50, ['after_test_iter', 'before_train']],
  // MMSegmentation's overrides the generic _after_iter.
  SegVisualizationHook: [50, ['after_train_iter', 'after_val_iter', 'after_test_iter']],
};

const inStageOrder = (stages: string[]) => STAGES.filter((s) => stages.includes(s));

afterEach(() => {
  vi.restoreAllMocks();
});

describe("built-in hooks take part in MMEngine's stages", () => {
  const make: Record<string, () => Hook> = {
    RuntimeInfoHook: () => new RuntimeInfoHook(),
    IterTimerHook: () => new IterTimerHook(),
    LoggerHook: () => new LoggerHook(),
    DistSamplerSeedHook: () => new DistSamplerSeedHook(),
    ParamSchedulerHook: () => new ParamSchedulerHook(),
    EMAHook: () => new EMAHook(),
    EmptyCacheHook: () => new EmptyCacheHook(),
    SyncBuffersHook: () => new SyncBuffersHook(),
    NaiveVisualizationHook: () => new NaiveVisualizationHook(),
    SegVisualizationHook: () => new SegVisualizationHook({ draw: true }),
  };

  for (const [name, [priority, stages]] of Object.entries(MMENGINE)) {
    it(`${name}: priority ${priority}, stages as MMEngine`, () => {
      const hook = make[name]();
      expect(hook.typeName).toBe(name);
      expect(hook.priority).toBe(priority);
      expect(hook.triggeredStages()).toEqual(inStageOrder(stages));
      // Built from the registry by its MMEngine name, the same class.
      vi.spyOn(console, 'warn').mockImplementation(() => {});
      expect(HOOKS.build({ type: name })).toBeInstanceOf(hook.constructor);
    });
  }
});

describe('EmptyCacheHook', () => {
  it('releases registered device caches at the configured stages only (none on the host)', () => {
    const runner = new Runner({ model: new MLPClassifier({ inFeatures: 2, hiddenSizes: [], numClasses: 2 }), echo: () => {} });
    const released: string[] = [];
    registerDeviceCache('test-device', () => released.push('x'));
    try {
      const hook = new EmptyCacheHook({ beforeEpoch: true, afterEpoch: false, afterIter: true });
      hook.beforeTrainEpoch(runner);
      hook.afterTrainEpoch(runner);
      hook.afterValIter(runner, 0, null, []);
      expect(released).toHaveLength(2);
      new EmptyCacheHook().afterTestEpoch(runner, {});
      expect(released).toHaveLength(3);
      new EmptyCacheHook().afterTrainIter(runner, 0, null, {});
      expect(released).toHaveLength(3);
    } finally {
      registerDeviceCache('test-device', null);
    }
    // Nothing registered: harmless.
    new EmptyCacheHook({ afterIter: true }).afterTrainIter(runner, 0, null, {});
    expect(released).toHaveLength(3);
    expect(() => HOOKS.build({ type: 'EmptyCacheHook', after_epoch: 'yes' })).toThrow(/EmptyCacheHook: after_epoch must be true or false/);
    expect(() => HOOKS.build({ type: 'EmptyCacheHook', before_iter: true })).toThrow(/unexpected argument 'before_iter'/);
  });
});

describe('EMAHook options', () => {
  it('takes begin_iter / begin_epoch, refuses both or negatives, and reads start_iters as begin_iter with a warning', () => {
    expect(new EMAHook({ beginIter: 5 }).beginIter).toBe(5);
    const byEpoch = new EMAHook({ beginEpoch: 2 });
    expect(byEpoch.enabledByEpoch).toBe(true);
    expect(() => new EMAHook({ beginIter: 3, beginEpoch: 2 })).toThrow(new AnvilError('EMAHook: `begin_iter` and `begin_epoch` should not be both set.'));
    expect(() => new EMAHook({ beginIter: -1 })).toThrow(/`begin_iter` must be an integer larger than or equal to 0/);
    expect(() => new EMAHook({ beginEpoch: 1.5 })).toThrow(/`begin_epoch` must be an integer/);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const guide = HOOKS.build<EMAHook>({ type: 'EMAHook', start_iters: 500 });
    expect(guide.beginIter).toBe(500);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/'start_iters' is deprecated, use 'begin_iter'/));
    expect(() => HOOKS.build({ type: 'EMAHook', start_iters: 5, begin_iter: 5 })).toThrow(/give begin_iter or its deprecated alias start_iters, not both/);
  });

  it('passes the other keywords to the averaged model (snake_case), built in before_run', () => {
    const hook = HOOKS.build<EMAHook>({ type: 'EMAHook', ema_type: 'MomentumAnnealingEMA', momentum: 0.001, gamma: 50, update_buffers: true });
    expect(hook.emaCfg).toEqual({ type: 'MomentumAnnealingEMA', momentum: 0.001, gamma: 50, update_buffers: true });
    expect(() => hook.emaModel).toThrow(/built in before_run/);
    const runner = new Runner({ model: new MLPClassifier({ inFeatures: 2, hiddenSizes: [3], numClasses: 2 }), echo: () => {} });
    hook.beforeRun(runner);
    expect(hook.emaModel.typeName).toBe('MomentumAnnealingEMA');
    expect(hook.emaModel.updateBuffers).toBe(true);
    const bad = HOOKS.build<EMAHook>({ type: 'EMAHook', momentum: 0.001, mommentum: 1 });
    expect(() => bad.beforeRun(runner)).toThrow(/EMAHook\.ema_type \(ExponentialMovingAverage\): ExponentialMovingAverage: unexpected argument 'mommentum'/);
    const unknown = HOOKS.build<EMAHook>({ type: 'EMAHook', ema_type: 'NoSuchEMA' });
    expect(() => unknown.beforeRun(runner)).toThrow(/EMAHook\.ema_type\.type: 'NoSuchEMA' is not registered in MODELS/);
  });
});

describe('SegVisualizationHook options', () => {
  it("warns as MMSegmentation's when draw is False, and refuses show", () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const hook = HOOKS.build<SegVisualizationHook>({ type: 'SegVisualizationHook' });
    expect(hook.draw).toBe(false);
    expect(hook.interval).toBe(50);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/The draw is False/));
    expect(() => HOOKS.build({ type: 'SegVisualizationHook', draw: true, show: true })).toThrow(/show=True needs a display/);
    expect(() => HOOKS.build({ type: 'SegVisualizationHook', draw: true, interval: 0 })).toThrow(/interval must be a positive integer/);
  });
});
