// The runner's loops and run-level config keys as MMEngine has them: EpochBasedTrainLoop, TestLoop,
// auto_scale_lr, log_processor, the visualizer's scalar files, default_scope, randomness, and
// EMAHook swapping the averaged weights in for validation and through checkpoint dicts.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type ClassificationBatch, EMAHook, Hook, HOOKS, Runner, setDefaultScope, type TensorboardVisBackend } from '../ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-loops-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  setDefaultScope(null);
});

/** MNIST, 200 train samples in batches of 50 (4 iterations an epoch), 200 val/test samples in 2 batches. */
function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const evalLoader = { batch_size: 100, dataset: { type: 'MNIST', split: 'test', limit: 200 } };
  return {
    model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [16], num_classes: 10 },
    train_dataloader: { batch_size: 50, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 200 } },
    val_dataloader: evalLoader,
    val_evaluator: { type: 'Accuracy' },
    test_dataloader: evalLoader,
    test_evaluator: { type: 'Accuracy' },
    test_cfg: { type: 'TestLoop' },
    train_cfg: { by_epoch: true, max_epochs: 3, val_interval: 2 },
    optim_wrapper: { optimizer: { type: 'AdamW', lr: 1e-3 } },
    default_hooks: { logger: { type: 'LoggerHook', interval: 2 } },
    randomness: { seed: 0, deterministic: true },
    ...overrides,
  };
}

/** Records stages, and the first labels of each train batch per epoch. */
class LoopRecorderHook extends Hook {
  readonly calls: string[] = [];
  readonly firstLabels: number[][] = [];
  override beforeRun(): void {
    this.calls.push('before_run');
  }
  override beforeTrain(): void {
    this.calls.push('before_train');
  }
  override beforeTrainEpoch(): void {
    this.calls.push('before_train_epoch');
    this.firstLabels.push([]);
  }
  override afterTrainIter(_r: Runner, batchIdx: number, batch: unknown): void {
    this.calls.push(`train_iter_${batchIdx}`);
    this.firstLabels.at(-1)!.push((batch as ClassificationBatch).labels[0]);
  }
  override afterTrainEpoch(): void {
    this.calls.push('after_train_epoch');
  }
  override beforeVal(): void {
    this.calls.push('before_val');
  }
  override afterVal(): void {
    this.calls.push('after_val');
  }
  override afterTrain(): void {
    this.calls.push('after_train');
  }
  override beforeTest(): void {
    this.calls.push('before_test');
  }
  override afterTestIter(_r: Runner, batchIdx: number): void {
    this.calls.push(`test_iter_${batchIdx}`);
  }
  override afterTestEpoch(_r: Runner, metrics: Record<string, number>): void {
    this.calls.push(`after_test_epoch ${Object.keys(metrics).join(',')}`);
  }
  override afterTest(): void {
    this.calls.push('after_test');
  }
  override afterRun(): void {
    this.calls.push('after_run');
  }
}
HOOKS.registerClass('LoopsTestRecorderHook', LoopRecorderHook);

function build(cfg: Record<string, unknown>, workDir: string | null = null) {
  const lines: string[] = [];
  const runner = Runner.fromConfig(cfg, { workDir, echo: (l) => lines.push(l) });
  const recorder = runner.hooks.find((h): h is LoopRecorderHook => h instanceof LoopRecorderHook) ?? null;
  return { runner, lines, recorder };
}

const readJsonLines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

