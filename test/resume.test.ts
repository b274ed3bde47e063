// Exact resume: a run resumed from a checkpoint at iteration k ends with bit-identical weights
// to the uninterrupted run (same lr sequence, same batches, none replayed), iteration- and
// epoch-based, with BatchNorm buffers, dropout's random stream and AMP's loss scale in play.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Hook, HOOKS, MNIST, Runner } from '../ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-resume-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** Records the labels of every trained batch and the lr it was trained with. */
class BatchRecorderHook extends Hook {
  static last: BatchRecorderHook | null = null;
  readonly batches: string[] = [];
  readonly lrs: number[] = [];
  constructor() {
    super();
    BatchRecorderHook.last = this;
  }
  override beforeTrainIter(runner: Runner, _idx: number, batch: unknown): void {
    this.batches.push(Array.from((batch as { labels: Uint32Array }).labels.slice(0, 8)).join(''));
    this.lrs.push(runner.optimWrapper!.getLr().lr[0]);
  }
}
HOOKS.registerClass('BatchRecorderHook', BatchRecorderHook, { accepts: [] });

/** 600 samples in batches of 50: 12 iterations per epoch. */
function config(workDir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    work_dir: workDir,
    model: {
      type: 'Sequential',
      layers: [
        { type: 'Flatten' },
        { type: 'Linear', in_features: 784, out_features: 32 },
        { type: 'BatchNorm1d', num_features: 32 },
        { type: 'ReLU' },
        { type: 'Dropout', p: 0.2 },
        { type: 'Linear', in_features: 32, out_features: 10 },
      ],
    },
    train_dataloader: { batch_size: 50, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 600 } },
    train_cfg: { type: 'IterBasedTrainLoop', max_iters: 30 },
    optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'AdamW', lr: 0.01, weight_decay: 0.01 }, clip_grad: { max_norm: 1.0 } },
    param_scheduler: [
      { type: 'LinearLR', start_factor: 0.1, by_epoch: false, begin: 0, end: 10 },
      { type: 'CosineAnnealingLR', by_epoch: false, begin: 10, end: 30, eta_min: 1e-4 },
    ],
    default_hooks: { logger: { type: 'LoggerHook', interval: 10 }, checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 8 } },
    custom_hooks: [{ type: 'BatchRecorderHook' }],
    randomness: { seed: 7 },
    ...overrides,
  };
}

function train(cfg: Record<string, unknown>): { runner: Runner; recorder: BatchRecorderHook } {
  const runner = Runner.fromConfig(cfg, { echo: () => {} });
  runner.train();
  return { runner, recorder: BatchRecorderHook.last! };
}

/** Every weight and buffer as raw bits, by name. */
function weights(runner: Runner): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [n, p] of runner.model.namedParameters()) out[n] = Array.from(new Uint32Array(p.data.slice().buffer));
  for (const [n, b] of runner.model.namedBuffers()) out[n] = Array.from(b.data);
  return out;
}

function checkResume(base: Record<string, unknown>, dir: string, file: string, k: number) {
  const full = train(base);
  const ckpt = path.join(dir, file);
  expect(fs.existsSync(ckpt)).toBe(true);
  const spy = vi.spyOn(MNIST.prototype, 'getBatch');
  const resumed = train({ ...base, work_dir: path.join(dir, 'resumed'), resume: true, load_from: ckpt });
  const built = spy.mock.calls.length;
  spy.mockRestore();
  expect(resumed.runner.iter).toBe(full.runner.iter);
  // Same batches from k on, none replayed (no batch built for the consumed ones) nor shifted.
  expect(resumed.recorder.batches).toEqual(full.recorder.batches.slice(k));
  expect(built).toBe(full.recorder.batches.length - k);
  // Same learning rates, warmup included.
  expect(resumed.recorder.lrs).toEqual(full.recorder.lrs.slice(k));
  expect(weights(resumed.runner)).toEqual(weights(full.runner));
  return { full, resumed };
}

describe('exact resume', () => {
  it('iteration-based: resuming mid-epoch (iter 16) and at an epoch boundary (iter 24) ends bit-identical', () => {
    const dir = path.join(tmpRoot, 'iter');
    const base = config(dir);
    checkResume(base, dir, 'iter_16.safetensors', 16);
    const { full, resumed } = checkResume(base, dir, 'iter_24.safetensors', 24);
    // The message hub came along: the resumed run's loss history is the full one.
    expect(Array.from(resumed.runner.messageHub.getScalar('train/loss')!.toArray())).toEqual(Array.from(full.runner.messageHub.getScalar('train/loss')!.toArray()));
  });

  it('epoch-based: resuming mid-epoch and from an epoch checkpoint ends bit-identical', () => {
    const dir = path.join(tmpRoot, 'epoch');
    const base = config(dir, {
      train_cfg: { type: 'EpochBasedTrainLoop', max_epochs: 3 },
      param_scheduler: [
        { type: 'LinearLR', start_factor: 0.1, by_epoch: false, begin: 0, end: 10 },
        { type: 'MultiStepLR', by_epoch: true, milestones: [1, 2], gamma: 0.5 },
      ],
    });
    checkResume(base, dir, 'iter_16.safetensors', 16);
    const byEpoch = { ...base, default_hooks: { checkpoint: { type: 'CheckpointHook', interval: 1 } } };
    checkResume(byEpoch, dir, 'epoch_1.safetensors', 12);
  });

  it('AMP: the loss scale and skipped steps resume too', () => {
    const dir = path.join(tmpRoot, 'amp');
    const base = config(dir, {
      optim_wrapper: { type: 'AmpOptimWrapper', optimizer: { type: 'SGD', lr: 0.05, momentum: 0.9 }, dtype: 'float16', loss_scale: { init_scale: 2 ** 24, growth_interval: 3 } },
    });
    const { full, resumed } = checkResume(base, dir, 'iter_16.safetensors', 16);
    const scale = (r: Runner) => Array.from(r.messageHub.getScalar('train/loss_scale')!.toArray());
    expect(scale(resumed.runner)).toEqual(scale(full.runner));
    // 2^24 overflows fp16 gradients at first: those steps were skipped and counted.
    expect(full.runner.messageHub.getScalar('train/skipped_steps')!.current()).toBeGreaterThan(0);
  });
});
