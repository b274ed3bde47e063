// The distributed config keys: model_wrapper_cfg (MMDistributedDataParallel's bucket_cap_mb,
// broadcast_buffers, find_unused_parameters, and Anvil's overlap_grad_reduce) and
// randomness.diff_rank_seed, over a simulated rank 1 of a world of two.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { DefaultSampler, Hook, resumeCheckpoint, Runner, saveCheckpoint, writeCheckpointFile } from '../ts';
import type { DistContext } from '../ts/dist';
import { setDist } from '../ts/dist';
import { readModelWrapperCfg } from '../ts/dist/model-wrapper';
import { globalRng } from '../ts/util/random';
import { SimulatedGroup } from './helpers/simulated-group';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-dist-cfg-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
afterEach(() => setDist(null));

/** What rank 0 contributes to the next all-gather. */
let peerBytes: Uint8Array = new Uint8Array(0);
/** Rank 1 of two whose peer holds the same values (a sum doubles), and `peerBytes` to all-gathers. */
const rank1 = () => new SimulatedGroup((d) => (d instanceof Uint8Array ? peerBytes : d), 1);

function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: {
      type: 'Sequential',
      layers: [{ type: 'Flatten' }, { type: 'Linear', in_features: 784, out_features: 8 }, { type: 'BatchNorm1d', num_features: 8 }, { type: 'ReLU' }, { type: 'Linear', in_features: 8, out_features: 10 }],
    },
    train_dataloader: { batch_size: 8, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 32 } },
    train_cfg: { type: 'IterBasedTrainLoop', max_iters: 2 },
    optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'SGD', lr: 0.05 } },
    default_hooks: { logger: { type: 'LoggerHook', interval: 1 } },
    randomness: { seed: 7 },
    ...overrides,
  };
}

describe('model_wrapper_cfg', () => {
  it("reads MMDistributedDataParallel's options, MMEngine's defaults when absent", () => {
    expect(readModelWrapperCfg(undefined)).toEqual({ gradSync: {}, broadcastBuffers: false });
    expect(readModelWrapperCfg({ type: 'MMDistributedDataParallel', bucket_cap_mb: 4, broadcast_buffers: true, find_unused_parameters: true, overlap_grad_reduce: false })).toEqual({
      gradSync: { bucketCapMb: 4, overlap: false },
      broadcastBuffers: true,
    });
    expect(() => readModelWrapperCfg({ type: 'MMFullyShardedDataParallel' })).toThrow(`model_wrapper_cfg.type: Anvil's data parallelism is MMDistributedDataParallel, got "MMFullyShardedDataParallel"`);
    expect(() => readModelWrapperCfg({ bucket_cap: 4 })).toThrow('model_wrapper_cfg.bucket_cap: unknown option (accepted: type, bucket_cap_mb, overlap_grad_reduce, broadcast_buffers, find_unused_parameters)');
    expect(() => readModelWrapperCfg({ bucket_cap_mb: 0 })).toThrow('model_wrapper_cfg.bucket_cap_mb must be a positive number of MiB, got 0');
    expect(() => readModelWrapperCfg({ broadcast_buffers: 'yes' })).toThrow('model_wrapper_cfg.broadcast_buffers must be True or False, got "yes"');
    expect(() => readModelWrapperCfg({ overlap_grad_reduce: 1 })).toThrow('model_wrapper_cfg.overlap_grad_reduce must be True or False, got 1');
    expect(() => readModelWrapperCfg(undefined, 1)).toThrow('find_unused_parameters must be True or False, got 1');
  });

  it('reaches the optimizer wrapper, and broadcast_buffers sends rank 0’s buffers before every step', () => {
    const group = rank1();
    setDist(group);
    const runner = Runner.fromConfig(config({ model_wrapper_cfg: { bucket_cap_mb: 2, broadcast_buffers: true } }), { echo: () => {} });
    expect(runner.optimWrapper!.dataParallel).toEqual({ bucketCapMb: 2, overlap: undefined });
    group.calls.length = 0;
    runner.train();
    // BatchNorm1d(8): running_mean and running_var (16 float32), num_batches_tracked (1 int64).
    // The parameters and buffers at the start (BatchNorm1d(8): 16 float32 statistics, 1 int64
    // counter), the buffers before each of the 2 steps, and once the learned bucket layout (6 tensors).
    expect(group.calls.filter((l) => l.startsWith('broadcast'))).toEqual([
      'broadcast:6386',
      'broadcast:16',
      'broadcast:1',
      'broadcast:16',
      'broadcast:1',
      'broadcast:12',
      'broadcast:16',
      'broadcast:1',
    ]);
  });
});

describe('randomness.diff_rank_seed', () => {
  it('seeds rank r with seed + r while the sampler keeps the common seed', () => {
    // The generator's state once the runner is built (the model's initialisation drew from it).
    const built = (cfg: Record<string, unknown>, group: DistContext | null) => {
      setDist(group);
      const runner = Runner.fromConfig(cfg, { echo: () => {} });
      setDist(null);
      return { runner, state: globalRng().getState() };
    };
    const alone8 = built(config({ randomness: { seed: 8 } }), null);
    const same = built(config(), rank1());
    const diff = built(config({ randomness: { seed: 7, diff_rank_seed: true } }), rank1());
    expect(diff.state).toEqual(alone8.state);
    expect(same.state).toEqual(built(config(), null).state);
    expect(diff.state).not.toEqual(same.state);
    expect(diff.runner.seed).toBe(7);
    expect((diff.runner.trainDataloader!.sampler as DefaultSampler).seed).toBe((same.runner.trainDataloader!.sampler as DefaultSampler).seed);
  });

  it("checkpoints keep every rank's generator, and each rank resumes its own", () => {
    const group = rank1();
    setDist(group);
    const runner = Runner.fromConfig(config({ randomness: { seed: 7, diff_rank_seed: true } }), { echo: () => {} });
    const saved: Record<string, unknown>[] = [];
    class Capture extends Hook {
      override beforeSaveCheckpoint(_r: Runner, c: Record<string, unknown>): void {
        saved.push(c);
      }
    }
    runner.registerHook(new Capture());
    const peer = [1, 2, 3, 4];
    peerBytes = new TextEncoder().encode(JSON.stringify(peer));
    const own = globalRng().getState();
    // Rank 1 takes part (the gather) but does not write.
    const notWritten = path.join(tmpRoot, 'rank1.safetensors');
    saveCheckpoint(runner, notWritten);
    expect(fs.existsSync(notWritten)).toBe(false);
    const meta = saved[0].meta as Record<string, unknown>;
    expect(meta.rank_rng).toEqual([peer, own]);
    expect(meta.seed).toBe(7);
    // The file rank 0 writes from it: rank 0's generator as `rng`, every rank's in `rank_rng`.
    const file = path.join(tmpRoot, 'two-ranks.safetensors');
    writeCheckpointFile(file, { ...saved[0], meta: { ...meta, rng: peer } });
    globalRng().setState([9, 9, 9, 9]);
    resumeCheckpoint(runner, file);
    expect(globalRng().getState()).toEqual(own);
    // Without diff_rank_seed (or in another world size) every rank takes rank 0's.
    setDist(null);
    resumeCheckpoint(runner, file);
    expect(globalRng().getState()).toEqual(peer);
  });
});