describe('EpochBasedTrainLoop (train_cfg by_epoch=True)', () => {
  const workDir = path.join(tmpRoot, 'epochs');
  const { runner, lines, recorder } = build(config({ custom_hooks: [{ type: 'LoopsTestRecorderHook', priority: 'LOWEST' }] }), workDir);
  runner.train();

  it('runs max_epochs passes and validates every val_interval epochs and after the last', () => {
    expect(runner.epoch).toBe(3);
    expect(runner.iter).toBe(12);
    expect(runner.maxEpochs).toBe(3);
    expect(runner.maxIters).toBe(12);
    const epoch = ['before_train_epoch', 'train_iter_0', 'train_iter_1', 'train_iter_2', 'train_iter_3', 'after_train_epoch'];
    expect(recorder!.calls).toEqual(['before_run', 'before_train', ...epoch, ...epoch, 'before_val', 'after_val', ...epoch, 'before_val', 'after_val', 'after_train', 'after_run']);
  });

  it('shuffles each epoch differently (DistSamplerSeedHook sets the sampler epoch)', () => {
    const [e0, e1, e2] = recorder!.firstLabels;
    expect(e0).not.toEqual(e1);
    expect(e1).not.toEqual(e2);
    // Without the hook every epoch repeats the first order, as in MMEngine.
    const { runner: fixed, recorder: rec } = build(config({ default_hooks: { sampler_seed: null, logger: { type: 'LoggerHook', interval: 2 } }, custom_hooks: [{ type: 'LoopsTestRecorderHook' }], val_dataloader: null }));
    fixed.train();
    expect(rec!.firstLabels[1]).toEqual(rec!.firstLabels[0]);
    expect(rec!.firstLabels[0]).toEqual(e0);
  });

  it('logs by epoch: Epoch(train) [e][i/n] lines and Epoch(val) [e][n/n] metrics', () => {
    const train = lines.filter((l) => l.includes('Epoch(train)'));
    expect(train.map((l) => l.match(/Epoch\(train\) (\[\d\]\[\d\/4\])/)![1])).toEqual(['[1][2/4]', '[1][4/4]', '[2][2/4]', '[2][4/4]', '[3][2/4]', '[3][4/4]']);
    for (const l of train) expect(l).toMatch(/Epoch\(train\) \[\d\]\[\d\/4\]  lr: 1\.0000e-03  eta: \d+:\d\d:\d\d  time: \d+\.\d{4}  data_time: \d+\.\d{4}  loss: \d+\.\d{4}$/);
    const val = lines.filter((l) => l.includes('Epoch(val)') && l.includes('accuracy'));
    expect(val.map((l) => l.match(/Epoch\(val\) (\[\d\]\[2\/2\])    accuracy: 0\.\d{4}  data_time: \d+\.\d{4}  time: \d+\.\d{4}$/)?.[1])).toEqual(['[2][2/2]', '[3][2/2]']);
    // Two-digit max_epochs right-align the epoch as MMEngine does.
    const wide = build(config({ train_cfg: { by_epoch: true, max_epochs: 10 }, val_dataloader: null }));
    wide.runner.train();
    expect(wide.lines.find((l) => l.includes('Epoch(train)'))).toContain('Epoch(train)  [1][2/4]  lr:');
    expect(wide.lines.find((l) => l.includes('Epoch(train) [10][2/4]'))).toBeDefined();
  });

  it('writes MMEngine-format scalars to vis_data/scalars.json and vis_data/<timestamp>.json', () => {
    const visData = path.join(runner.runDir!, 'vis_data');
    const records = readJsonLines(path.join(visData, 'scalars.json'));
    expect(readJsonLines(path.join(visData, `${runner.timestamp}.json`))).toEqual(records);
    const trainRecords = records.filter((r) => 'loss' in r);
    expect(trainRecords.map((r) => [r.epoch, r.iter, r.step])).toEqual([
      [1, 2, 2],
      [1, 4, 4],
      [2, 6, 6],
      [2, 8, 8],
      [3, 10, 10],
      [3, 12, 12],
    ]);
    expect(Object.keys(trainRecords[0])).toEqual(['lr', 'data_time', 'loss', 'time', 'epoch', 'iter', 'step']);
    expect(trainRecords[0].lr).toBe(1e-3);
    const valRecords = records.filter((r) => 'accuracy' in r);
    // log_metric_by_epoch (default True): val metrics at the epoch.
    expect(valRecords.map((r) => Object.keys(r))).toEqual([
      ['accuracy', 'data_time', 'time', 'step'],
      ['accuracy', 'data_time', 'time', 'step'],
    ]);
    expect(valRecords.map((r) => r.step)).toEqual([2, 3]);
    expect(valRecords[1].accuracy).toBe(runner.lastMetrics.val!.accuracy);
    expect(fs.readFileSync(path.join(visData, 'config.py'), 'utf8')).toContain("train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=2)");
  });

  it('val_begin delays validation; epoch-based schedulers step per epoch', () => {
    const { runner: r, recorder: rec } = build(
      config({
        train_cfg: { type: 'EpochBasedTrainLoop', max_epochs: 3, val_begin: 3 },
        param_scheduler: [{ type: 'MultiStepLR', by_epoch: true, milestones: [1, 2], gamma: 0.1 }],
        custom_hooks: [{ type: 'LoopsTestRecorderHook' }],
      }),
    );
    r.train();
    expect(rec!.calls.filter((c) => c === 'before_val')).toHaveLength(1);
    expect(rec!.calls.indexOf('before_val')).toBeGreaterThan(rec!.calls.lastIndexOf('after_train_epoch'));
    expect(r.optimWrapper!.getLr().lr[0]).toBeCloseTo(1e-5, 12);
  });

  it('refuses bad epoch-loop settings with the key', () => {
    expect(() => build(config({ train_cfg: { by_epoch: true, max_epochs: 0 } }))).toThrow(/train_cfg\.max_epochs must be a positive integer, got 0/);
    expect(() => build(config({ train_cfg: { by_epoch: true, max_iters: 10 } }))).toThrow(/train_cfg\.max_iters: unknown option for EpochBasedTrainLoop/);
    expect(() => build(config({ train_cfg: { type: 'IterBasedTrainLoop', by_epoch: true, max_iters: 10 } }))).toThrow(/train_cfg\.by_epoch=True contradicts type IterBasedTrainLoop/);
  });
});

