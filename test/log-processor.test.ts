// LogProcessor checked against MMEngine 0.10's: how each scalar is reduced (mean_pattern, so
// `loss_scale` is window-averaged and `lr`/`skipped_steps` are not; custom_cfg), the by_epoch
// default, and the batch numbering of an EpochBasedTrainLoop resumed mid-epoch.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnvilError, HistoryBuffer, LogProcessor, Runner } from '../ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-log-processor-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** 240 samples in batches of 20: 12 iterations an epoch. */
function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [8], num_classes: 10 },
    train_dataloader: { batch_size: 20, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 240 } },
    train_cfg: { type: 'EpochBasedTrainLoop', max_epochs: 3 },
    optim_wrapper: { optimizer: { type: 'AdamW', lr: 1e-3 } },
    default_hooks: { logger: { type: 'LoggerHook', interval: 4 }, checkpoint: null },
    randomness: { seed: 1 },
    ...overrides,
  };
}

function build(cfg: Record<string, unknown>): { runner: Runner; lines: string[] } {
  const lines: string[] = [];
  const runner = Runner.fromConfig(cfg, { workDir: (cfg.work_dir as string | undefined) ?? null, echo: (l) => lines.push(l) });
  return { runner, lines };
}

/** Fills the message hub as 12 train iterations would: loss, lr, AMP's loss_scale and skipped_steps. */
function fill(runner: Runner) {
  const series = {
    loss: Array.from({ length: 12 }, (_, i) => 2 - i / 10),
    lr: Array.from({ length: 12 }, (_, i) => 1e-3 * (i + 1)),
    loss_scale: [65536, 65536, 32768, 32768, 32768, 65536, 65536, 65536, 32768, 32768, 16384, 16384],
    skipped_steps: [0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 3, 3],
  };
  for (let i = 0; i < 12; i++) for (const [k, v] of Object.entries(series)) runner.messageHub.updateScalar(`train/${k}`, v[i]);
  return series;
}

/** A train line's head: `Iter(train) [ 4/8]` or `Epoch(train) [1][ 4/12]`. */
const HEAD = /\w+\(train\) *\[[^\]]*\](?:\[[^\]]*\])?/;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('LogProcessor reductions (MMEngine 0.10)', () => {
  it("window-averages what mean_pattern matches, loss_scale included; logs lr and skipped_steps as they are", () => {
    const { runner } = build(config());
    const s = fill(runner);
    runner.state.iter = 11;
    const { tag, line } = runner.logProcessor.afterIter(runner, 11, 'train');
    // MMEngine's default pattern `.*(loss|time|data_time|grad_norm).*` matches 'loss_scale'.
    expect(tag.loss_scale).toBe(mean(s.loss_scale.slice(-10)));
    expect(tag.loss).toBe(mean(s.loss.slice(-10)));
    expect(tag.lr).toBe(s.lr[11]);
    expect(tag.skipped_steps).toBe(3);
    expect(line).toBe(`Epoch(train) [1][12/12]  lr: 1.2000e-02  loss: ${mean(s.loss.slice(-10)).toFixed(4)}  loss_scale: ${mean(s.loss_scale.slice(-10)).toFixed(4)}  skipped_steps: 3.0000`);
  });

  it('custom_cfg replaces or adds reductions (mean/max/min/current over int, epoch or global windows); mean_pattern is configurable', () => {
    const { runner } = build(
      config({
        log_processor: {
          window_size: 4,
          mean_pattern: '.*(time|data_time)$',
          custom_cfg: [
            { data_src: 'loss_scale', method_name: 'current' },
            { data_src: 'loss', method_name: 'max', window_size: 'global', log_name: 'loss_max' },
            { data_src: 'lr', method_name: 'min', window_size: 'epoch', log_name: 'lr_min' },
            { data_src: 'skipped_steps', method_name: 'mean', window_size: 3 },
          ],
        },
      }),
    );
    const s = fill(runner);
    runner.state.iter = 9; // global window: the last 10 values
    const { tag } = runner.logProcessor.afterIter(runner, 5, 'train'); // epoch window: 6 values
    expect(tag.loss_scale).toBe(16384);
    expect(tag.loss).toBe(s.loss[11]); // no longer matches mean_pattern: the latest value
    expect(tag.loss_max).toBe(Math.max(...s.loss.slice(-10)));
    expect(tag.lr_min).toBe(Math.min(...s.lr.slice(-6)));
    expect(tag.skipped_steps).toBe(mean(s.skipped_steps.slice(-3)));
    // New names go after the scalars, replaced ones keep their place (MMEngine's OrderedDict).
    expect(Object.keys(tag)).toEqual(['loss', 'lr', 'loss_scale', 'skipped_steps', 'loss_max', 'lr_min', 'epoch', 'iter']);
  });

  it('HistoryBuffer max/min over a window and over a history too long to spread', () => {
    const h = HistoryBuffer.fromArray([3, 1, 4, 1, 5, 9, 2, 6]);
    expect([h.max(), h.min(), h.max(3), h.min(3), h.max(100)]).toEqual([9, 1, 9, 2, 9]);
    expect(new HistoryBuffer().max()).toBeNaN();
    const long = HistoryBuffer.fromArray(Float64Array.from({ length: 300_000 }, (_, i) => Math.sin(i)));
    expect(long.max()).toBeCloseTo(1, 6);
  });

  it('refuses bad custom_cfg entries and mean_pattern as MMEngine does, naming the key', () => {
    const bad = (log_processor: Record<string, unknown>) => () => build(config({ log_processor }));
    expect(bad({ custom_cfg: [{ data_src: 'loss', method_name: 'median' }] })).toThrow(/^log_processor\.custom_cfg\[0\]\.method_name must be one of mean, max, min, current, got "median"/);
    expect(bad({ custom_cfg: [{ data_src: 'loss', method_name: 'mean', window_size: 'all' }] })).toThrow(/custom_cfg\[0\]\.window_size should be int, epoch or global, but got "all"/);
    expect(bad({ custom_cfg: [{ data_src: 'loss', method_name: 'mean' }, { data_src: 'loss', method_name: 'max' }] })).toThrow(/custom_cfg\[1\]: found duplicate loss for loss/);
    expect(bad({ by_epoch: false, custom_cfg: [{ data_src: 'loss', method_name: 'mean', window_size: 'epoch' }] })).toThrow(/window_size cannot be 'epoch' if by_epoch is False/);
    // by_epoch left out follows the loop, so an iter loop refuses an 'epoch' window at its first log line.
    const lazy = build(config({ train_cfg: { type: 'IterBasedTrainLoop', max_iters: 4 }, log_processor: { custom_cfg: [{ data_src: 'loss', method_name: 'mean', window_size: 'epoch' }] } }));
    expect(() => lazy.runner.train()).toThrow(/^log_processor\.custom_cfg: window_size cannot be 'epoch' if by_epoch is False/);
    expect(bad({ custom_cfg: [{ method_name: 'mean' }] })).toThrow(/custom_cfg\[0\]\.data_src must be the name of a logged scalar/);
    expect(bad({ custom_cfg: [{ data_src: 'loss', method_name: 'mean', windows: 3 }] })).toThrow(/custom_cfg\[0\]: unknown key 'windows'/);
    expect(bad({ mean_pattern: '(loss' })).toThrow(AnvilError);
    expect(bad({ mean_pattern: '(loss' })).toThrow(/^log_processor\.mean_pattern: "\(loss" is not a valid regular expression/);
    // TS options take camelCase keys too.
    expect(new LogProcessor({ customCfg: [{ dataSrc: 'loss', methodName: 'max', windowSize: 5 }] }).customCfg).toEqual([{ dataSrc: 'loss', methodName: 'max', logName: undefined, windowSize: 5 }]);
  });
});

