import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnvilError, Hook, HOOKS, Runner } from '../ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-runner-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** A small MNIST run: 2000 train / 500 test samples, batch 50. */
function mnistConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [64], num_classes: 10 },
    train_dataloader: {
      batch_size: 50,
      num_workers: 0,
      sampler: { type: 'DefaultSampler', shuffle: true },
      dataset: { type: 'MNIST', split: 'train', limit: 2000 },
    },
    val_dataloader: {
      batch_size: 250,
      sampler: { type: 'DefaultSampler', shuffle: false },
      dataset: { type: 'MNIST', split: 'test', limit: 500 },
    },
    val_evaluator: { type: 'Accuracy' },
    train_cfg: { type: 'IterBasedTrainLoop', max_iters: 100, val_interval: 50 },
    optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'AdamW', lr: 1e-3 } },
    default_hooks: { logger: { type: 'LoggerHook', interval: 20 } },
    randomness: { seed: 0 },
    ...overrides,
  };
}

/** Records every stage it sees (registered in HOOKS under a test-only name). */
class StageRecorderHook extends Hook {
  readonly calls: string[] = [];
  readonly trainIters: number[] = [];
  readonly valMetrics: Array<Record<string, number>> = [];
  constructor(readonly options: { tag?: string } = {}) {
    super();
  }
  override beforeRun(): void {
    this.calls.push('before_run');
  }
  override beforeTrain(): void {
    this.calls.push('before_train');
  }
  override beforeTrainEpoch(): void {
    this.calls.push('before_train_epoch');
  }
  override beforeTrainIter(): void {
    this.calls.push('before_train_iter');
  }
  override afterTrainIter(runner: Runner): void {
    this.calls.push('after_train_iter');
    this.trainIters.push(runner.iter);
  }
  override beforeVal(): void {
    this.calls.push('before_val');
  }
  override beforeValEpoch(): void {
    this.calls.push('before_val_epoch');
  }
  override beforeValIter(): void {
    this.calls.push('before_val_iter');
  }
  override afterValIter(): void {
    this.calls.push('after_val_iter');
  }
  override afterValEpoch(_runner: Runner, metrics: Record<string, number>): void {
    this.calls.push('after_val_epoch');
    this.valMetrics.push(metrics);
  }
  override afterVal(): void {
    this.calls.push('after_val');
  }
  override afterTrainEpoch(): void {
    this.calls.push('after_train_epoch');
  }
  override afterTrain(): void {
    this.calls.push('after_train');
  }
  override afterRun(): void {
    this.calls.push('after_run');
  }
}
HOOKS.registerClass('RunnerTestStageRecorderHook', StageRecorderHook);

function train(cfg: Record<string, unknown>, workDir: string | null = null) {
  const lines: string[] = [];
  const runner = Runner.fromConfig(cfg, { workDir, echo: (l) => lines.push(l) });
  runner.train();
  return { runner, lines };
}

const losses = (lines: string[]) => lines.flatMap((l) => l.match(/ loss: (\d+\.\d{4})$/)?.[1] ?? []);