describe('log_processor', () => {
  it('by_epoch=False logs Iter(train) lines with an epoch loop; window_size averages the losses', () => {
    const { runner, lines } = build(config({ log_processor: { by_epoch: false, window_size: 1 }, val_dataloader: null }));
    expect(runner.logProcessor.windowSize).toBe(1);
    runner.train();
    const train = lines.filter((l) => l.includes('Iter(train)'));
    expect(train.map((l) => l.match(/Iter\(train\) \[([ \d]+\/12)\]/)![1])).toEqual([' 2/12', ' 4/12', ' 6/12', ' 8/12', '10/12', '12/12']);
    expect(lines.some((l) => l.includes('Epoch('))).toBe(false);
    expect(() => build(config({ log_processor: { window_sise: 5 } }))).toThrow(/^log_processor\.window_sise: unknown option \(accepted: window_size, by_epoch, num_digits, custom_cfg, mean_pattern\)/);
    expect(() => build(config({ log_processor: { window_size: 0 } }))).toThrow(/log_processor\.window_size must be a positive integer/);
  });
});

describe('TestLoop (test_cfg, test_dataloader, test_evaluator)', () => {
  it('runs the test hooks between before_run and after_run and returns the metrics', () => {
    const workDir = path.join(tmpRoot, 'test-loop');
    const { runner, lines, recorder } = build(config({ train_cfg: undefined, optim_wrapper: undefined, custom_hooks: [{ type: 'LoopsTestRecorderHook' }] }), workDir);
    const metrics = runner.test();
    expect(Object.keys(metrics)).toEqual(['accuracy']);
    expect(runner.lastMetrics.test).toEqual(metrics);
    expect(recorder!.calls).toEqual(['before_run', 'before_test', 'test_iter_0', 'test_iter_1', 'after_test_epoch accuracy', 'after_test', 'after_run']);
    // No train loop: MMEngine's default LogProcessor (by_epoch) prints Epoch(test).
    expect(lines.find((l) => l.includes('Epoch(test)') && l.includes('accuracy'))).toMatch(/Epoch\(test\) \[2\/2\]    accuracy: 0\.\d{4}  data_time: \d+\.\d{4}  time: \d+\.\d{4}$/);
    // LoggerHook dumps the test metrics into <run>/<timestamp>.json.
    const dumped = JSON.parse(fs.readFileSync(path.join(runner.runDir!, `${runner.timestamp}.json`), 'utf8'));
    expect(dumped.accuracy).toBe(metrics.accuracy);
  });

  it('refuses a test loop without its evaluator, another loop type, and test() without one', () => {
    expect(() => build(config({ test_evaluator: undefined }))).toThrow(/^test_evaluator: expected a dict/);
    expect(() => build(config({ test_cfg: { type: 'ValLoop' } }))).toThrow(/^test_cfg\.type: only TestLoop is available, got 'ValLoop'/);
    expect(() => build(config({ val_cfg: { type: 'ValLoop', fp16: true } }))).toThrow(/^val_cfg\.fp16: unknown option for ValLoop/);
    const { runner } = build(config({ test_dataloader: undefined, test_evaluator: undefined }));
    expect(() => runner.test()).toThrow(/Runner\.test: no test_dataloader/);
  });
});