describe('log_processor.by_epoch default', () => {
  it("is MMEngine's True for an epoch loop and without a train loop; an iter loop logs by iteration unless set", () => {
    for (const cfg of [config(), config({ train_cfg: undefined, optim_wrapper: undefined })]) {
      const { runner } = build(cfg);
      expect(runner.logProcessor.byEpoch).toBeUndefined();
      expect(runner.logProcessor.isByEpoch(runner)).toBe(true);
    }
    const iterCfg = config({ train_cfg: { type: 'IterBasedTrainLoop', max_iters: 8 } });
    const plain = build(iterCfg);
    plain.runner.train();
    // MMEngine would number these `Epoch(train) [1][ 8/12]` (its LogProcessor defaults to
    // by_epoch=True whatever the loop; the runner sets nothing): Anvil follows the loop instead.
    expect(plain.lines.filter((l) => l.includes('(train)')).map((l) => l.match(HEAD)![0])).toEqual(['Iter(train) [4/8]', 'Iter(train) [8/8]']);
    // Set explicitly, by_epoch=True gives MMEngine's own line for an iter loop: the global
    // iteration over the dataloader's length, in epoch 1.
    const explicit = build({ ...iterCfg, log_processor: { by_epoch: true } });
    explicit.runner.train();
    expect(explicit.lines.filter((l) => l.includes('(train)')).map((l) => l.match(HEAD)![0])).toEqual(['Epoch(train) [1][ 4/12]', 'Epoch(train) [1][ 8/12]']);
  });
});

describe('EpochBasedTrainLoop resumed mid-epoch', () => {
  it('numbers the batches by their place in the epoch, so the log lines are those of the uninterrupted run', () => {
    const dir = path.join(tmpRoot, 'resume');
    const base = config({ work_dir: dir, default_hooks: { logger: { type: 'LoggerHook', interval: 4 }, checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 18 } } });
    const heads = (lines: string[]) => lines.filter((l) => l.includes('Epoch(train)')).map((l) => l.match(HEAD)![0]);
    const full = build(base);
    full.runner.train();
    expect(heads(full.lines)).toEqual(['[1][ 4/12]', '[1][ 8/12]', '[1][12/12]', '[2][ 4/12]', '[2][ 8/12]', '[2][12/12]', '[3][ 4/12]', '[3][ 8/12]', '[3][12/12]'].map((h) => `Epoch(train) ${h}`));
    // iter_18: epoch 2, after its 6th batch. MMEngine would train that epoch again from batch 0
    // (numbering it [2][ 1/12]...); Anvil skips the 6 consumed batches and goes on at [2][ 7/12],
    // so LoggerHook's every-4 and end-of-epoch lines fall where they fell before.
    const resumed = build({ ...base, work_dir: path.join(dir, 'resumed'), resume: true, load_from: path.join(dir, 'iter_18.safetensors') });
    resumed.runner.train();
    expect(heads(resumed.lines)).toEqual(heads(full.lines).slice(4));
    expect(resumed.runner.iter).toBe(36);
  });
});
