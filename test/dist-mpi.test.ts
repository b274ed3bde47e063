// Multi-process training through the real CLI: 2 MPI ranks (mpirun) against 1 rank with twice
// the batch, resume across ranks, and a rank killed mid-training. Needs Open MPI and the MPI
// build of the addon (`npm run build:native:mpi`, which `npm test` runs); skipped without them,
// except under CI=true, where they must be there. Also `anvil dist` on a machine without NCCL.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { mpiAddonPath } from '../ts/dist';
import { native } from '../ts/native';
import { readCheckpointFile } from '../ts/runner/checkpoint-file';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const addon = mpiAddonPath();
const mpiReady = hasMpirun && addon !== null;
const whyNot = !hasMpirun ? 'mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev libclang-dev)' : 'the MPI addon is not built (npm run build:native:mpi)';
// Open MPI refuses root unless told; CI runs as root.
const ENV = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', ANVIL_NUM_THREADS: '1' };
let tmp: string;

beforeAll(() => {
  spawnSync('npm', ['run', 'build:ts'], { cwd: ROOT, stdio: 'pipe' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-dist-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('the MPI tests run in CI', () => {
  if (process.env.CI === 'true') expect(mpiReady, whyNot).toBe(true);
  if (!mpiReady) console.warn(`skipping the MPI tests: ${whyNot}`);
});

/** An MLP on 256 digits, SGD with clipping; a hook records each epoch's indices per rank. */
function writeConfig(file: string, extra = ''): void {
  fs.writeFileSync(
    file,
    `const fs = require('fs');
const anvil = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
class RecordShardHook extends anvil.Hook {
  beforeTrainEpoch(runner) {
    const dl = runner.trainDataloader;
    const file = require('path').join(runner.workDir, 'shards.rank' + anvil.getDistInfo().rank + '.jsonl');
    fs.appendFileSync(file, JSON.stringify({ epoch: runner.epoch, indices: dl.sampler.indices(dl.dataset.length) }) + '\\n');
  }
  afterTrainEpoch(runner) {
    const file = require('path').join(runner.workDir, 'sync.rank' + anvil.getDistInfo().rank + '.jsonl');
    fs.appendFileSync(file, JSON.stringify(runner.optimWrapper.gradSyncStats) + '\\n');
  }
}
if (!anvil.HOOKS.has('RecordShardHook')) anvil.HOOKS.registerClass('RecordShardHook', RecordShardHook, { accepts: [] });
module.exports = {
  model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [32], num_classes: 10 },
  train_dataloader: { batch_size: 16, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 256 } },
  val_dataloader: { batch_size: 10, sampler: { type: 'DefaultSampler', shuffle: false }, dataset: { type: 'MNIST', split: 'test', limit: 101 } },
  val_evaluator: { type: 'Accuracy' },
  train_cfg: { type: 'EpochBasedTrainLoop', max_epochs: 2 },
  val_cfg: { type: 'ValLoop' },
  optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 }, clip_grad: { max_norm: 1.0 } },
  default_hooks: { logger: { type: 'LoggerHook', interval: 4 } },
  custom_hooks: [{ type: 'RecordShardHook', priority: 'LOW' }],
  env_cfg: { dist_cfg: { backend: 'mpi' } },
  randomness: { seed: 0 },
  ${extra}
};
`,
  );
}

function mpirun(np: number, args: string[]) {
  const r = spawnSync('mpirun', ['-np', String(np), '--oversubscribe', process.execPath, CLI, ...args], { cwd: tmp, env: ENV, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

function single(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, env: ENV, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

function weights(file: string): Record<string, Float32Array> {
  return readCheckpointFile(file).checkpoint.state_dict as Record<string, Float32Array>;
}

function shards(dir: string, rank: number): Array<{ epoch: number; indices: number[] }> {
  return fs.readFileSync(path.join(dir, `shards.rank${rank}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

function runFolders(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => /^\d{8}_\d{6}$/.test(f));
}

describe.skipIf(!mpiReady)('2 MPI ranks', () => {
  it('train like 1 rank with twice the batch: same weights, disjoint shards covering each epoch, one writer', () => {
    writeConfig(path.join(tmp, 'digits.js'));
    // 10 KiB buckets: fc2, fc1.weight and fc1.bias each get their own all-reduce, fc2's started before fc1's backward.
    const two = mpirun(2, ['train', 'digits.js', '--launcher', 'mpi', '--work-dir', 'two', '--cfg-options', 'model_wrapper_cfg.bucket_cap_mb=0.01']);
    expect(two.status, two.out).toBe(0);
    const blocking = mpirun(2, ['train', 'digits.js', '--launcher', 'mpi', '--work-dir', 'blocking', '--cfg-options', 'model_wrapper_cfg.overlap_grad_reduce=False']);
    expect(blocking.status, blocking.out).toBe(0);
    const one = single(['train', 'digits.js', '--work-dir', 'one', '--cfg-options', 'train_dataloader.batch_size=32']);
    expect(one.status, one.out).toBe(0);

    const dir2 = path.join(tmp, 'two');
    for (const epoch of [0, 1]) {
      const order = shards(path.join(tmp, 'one'), 0)[epoch].indices;
      const [r0, r1] = [shards(dir2, 0)[epoch], shards(dir2, 1)[epoch]];
      expect([r0.epoch, r1.epoch]).toEqual([epoch, epoch]);
      expect([r0.indices.length, r1.indices.length]).toEqual([128, 128]);
      expect(r0.indices.filter((i) => r1.indices.includes(i))).toEqual([]);
      expect([...r0.indices, ...r1.indices].sort((a, b) => a - b)).toEqual([...Array(256).keys()]);
      // Rank r takes every other index of the single process's order, so each 2-rank step sees
      // exactly the 32 samples of the single process's step.
      expect(r0.indices).toEqual(order.filter((_, i) => i % 2 === 0));
      expect(r1.indices).toEqual(order.filter((_, i) => i % 2 === 1));
    }
    expect(shards(dir2, 0)[0].indices).not.toEqual(shards(dir2, 0)[1].indices);

    // Every step after the first started all three buckets during backward; the overlapped run
    // ends with exactly the weights of the one that reduces after backward.
    for (const rank of [0, 1]) {
      const stats = fs.readFileSync(path.join(dir2, `sync.rank${rank}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(stats).toEqual([{ overlapped: 3, collectives: 4 }, { overlapped: 3, collectives: 4 }]);
    }
    const wb = weights(path.join(tmp, 'blocking', 'epoch_2.safetensors'));
    for (const [key, w] of Object.entries(weights(path.join(dir2, 'epoch_2.safetensors')))) expect(Array.from(w), key).toEqual(Array.from(wb[key]));

    const [w1, w2] = [weights(path.join(tmp, 'one', 'epoch_2.safetensors')), weights(path.join(dir2, 'epoch_2.safetensors'))];
    const init = weights(path.join(dir2, 'epoch_1.safetensors'));
    for (const key of Object.keys(w1)) {
      let diff = 0;
      let moved = 0;
      for (let i = 0; i < w1[key].length; i++) {
        diff = Math.max(diff, Math.abs(w1[key][i] - w2[key][i]));
        moved = Math.max(moved, Math.abs(w2[key][i] - init[key][i]));
      }
      expect(diff, key).toBeLessThan(1e-5);
      expect(moved, key).toBeGreaterThan(1e-3);
    }
    // Rank 0 alone logs, writes the run folder and the checkpoints, and prints the result; the
    // validation metrics cover all 101 test digits gathered from both ranks, as one process's do.
    expect(runFolders(dir2).length).toBe(1);
    expect(fs.readdirSync(dir2).filter((f) => f.endsWith('.safetensors')).sort()).toEqual(['epoch_1.safetensors', 'epoch_2.safetensors']);
    const accuracy = (text: string) => text.match(/^val accuracy: (\S+)$/gm) ?? [];
    expect(accuracy(two.stdout).length).toBe(1);
    expect(accuracy(two.stdout)).toEqual(accuracy(one.stdout));
    expect(two.stdout.match(/Epoch\(train\) \[1\]\[8\/8\]/g)?.length).toBe(1);
  });

  it('resume across ranks continues exactly where the checkpoint was taken', () => {
    writeConfig(path.join(tmp, 'digits.js'));
    const first = mpirun(2, ['train', 'digits.js', '--launcher', 'mpi', '--work-dir', 'resumed', '--cfg-options', 'train_cfg.max_epochs=1']);
    expect(first.status, first.out).toBe(0);
    const second = mpirun(2, ['train', 'digits.js', '--launcher', 'mpi', '--work-dir', 'resumed', '--resume']);
    expect(second.status, second.out).toBe(0);
    expect(second.out).toContain('resumed epoch: 1, iter: 8');
    const uninterrupted = path.join(tmp, 'two', 'epoch_2.safetensors');
    if (!fs.existsSync(uninterrupted)) mpirun(2, ['train', 'digits.js', '--launcher', 'mpi', '--work-dir', 'two']);
    const [a, b] = [weights(uninterrupted), weights(path.join(tmp, 'resumed', 'epoch_2.safetensors'))];
    for (const key of Object.keys(a)) expect(Array.from(b[key]), key).toEqual(Array.from(a[key]));
  });

  it('a rank killed mid-training ends the other with Anvil’s error instead of a hang; the checkpoint is written once', async () => {
    writeConfig(
      path.join(tmp, 'long.js'),
      `train_cfg: { type: 'IterBasedTrainLoop', max_iters: 1000000, val_interval: 1000000 },
  default_hooks: { logger: { type: 'LoggerHook', interval: 50 }, checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 20 } },`,
    );
    const work = path.join(tmp, 'killed');
    const child = spawn('mpirun', ['-np', '2', '--oversubscribe', process.execPath, CLI, 'train', 'long.js', '--launcher', 'mpi', '--work-dir', 'killed'], { cwd: tmp, env: ENV });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!fs.existsSync(path.join(work, 'iter_40.safetensors')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(fs.existsSync(path.join(work, 'iter_40.safetensors')), out).toBe(true);
      const victim = rankPid(child.pid!, 1);
      expect(victim, 'rank 1 among the processes under mpirun').not.toBeNull();
      const killedAt = Date.now();
      process.kill(victim!, 'SIGKILL');
      const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000));
      const code = await Promise.race([exited, timeout]);
      expect(code, out).not.toBe('hung');
      expect(code).not.toBe(0);
      expect(Date.now() - killedAt).toBeLessThan(30_000);
      expect(out).toMatch(new RegExp(`anvil: distributed training failed: rank 1 \\(pid ${victim} on [^)]+\\) of 2 exited or became unreachable before training finished \\(its connection closed\\); stopping rank 0 instead of waiting for it in a collective`));
    } finally {
      child.kill('SIGKILL');
    }
    // One run folder and each checkpoint once, written by rank 0; the latest is complete.
    expect(runFolders(work).length).toBe(1);
    const ckpts = fs.readdirSync(work).filter((f) => f.endsWith('.safetensors'));
    expect(ckpts).toContain('iter_20.safetensors');
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const latest = fs.readFileSync(path.join(work, 'last_checkpoint'), 'utf8').trim();
    const w = weights(latest);
    expect(Object.values(w).every((t) => t.every(Number.isFinite))).toBe(true);
  });
});

/** The pid of the process under `root` (mpirun) whose environment says OMPI_COMM_WORLD_RANK=rank. */
function rankPid(root: number, rank: number): number | null {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return pid;
    } catch {
      // Gone, or not ours to read.
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return null;
}

describe.skipIf(native.cudaDeviceCount() > 0)('anvil dist without a GPU', () => {
  it('every rank fails to join NCCL with a clear error; the launcher stops and exits non-zero', () => {
    writeConfig(path.join(tmp, 'nccl.js'), "env_cfg: { dist_cfg: { backend: 'nccl' } },");
    const started = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'dist', '--nproc', '2', '--master-port', '29731', 'nccl.js', '--work-dir', 'nccl'], { cwd: tmp, env: ENV, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stderr).toMatch(/anvil: joining the nccl process group \(rank [01] of 2\) failed: the NCCL backend needs an NVIDIA GPU and driver/);
    expect(r.stderr).toMatch(/anvil dist: rank [01] exited with status 2; stopping the other/);
    const bad = spawnSync(process.execPath, [CLI, 'dist', 'nccl.js'], { cwd: tmp, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^anvil: dist: --nproc N is required/);
  });

  it('train --launcher mpi outside mpirun names what is missing', () => {
    writeConfig(path.join(tmp, 'digits.js'));
    const r = spawnSync(process.execPath, [CLI, 'train', 'digits.js', '--launcher', 'mpi'], { cwd: tmp, env: { ...ENV, OMPI_COMM_WORLD_RANK: '', PMI_RANK: '' }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('anvil: --launcher mpi: OMPI_COMM_WORLD_RANK / PMI_RANK is not set; start the processes with mpirun -np N');
    const bad = spawnSync(process.execPath, [CLI, 'train', 'digits.js', '--launcher', 'slurm'], { cwd: tmp, encoding: 'utf8' });
    expect(bad.stderr.trim()).toBe("anvil: --launcher must be none, mpi or anvil, got 'slurm'");
  });
});