describe('auto_scale_lr', () => {
  it('scales every param group lr by batch size / base_batch_size before the schedulers take it', () => {
    const { runner, lines } = build(
      config({ auto_scale_lr: { base_batch_size: 25, enable: true }, param_scheduler: [{ type: 'LinearLR', start_factor: 0.5, by_epoch: false, begin: 0, end: 4 }], val_dataloader: null }),
    );
    expect(lines).toContainEqual(expect.stringMatching(/LR is set based on batch size of 25 and the current batch size is 50\. Scaling the original LR by 2\.0\.$/));
    // LinearLR started from the scaled lr: 0.5 * 2e-3.
    expect(runner.optimWrapper!.getLr().lr[0]).toBeCloseTo(1e-3, 15);
    runner.train();
    expect(runner.optimWrapper!.getLr().lr[0]).toBeCloseTo(2e-3, 15);
    const off = build(config({ auto_scale_lr: { base_batch_size: 25, enable: false } }));
    expect(off.runner.optimWrapper!.getLr().lr[0]).toBe(1e-3);
    expect(() => build(config({ auto_scale_lr: { enable: true } }))).toThrow(/auto_scale_lr\.base_batch_size: Lack of `base_batch_size`/);
    expect(() => build(config({ auto_scale_lr: { base_batch_size: 16, enabled: true } }))).toThrow(/^auto_scale_lr\.enabled: unknown option/);
  });
});

describe('default_scope, randomness, visualizer', () => {
  it('accepts types prefixed with the default scope or mmengine, refuses other scopes', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { runner } = build(
      config({
        default_scope: 'mmseg',
        custom_hooks: [{ type: 'mmseg.EMAHook' }, { type: 'mmengine.SyncBuffersHook' }],
        default_hooks: { visualization: { type: 'mmseg.SegVisualizationHook' } },
      }),
    );
    expect(runner.hooks.map((h) => h.typeName)).toContain('EMAHook');
    expect(runner.hooks.map((h) => h.typeName)).toContain('SegVisualizationHook');
    expect(warn).toHaveBeenCalled();
    expect(() => build(config({ default_scope: 'mmseg', custom_hooks: [{ type: 'mmdet.EMAHook' }] }))).toThrow(
      /^custom_hooks\[0\]\.type: 'mmdet\.EMAHook' names scope 'mmdet', which is not available \(default_scope: 'mmseg'\)/,
    );
    expect(() => build(config({ default_scope: 3 }))).toThrow(/^default_scope: expected a scope name/);
  });

  it('a config holding hook objects (no Python form) still runs; only vis_data/config.py is left out', () => {
    const { runner } = build(config({ val_dataloader: null, custom_hooks: [new LoopRecorderHook()] }), path.join(tmpRoot, 'objects'));
    runner.train();
    expect(fs.readdirSync(path.join(runner.runDir!, 'vis_data')).sort()).toEqual([`${runner.timestamp}.json`, 'scalars.json']);
  });

  it('randomness accepts seed, deterministic and diff_rank_seed only', () => {
    expect(build(config({ randomness: { seed: 1, deterministic: false, diff_rank_seed: false } })).runner.seed).toBe(1);
    expect(() => build(config({ randomness: { seed: 1, determinstic: true } }))).toThrow(/^randomness\.determinstic: unknown option/);
    expect(() => build(config({ randomness: { seed: 1, deterministic: 'yes' } }))).toThrow(/randomness\.deterministic must be True or False/);
  });

  it('builds the configured visualizer; SegVisualizationHook and NaiveVisualizationHook draw prediction summaries', () => {
    const workDir = path.join(tmpRoot, 'visualizer');
    const { runner } = build(
      config({
        train_cfg: { by_epoch: true, max_epochs: 1 },
        visualizer: { type: 'SegLocalVisualizer', vis_backends: [{ type: 'LocalVisBackend' }], name: 'visualizer' },
        default_hooks: { logger: { type: 'LoggerHook', interval: 2 }, visualization: { type: 'SegVisualizationHook', draw: true, interval: 2 } },
        custom_hooks: [{ type: 'NaiveVisualizationHook' }],
      }),
      workDir,
    );
    expect(runner.visualizer.name).toBe('visualizer');
    runner.train();
    runner.test();
    const images = fs.readdirSync(path.join(runner.runDir!, 'vis_data', 'vis_image')).sort();
    // Val batch 2 (samples 100..199) at iteration 4; each test sample once, at step 0.
    expect(images.filter((f) => f.startsWith('val_'))).toEqual(Array.from({ length: 100 }, (_, i) => `val_${100 + i}_4.json`).sort());
    expect(images.filter((f) => f.startsWith('sample_'))).toHaveLength(200);
    const summary = JSON.parse(fs.readFileSync(path.join(runner.runDir!, 'vis_data', 'vis_image', 'sample_0_0.json'), 'utf8'));
    expect(Object.keys(summary).sort()).toEqual(['gtLabel', 'predLabel']);
    // TensorboardVisBackend gets the same folder (test/tensorboard.test.ts reads its files back).
    const tb = build(config({ visualizer: { type: 'Visualizer', vis_backends: [{ type: 'TensorboardVisBackend' }] } }), path.join(tmpRoot, 'tb')).runner;
    expect((tb.visualizer.backends[0] as TensorboardVisBackend).saveDir).toBe(path.join(tb.runDir!, 'vis_data'));
  });
});

