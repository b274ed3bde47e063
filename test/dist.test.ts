// Distributed pieces that need no second process: sharding against torch's DistributedSampler,
// MMEngine's result collection order, the launchers' environment, gradient averaging over a
// simulated group, and the evaluator wrapper.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { DataLoader, DefaultSampler, Parameter, SGD } from '../ts';
import { allReduceBuffers, allReduceGradients, broadcastModel, collectResults, DistEvaluator, optimizerBuckets, readDistCfg, readLaunchEnv, setDist, workerEnvs } from '../ts/dist';
import { shardIndices, shardSize } from '../ts/data/sampler';
import { Evaluator } from '../ts/evaluation/metric';
import { Accuracy } from '../ts/evaluation/accuracy';
import { ModelBuffer } from '../ts/store/store';
import { queuedPeer, SimulatedGroup } from './helpers/simulated-group';

interface TorchCase {
  n: number;
  world: number;
  shuffle: boolean;
  drop_last: boolean;
  epoch: number;
  order: number[];
  shards: number[][];
}

const FIXTURE = path.join(__dirname, 'fixtures', 'dist', 'distributed-sampler.json');

describe('shardIndices: torch.utils.data.DistributedSampler', () => {
  const { cases } = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { cases: TorchCase[] };

  it(`pads, cuts and shards exactly as torch in all ${cases.length} recorded cases`, () => {
    expect(cases.length).toBeGreaterThan(200);
    for (const c of cases) {
      const where = `n=${c.n} world=${c.world} shuffle=${c.shuffle} drop_last=${c.drop_last} epoch=${c.epoch}`;
      for (let rank = 0; rank < c.world; rank++) {
        expect(shardIndices(c.order, rank, c.world, { dropLast: c.drop_last }), where).toEqual(c.shards[rank]);
        expect(shardSize(c.n, rank, c.world, { dropLast: c.drop_last }), where).toBe(c.shards[rank].length);
      }
    }
  });

  it('without round_up (MMEngine) the shards are uneven and nothing is repeated', () => {
    expect(shardIndices([0, 1, 2, 3, 4], 0, 2, { roundUp: false })).toEqual([0, 2, 4]);
    expect(shardIndices([0, 1, 2, 3, 4], 1, 2, { roundUp: false })).toEqual([1, 3]);
    expect(shardSize(5, 1, 2, { roundUp: false })).toBe(2);
  });

  it('refuses a rank outside the world', () => {
    expect(() => shardIndices([1, 2], 2, 2)).toThrow('sampler: rank must be an integer in [0, 2), got 2');
    expect(() => new DefaultSampler({ rank: 0, worldSize: 0 })).toThrow('sampler: world size must be a positive integer, got 0');
  });
});

describe('DefaultSampler in a world of 3', () => {
  it('each epoch the shards are disjoint, cover the shuffled order, and are padded to equal length', () => {
    const samplers = [0, 1, 2].map((rank) => new DefaultSampler({ shuffle: true, seed: 3, rank, worldSize: 3 }));
    const single = new DefaultSampler({ shuffle: true, seed: 3, rank: 0, worldSize: 1 });
    for (const epoch of [0, 1]) {
      for (const s of [...samplers, single]) s.setEpoch(epoch);
      const order = single.indices(10);
      const shards = samplers.map((s) => s.indices(10));
      expect(shards.map((s) => s.length)).toEqual([4, 4, 4]);
      // 12 slots: the order, then its first two indices again (torch's padding).
      const padded = [...order, order[0], order[1]];
      shards.forEach((shard, r) => expect(shard).toEqual(padded.filter((_, i) => i % 3 === r)));
      expect(new Set(shards.flat())).toEqual(new Set(order));
    }
    expect(samplers[0].indices(10)).not.toEqual(samplers[1].indices(10));
  });

  it("the dataloader's length counts this rank's shard", () => {
    const dataset = { length: 10, getBatch: (idx: readonly number[]) => [...idx] };
    const loader = new DataLoader({ dataset, batchSize: 3, sampler: new DefaultSampler({ shuffle: false, rank: 2, worldSize: 3 }) });
    expect(loader.length).toBe(2);
    expect([...loader]).toEqual([[2, 5, 8], [1]]);
  });
});