describe('Runner.fromConfig: a small MNIST run', () => {
  const workDir = path.join(tmpRoot, 'mnist');
  const cfg = mnistConfig({ custom_hooks: [{ type: 'RunnerTestStageRecorderHook', tag: 'x', priority: 'LOWEST' }] });
  let runner: Runner;
  let lines: string[];
  let recorder: StageRecorderHook;
  beforeAll(() => {
    ({ runner, lines } = train(cfg, workDir));
    recorder = runner.hooks.find((h): h is StageRecorderHook => h instanceof StageRecorderHook)!;
  });

  it('trains to the configured iteration and a useful accuracy', () => {
    expect(runner.iter).toBe(100);
    expect(runner.maxIters).toBe(100);
    expect(runner.lastMetrics.val?.accuracy).toBeGreaterThan(0.5);
    expect(runner.lastMetrics.val!.accuracy).toBeLessThanOrEqual(1);
  });

  it('logs MMEngine-style train and val lines', () => {
    const prefix = /^\d\d\/\d\d \d\d:\d\d:\d\d - anvil - INFO - /;
    expect(lines.every((l) => prefix.test(l))).toBe(true);
    const trainLines = lines.filter((l) => l.includes('Iter(train)'));
    expect(trainLines.map((l) => l.match(/Iter\(train\) \[([ \d]+\/100)\]/)![1])).toEqual([' 20/100', ' 40/100', ' 60/100', ' 80/100', '100/100']);
    for (const l of trainLines) {
      expect(l).toMatch(/Iter\(train\) \[[ \d]{3}\/100\]  lr: 1\.0000e-03  eta: \d+:\d\d:\d\d  time: \d+\.\d{4}  data_time: \d+\.\d{4}  loss: \d+\.\d{4}$/);
    }
    const [first, last] = [Number(losses(trainLines)[0]), Number(losses(trainLines).at(-1))];
    expect(first).toBeGreaterThan(last);
    const valLines = lines.filter((l) => l.includes('Iter(val)'));
    expect(valLines).toHaveLength(2);
    for (const l of valLines) expect(l).toMatch(/Iter\(val\) \[2\/2\]    accuracy: 0\.\d{4}  data_time: \d+\.\d{4}  time: \d+\.\d{4}$/);
    expect(valLines[1]).toContain(`accuracy: ${runner.lastMetrics.val!.accuracy.toFixed(4)}`);
    // The val runs come after iterations 50 and 100.
    const at = (s: string) => lines.findIndex((l) => l.includes(s));
    expect(at('[ 40/100]')).toBeLessThan(lines.indexOf(valLines[0]));
    expect(lines.indexOf(valLines[0])).toBeLessThan(at('[ 60/100]'));
  });

  it('prints the hook stage order before training', () => {
    const i = lines.findIndex((l) => l.includes('Hooks will be executed in the following order:'));
    expect(i).toBe(0);
    expect(lines[0]).toContain(
      'following order:\nbefore_run:\n(VERY_HIGH   ) RuntimeInfoHook                    \n(BELOW_NORMAL) LoggerHook                         \n(LOWEST      ) StageRecorderHook                  \n',
    );
    expect(lines[0].endsWith(runner.getHooksInfo())).toBe(true);
    expect(lines[1]).toContain(`Logging every 20 iterations; work_dir: ${workDir}`);
    expect(lines.at(-1)).toMatch(/Run finished$/);
  });

  it('writes config.json, <timestamp>.log and vis_data into a timestamped run folder', () => {
    // The default CheckpointHook (interval 1, by epoch) saves once at the end of an iteration-based run.
    expect(fs.readdirSync(workDir).sort()).toEqual([runner.timestamp, 'epoch_1.safetensors', 'last_checkpoint'].sort());
    expect(runner.timestamp).toMatch(/^\d{8}_\d{6}$/);
    expect(runner.runDir).toBe(path.join(workDir, runner.timestamp));
    // vis_data: MMEngine's default visualizer (one LocalVisBackend) writes the config and scalars there.
    expect(fs.readdirSync(runner.runDir!).sort()).toEqual([`${runner.timestamp}.log`, 'config.json', 'vis_data'].sort());
    expect(fs.readdirSync(path.join(runner.runDir!, 'vis_data')).sort()).toEqual([`${runner.timestamp}.json`, 'config.py', 'scalars.json']);
    expect(JSON.parse(fs.readFileSync(path.join(runner.runDir!, 'config.json'), 'utf8'))).toEqual(cfg);
    expect(fs.readFileSync(path.join(runner.runDir!, `${runner.timestamp}.log`), 'utf8')).toBe(lines.join('\n') + '\n');
  });

  it('calls a custom hook from the config in stage order', () => {
    expect(recorder.options).toEqual({ tag: 'x' });
    expect(recorder.priority).toBe(100);
    const iters = (n: number) => Array.from({ length: n }, () => ['before_train_iter', 'after_train_iter']).flat();
    const val = ['before_val', 'before_val_epoch', 'before_val_iter', 'after_val_iter', 'before_val_iter', 'after_val_iter', 'after_val_epoch', 'after_val'];
    expect(recorder.calls).toEqual([
      'before_run',
      'before_train',
      'before_train_epoch',
      ...iters(50),
      ...val,
      ...iters(50),
      ...val,
      'after_train_epoch',
      'after_train',
      'after_run',
    ]);
    expect(recorder.calls.filter((c) => c === 'after_train_iter')).toHaveLength(100);
    expect(recorder.trainIters).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(recorder.valMetrics).toHaveLength(2);
    expect(recorder.valMetrics[1]).toEqual(runner.lastMetrics.val);
  });
});

describe('Runner.fromConfig: determinism', () => {
  it('gives identical losses and accuracy for the same seed, different ones for another', () => {
    const short = (seed: number) => mnistConfig({ train_cfg: { by_epoch: false, max_iters: 40, val_interval: 40 }, randomness: { seed } });
    const a = train(short(3));
    const b = train(short(3));
    const c = train(short(4));
    expect(a.runner.iter).toBe(40);
    expect(losses(a.lines)).toHaveLength(2);
    expect(losses(b.lines)).toEqual(losses(a.lines));
    expect(b.runner.lastMetrics.val!.accuracy).toBe(a.runner.lastMetrics.val!.accuracy);
    expect(losses(c.lines)).not.toEqual(losses(a.lines));
    expect(Array.from(b.runner.model.parameters()[0].data)).toEqual(Array.from(a.runner.model.parameters()[0].data));
  });
});