describe('EMAHook in a run', () => {
  /** Snapshots the first parameter after each train iteration and during/after validation. */
  class ProbeHook extends Hook {
    trained: Float32Array | null = null;
    average: Float32Array | null = null;
    duringVal: Float32Array | null = null;
    restored: Float32Array | null = null;
    override afterTrainIter(runner: Runner): void {
      this.trained = runner.model.parameters()[0].data.slice();
      const ema = runner.hooks.find((h): h is EMAHook => h instanceof EMAHook)!;
      this.average = (ema.emaModel.averagedTensors()[0].data as Float32Array).slice();
    }
    override beforeValIter(runner: Runner): void {
      this.duringVal = runner.model.parameters()[0].data.slice();
    }
    override afterVal(runner: Runner): void {
      this.restored = runner.model.parameters()[0].data.slice();
    }
  }
  const ema = (hook: Record<string, unknown>) => {
    const probe = new ProbeHook();
    probe.priority = 100;
    const { runner } = build(config({ train_cfg: { by_epoch: false, max_iters: 4, val_interval: 4 }, custom_hooks: [hook, probe] }));
    return { runner, probe, hook: runner.hooks.find((h): h is EMAHook => h instanceof EMAHook)! };
  };

  it('validates with the averaged weights and restores the trained ones after', () => {
    const { runner, probe } = ema({ type: 'EMAHook', momentum: 0.1 });
    runner.train();
    expect(probe.average).not.toEqual(probe.trained);
    expect(probe.duringVal).toEqual(probe.average);
    expect(probe.restored).toEqual(probe.trained);
  });

  it('before begin_iter the average is a copy of the model (the guide start_iters too)', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { runner, probe } = ema({ type: 'EMAHook', momentum: 0.1, start_iters: 3 });
    runner.train();
    // Iteration 3 (index 2) starts the average (its first update copies), iteration 4 averages.
    expect(probe.average).not.toEqual(probe.trained);
    const same = ema({ type: 'EMAHook', momentum: 0.1, begin_iter: 3 });
    same.runner.train();
    expect(same.probe.average).toEqual(probe.average);
    // Starting at the last iteration: copies until then, and the first update copies too.
    const late = ema({ type: 'EMAHook', momentum: 0.1, begin_iter: 4 });
    late.runner.train();
    expect(late.probe.average).toEqual(late.probe.trained);
    expect(late.probe.duringVal).toEqual(late.probe.trained);
    const { runner: r2, probe: p2 } = ema({ type: 'EMAHook', momentum: 0.1, begin_iter: 5 });
    expect(() => r2.train()).toThrow(/begin_iter should be smaller than or equal to runner\.max_iters: 4, but got begin_iter: 5/);
    expect(p2.duringVal).toBeNull();
  });

  it('puts the averaged state into a checkpoint dict and takes it back, resuming or not', () => {
    const { runner, hook, probe } = ema({ type: 'EMAHook', momentum: 0.1 });
    runner.train();
    const [name0] = runner.model.namedParameters()[0];
    const stateDict = Object.fromEntries(runner.model.namedParameters().map(([n, p]) => [n, p.data.slice()]));
    const checkpoint: Record<string, unknown> = { state_dict: stateDict };
    hook.beforeSaveCheckpoint(runner, checkpoint);
    const emaState = checkpoint.ema_state_dict as Record<string, unknown>;
    expect(emaState.steps).toBe(4);
    // Saved weights are the averaged ones; the EMA entry holds the trained ones.
    expect(stateDict[name0]).toEqual(probe.average);
    expect(emaState[`module.${name0}`]).toEqual(probe.trained);

    const resumed = ema({ type: 'EMAHook', momentum: 0.1 });
    resumed.runner.callHook('before_run');
    resumed.runner.resume = true;
    resumed.hook.afterLoadCheckpoint(resumed.runner, checkpoint);
    expect(resumed.hook.emaModel.steps).toBe(4);
    expect(resumed.hook.emaModel.averagedTensors()[0].data).toEqual(probe.average);
    expect(stateDict[name0]).toEqual(probe.trained);

    // Loading weights only (not resuming): the average starts from state_dict.
    const loaded = ema({ type: 'EMAHook', momentum: 0.1 });
    loaded.runner.callHook('before_run');
    loaded.hook.afterLoadCheckpoint(loaded.runner, { state_dict: { [name0]: probe.average } });
    expect(loaded.hook.emaModel.averagedTensors()[0].data).toEqual(probe.average);
    expect(loaded.hook.emaModel.steps).toBe(0);
    const strict = ema({ type: 'EMAHook', strict_load: true });
    strict.runner.callHook('before_run');
    expect(() => strict.hook.afterLoadCheckpoint(strict.runner, { state_dict: { [name0]: probe.average } })).toThrow(/strict_load\): missing keys/);
  });
});