describe('collectResults (MMEngine collect_results order)', () => {
  it('interleaves the ranks back into dataset order and drops the padding', () => {
    // 5 samples over 2 ranks: rank 0 got 0, 2, 4; rank 1 got 1, 3 and a repeat of 0.
    expect(collectResults([['s0', 's2', 's4'], ['s1', 's3', 's0']], 5)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    expect(collectResults([[1, 3], [2]], 3)).toEqual([1, 2, 3]);
    expect(collectResults([[], []], 0)).toEqual([]);
  });
});

describe('launch environment and env_cfg.dist_cfg', () => {
  it('reads mpirun and torchrun variables', () => {
    expect(readLaunchEnv('mpi', { OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '1' })).toEqual({
      rank: 1,
      worldSize: 4,
      localRank: 1,
      masterAddr: null,
      masterPort: 29500,
    });
    expect(readLaunchEnv('anvil', { RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', MASTER_ADDR: 'node0', MASTER_PORT: '1234' })).toEqual({
      rank: 3,
      worldSize: 4,
      localRank: 1,
      masterAddr: 'node0',
      masterPort: 1234,
    });
    expect(() => readLaunchEnv('mpi', {})).toThrow('--launcher mpi: OMPI_COMM_WORLD_RANK / PMI_RANK is not set; start the processes with mpirun -np N');
    expect(() => readLaunchEnv('anvil', { RANK: '2', WORLD_SIZE: '2' })).toThrow('--launcher anvil: RANK 2 is not below WORLD_SIZE 2');
    expect(() => readLaunchEnv('anvil', { RANK: 'x', WORLD_SIZE: '2' })).toThrow("--launcher anvil: RANK must be a non-negative integer, got 'x'");
    expect(() => readLaunchEnv('anvil', { RANK: '0', WORLD_SIZE: '2', MASTER_PORT: '70000' })).toThrow("MASTER_PORT must be a port number (1-65535), got '70000'");
  });

  it('takes the backend from env_cfg.dist_cfg, defaulting by launcher', () => {
    expect(readDistCfg({}, 'mpi')).toEqual({ backend: 'mpi', timeout: null });
    expect(readDistCfg({}, 'anvil')).toEqual({ backend: 'nccl', timeout: null });
    expect(readDistCfg({ env_cfg: { dist_cfg: { backend: 'nccl', timeout: 60 } } }, 'mpi')).toEqual({ backend: 'nccl', timeout: 60 });
    expect(() => readDistCfg({ env_cfg: { dist_cfg: { backend: 'gloo' } } }, 'mpi')).toThrow("env_cfg.dist_cfg.backend: Anvil runs 'mpi' (CPUs) or 'nccl' (GPUs), got 'gloo'");
    expect(() => readDistCfg({ env_cfg: { dist_cfg: { backend: 'mpi' } } }, 'anvil')).toThrow("backend='mpi' needs processes started by mpirun (--launcher mpi)");
    expect(() => readDistCfg({ env_cfg: { dist_cfg: { port: 1 } } }, 'mpi')).toThrow('env_cfg.dist_cfg.port: unknown option (accepted: backend, timeout)');
  });

  it('anvil dist gives every local process torchrun environment', () => {
    const envs = workerEnvs({ nproc: 2, nnodes: 2, nodeRank: 1, masterAddr: 'node0', masterPort: 29600 }, {});
    expect(envs.map((e) => [e.RANK, e.LOCAL_RANK, e.WORLD_SIZE, e.LOCAL_WORLD_SIZE, e.MASTER_ADDR, e.MASTER_PORT])).toEqual([
      ['2', '0', '4', '2', 'node0', '29600'],
      ['3', '1', '4', '2', 'node0', '29600'],
    ]);
    expect(() => workerEnvs({ nproc: 0 })).toThrow('dist: --nproc must be an integer >= 1, got 0');
    expect(() => workerEnvs({ nproc: 1, nnodes: 2, nodeRank: 2 })).toThrow('dist: --node-rank 2 must be below --nnodes 2');
  });
});

describe('data parallel pieces over a simulated group', () => {
  afterEach(() => setDist(null));

  it('averages gradients with one collective per bucket, after one for the has-grad flags', () => {
    const a = new Parameter([2], { data: [1, 1] });
    const b = new Parameter([3], { data: [1, 1, 1] });
    const c = new Parameter([1], { data: [1] });
    const sgd = new SGD([{ params: [a, b], lr: 0.1 }, { params: [c], lr: 0.2 }], { lr: 0.1 });
    a.setGrad([2, 4]);
    b.setGrad([1, 1, 1]);
    // c has no gradient here; the other rank has one for it.
    const buckets = optimizerBuckets(sgd);
    expect(buckets.length).toBe(2);
    const group = new SimulatedGroup(queuedPeer([Float32Array.of(1, 1, 1), Float32Array.of(4, 0, 3, 3, 3), Float32Array.of(6)]));
    allReduceGradients(buckets, group);
    expect(group.calls).toEqual(['allReduce:max:3', 'allReduce:mean:5', 'allReduce:mean:1']);
    expect(Array.from(a.grad)).toEqual([3, 2]);
    expect(Array.from(b.grad)).toEqual([2, 2, 2]);
    expect(c.hasGrad).toBe(true);
    expect(Array.from(c.grad)).toEqual([3]);
  });

  it('half-precision gradients are averaged in float32 and an overflow on one rank is inf on both', () => {
    const p = new Parameter([3], { data: [0, 0, 0], gradDtype: 'float16' });
    const sgd = new SGD([p], { lr: 1 });
    p.setGrad([1, 2, 60000]);
    const group = new SimulatedGroup(queuedPeer([Float32Array.of(1), Float32Array.of(3, 2, Infinity)]));
    allReduceGradients(optimizerBuckets(sgd), group);
    // 0x4000 = 2.0, 0x4000 = 2.0, 0x7c00 = +inf in float16.
    expect(Array.from(p.gradBits())).toEqual([0x4000, 0x4000, 0x7c00]);
  });

  it('buffers: the mean over ranks (int64 counters truncated); broadcast covers each bucket once', () => {
    const running = new ModelBuffer([2]);
    running.data.set([1, 3]);
    const count = new ModelBuffer([1], 'int64');
    count.data[0] = 5;
    const p = new Parameter([2], { data: [1, 2] });
    const model = { parameters: () => [p], namedBuffers: (): [string, ModelBuffer][] => [['bn.running_mean', running], ['bn.num_batches_tracked', count]] };
    allReduceBuffers(model, new SimulatedGroup(queuedPeer([Float32Array.of(3, 5), Float64Array.of(6)])));
    expect(Array.from(running.data)).toEqual([2, 4]);
    expect(count.data[0]).toBe(5);
    const group = new SimulatedGroup(queuedPeer([]));
    broadcastModel(model, group);
    expect(group.calls).toEqual(['broadcast:2', 'broadcast:2', 'broadcast:1']);
  });

  it("DistEvaluator computes the metrics over every rank's outputs in dataset order, without the padding", async () => {
    const v8 = await import('node:v8');
    const evaluator = new DistEvaluator(new Evaluator([new Accuracy()]), new SimulatedGroup(queuedPeer([
      // The other rank's shard: samples 1 and 3, then a repeat of sample 0 (padding).
      new Uint8Array(v8.serialize([{ predLabel: 0, gtLabel: 0 }, { predLabel: 0, gtLabel: 1 }, { predLabel: 5, gtLabel: 5 }])),
    ])));
    evaluator.process(null, [{ predLabel: 5, gtLabel: 5 }, { predLabel: 2, gtLabel: 2 }]);
    evaluator.process(null, [{ predLabel: 4, gtLabel: 4 }]);
    // 5 samples: 0 ok, 1 ok, 2 ok, 3 wrong, 4 ok; the padding repeat is dropped.
    expect(evaluator.evaluate(5)).toEqual({ accuracy: 0.8 });
  });
});