describe('Runner.fromConfig: config errors', () => {
  const build = (cfg: Record<string, unknown>) => () => Runner.fromConfig(cfg, { workDir: null, echo: () => {} });

  it('names the config key that is wrong', () => {
    expect(build(mnistConfig({ model: { type: 'ResNet18' } }))).toThrow(AnvilError);
    expect(build(mnistConfig({ model: { type: 'ResNet18' } }))).toThrow(/^model\.type: 'ResNet18' is not registered in MODELS/);
    expect(build(mnistConfig({ model: { type: 'MLPClassifier', in_features: 784, num_classes: 1 } }))).toThrow(/^model \(MLPClassifier\): MLPClassifier: num_classes/);
    const dl = mnistConfig().train_dataloader as Record<string, unknown>;
    expect(build(mnistConfig({ train_dataloader: { ...dl, shuffle: true } }))).toThrow(new AnvilError('train_dataloader.shuffle: unknown dataloader option'));
    expect(build(mnistConfig({ train_dataloader: { ...dl, dataset: { type: 'CIFAR10' } } }))).toThrow(/^train_dataloader\.dataset\.type: 'CIFAR10' is not registered in DATASETS/);
    expect(build(mnistConfig({ val_evaluator: undefined }))).toThrow(/^val_evaluator: expected a dict/);
    expect(build(mnistConfig({ optim_wrapper: { optimizer: { type: 'SGD', lr: -1 } } }))).toThrow(/^optim_wrapper\.optimizer \(SGD\): SGD: Invalid learning rate: -1/);
    expect(build(mnistConfig({ randomness: { seed: 'zero' } }))).toThrow(/randomness\.seed must be an integer/);
    // A typo in a built class's options is an error, not a silently different run.
    expect(build(mnistConfig({ model: { type: 'MLPClassifier', in_features: 784, hidden_size: [64], num_classes: 10 } }))).toThrow(
      /^model \(MLPClassifier\): MLPClassifier: unexpected argument 'hidden_size' \(accepted: in_features, hidden_sizes, num_classes\)/,
    );
    expect(build(mnistConfig({ default_hooks: { logger: { type: 'LoggerHook', intervall: 5 } } }))).toThrow(/^default_hooks\.logger \(LoggerHook\): LoggerHook: unexpected argument 'intervall'/);
    // Too few classes for MNIST's labels: an AnvilError at the first iteration.
    const fewClasses = build(mnistConfig({ model: { type: 'MLPClassifier', in_features: 784, num_classes: 5 } }))();
    expect(() => fewClasses.train()).toThrow(/^MLPClassifier: label \d is out of range for num_classes=5$/);
  });

  it('leaves no run folder behind when the config is bad', () => {
    const workDir = path.join(tmpRoot, 'bad-config');
    const { optim_wrapper: _dropped, ...noOptim } = mnistConfig();
    expect(() => Runner.fromConfig(noOptim, { workDir, echo: () => {} })).toThrow(/train_cfg is given but optim_wrapper is missing/);
    expect(fs.existsSync(workDir) ? fs.readdirSync(workDir) : []).toEqual([]);
  });

  it('refuses features that are not built yet instead of training differently', () => {
    expect(build(mnistConfig({ resume: 'latest' }))).toThrow(/^resume: expected True or False/);
    expect(build(mnistConfig({ load_from: 3 }))).toThrow(/^load_from: expected a checkpoint file path or None/);
    expect(build(mnistConfig({ train_cfg: { type: 'FlexibleTrainLoop', max_iters: 2 } }))).toThrow(/^train_cfg\.type: only IterBasedTrainLoop and EpochBasedTrainLoop are available, got 'FlexibleTrainLoop'/);
    expect(build(mnistConfig({ train_cfg: { by_epoch: false, max_iters: 10, val_intreval: 5 } }))).toThrow(/^train_cfg\.val_intreval: unknown option/);
    expect(build(mnistConfig({ train_cfg: { by_epoch: false, max_iters: 0 } }))).toThrow(/train_cfg\.max_iters must be a positive integer, got 0/);
    // Empty / null values of those keys are the defaults and accepted.
    expect(build(mnistConfig({ param_scheduler: [], resume: false, load_from: null }))()).toBeInstanceOf(Runner);
  });
});