describe('EMAHook through real checkpoints', () => {
  it('resuming restores the average exactly: the resumed run ends with the uninterrupted run’s average', () => {
    const workDir = path.join(tmpRoot, 'ema-resume');
    const cfg = (extra: Record<string, unknown> = {}) =>
      config({
        train_cfg: { by_epoch: false, max_iters: 8, val_interval: 8 },
        default_hooks: { logger: { type: 'LoggerHook', interval: 4 }, checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 4 } },
        custom_hooks: [{ type: 'EMAHook', momentum: 0.1 }],
        ...extra,
      });
    const averageOf = (r: Runner) => r.hooks.find((h): h is EMAHook => h instanceof EMAHook)!.emaModel.averagedTensors().map((t) => Array.from(t.data));
    const full = build(cfg(), workDir).runner;
    full.train();
    const checkpoint = fs.readdirSync(workDir).find((f) => /^iter_4\./.test(f));
    expect(checkpoint).toBeDefined();
    const resumed = build(cfg({ load_from: path.join(workDir, checkpoint!), resume: true }), path.join(tmpRoot, 'ema-resume-2')).runner;
    resumed.train();
    expect(resumed.hooks.find((h): h is EMAHook => h instanceof EMAHook)!.emaModel.steps).toBe(8);
    expect(averageOf(resumed)).toEqual(averageOf(full));
    expect(Array.from(resumed.model.parameters()[0].data)).toEqual(Array.from(full.model.parameters()[0].data));
  });
});

describe('EpochBasedTrainLoop resumed from a checkpoint', () => {
  it('ends bit-identical to the uninterrupted run from mid-epoch, end-of-epoch and epoch checkpoints', () => {
    const cfg = (checkpoint: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      config({
        val_dataloader: null,
        train_cfg: { by_epoch: true, max_epochs: 3 },
        param_scheduler: [{ type: 'MultiStepLR', by_epoch: true, milestones: [1, 2], gamma: 0.5 }],
        default_hooks: { logger: { type: 'LoggerHook', interval: 1 }, checkpoint: { type: 'CheckpointHook', ...checkpoint } },
        ...extra,
      });
    const trainLines = (lines: string[]) => lines.flatMap((l) => l.match(/Epoch\(train\) (\[\d\]\[\d\/4\])/)?.[1] ?? []);
    for (const [checkpoint, files] of [
      [{ by_epoch: false, interval: 2 }, ['iter_2', 'iter_4', 'iter_6']],
      [{ interval: 1 }, ['epoch_1', 'epoch_2']],
    ] as const) {
      const workDir = fs.mkdtempSync(path.join(tmpRoot, 'epoch-resume-'));
      const full = build(cfg(checkpoint), workDir);
      full.runner.train();
      const expected = Array.from(full.runner.model.parameters()[0].data);
      for (const name of files) {
        const file = fs.readdirSync(workDir).find((f) => f.startsWith(`${name}.`))!;
        const resumed = build(cfg(checkpoint, { load_from: path.join(workDir, file), resume: true }), fs.mkdtempSync(path.join(tmpRoot, 'epoch-resumed-')));
        resumed.runner.train();
        expect([name, resumed.runner.epoch, resumed.runner.iter]).toEqual([name, 3, 12]);
        expect(Array.from(resumed.runner.model.parameters()[0].data)).toEqual(expected);
        // The resumed lines go on where the checkpoint was taken: iter_4 ends epoch 1, so epoch 2 comes next.
        const done = name.startsWith('iter_') ? Number(name.slice(5)) : 4 * Number(name.slice(6));
        expect(trainLines(resumed.lines)).toEqual(trainLines(full.lines).slice(done));
      }
    }
  });
});
