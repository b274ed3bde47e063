#!/usr/bin/env node
// Data-parallel training step on 2 MPI ranks: the gradient all-reduce overlapped with backward
// (GradSync, the default) against the same all-reduce run after backward (overlap_grad_reduce=False),
// and against the step with no communication at all (the bound overlap can approach). The three
// run alternately, each repetition behind a barrier, in one run. Writes bench/RESULTS-ddp.md.
// Needs Open MPI and the MPI addon (`npm run build:native:mpi`) and the built TS (`npm run build:ts`).
//
//   node bench/ddp.mjs [--np 2] [--reps 20] [--hidden 1024,1024] [--batch 64] [--caps 25,4,1]

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const np = Number(opt('np', '2'));
const reps = Number(opt('reps', '20'));
const hidden = opt('hidden', '1024,1024').split(',').map(Number);
const batchSize = Number(opt('batch', '64'));
const threads = opt('threads', '1');
// bucket_cap_mb of the overlapped runs: DDP's 25 leaves a small model nearly one bucket.
const caps = opt('caps', '25,4,1').split(',').map(Number);

if (process.env.OMPI_COMM_WORLD_RANK === undefined) {
  // The driver: start the ranks, then write the table from rank 0's line.
  const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', ANVIL_NUM_THREADS: threads };
  const me = fileURLToPath(import.meta.url);
  const out = execFileSync('mpirun', ['-np', String(np), '--oversubscribe', process.execPath, me, ...args], { cwd: ROOT, env, encoding: 'utf8' });
  const r = JSON.parse(out.split('\n').find((l) => l.startsWith('{')));
  const ms = (s) => (s * 1e3).toFixed(2);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (name, xs) => `| ${name} | ${ms(median(xs))} | ${ms(Math.min(...xs))} |`;
  const paired = (xs, ys) => median(xs.map((t, i) => t / ys[i]));
  const exposed = (xs) => ms(median(xs.map((t, i) => t - r.compute[i])));
  const md = `# Data-parallel step on ${np} MPI ranks: all-reduce overlapped with backward

\`node bench/ddp.mjs\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC), ${r.library}, ${os.cpus().length} cores, ANVIL_NUM_THREADS=${threads} per rank.
Model: MLPClassifier 784 -> ${hidden.join(' -> ')} -> 10 (${r.params.toLocaleString('en-US')} parameters, ${(r.params * 4 / 2 ** 20).toFixed(1)} MiB of float32 gradients), SGD with momentum, batch ${batchSize} per rank, ${reps} repetitions.
Each repetition runs every variant back to back, each step after a barrier; times are rank 0's, from the barrier to the end of the optimizer step.
"Exposed" is the step minus the no-communication step of the same repetition (median over repetitions); "vs after" the median of the paired ratios to the all-reduce after backward.

| step | buckets (started during backward) | ms (median) | ms (min) | exposed communication ms | vs after backward |
|---|---|---:|---:|---:|---:|
| no communication (1 rank's work) | - | ${ms(median(r.compute))} | ${ms(Math.min(...r.compute))} | - | - |
| all-reduce after backward (overlap_grad_reduce=False) | 1 | ${ms(median(r.blocking))} | ${ms(Math.min(...r.blocking))} | ${exposed(r.blocking)} | 1 |
${r.overlap.map((o) => `| overlapped, bucket_cap_mb=${o.cap} | ${o.buckets} (${o.started}) | ${ms(median(o.times))} | ${ms(Math.min(...o.times))} | ${exposed(o.times)} | ${paired(o.times, r.blocking).toFixed(3)} |`).join('\n')}

The first bucket is capped at 1 MiB (DDP's first bucket), so the last layer's all-reduce starts early; with DDP's default 25 MiB the rest of a model this small is one bucket that can only start when backward is over.
Load on the machine when the run ended: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (1, 5, 15 min).
`;
  fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS-ddp.md'), md);
  console.log(md);
  process.exit(0);
}

// A rank.
const require = createRequire(import.meta.url);
const anvil = require(path.join(ROOT, 'dist', 'index.js'));
const { setRandomSeed } = require(path.join(ROOT, 'dist', 'util', 'random.js'));
const group = anvil.initDist('mpi', { env_cfg: { dist_cfg: { backend: 'mpi' } } });
const features = 784;
const batch = {
  inputs: Float32Array.from({ length: batchSize * features }, (_, i) => Math.sin(i * 0.37 + group.rank)),
  labels: Uint32Array.from({ length: batchSize }, (_, i) => (i * 7 + group.rank) % 10),
  size: batchSize,
  features,
};

function build(dataParallel) {
  setRandomSeed(0);
  const model = new anvil.MLPClassifier({ inFeatures: features, hiddenSizes: hidden, numClasses: 10 });
  const optimizer = new anvil.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const wrapper = new anvil.OptimWrapper({ optimizer });
  wrapper.dataParallel = dataParallel;
  return { model, wrapper };
}

const overlapped = caps.map((cap) => ({ cap, run: build({ overlap: true, bucketCapMb: cap }), times: [] }));
const blocking = build({ overlap: false });
const alone = build({ overlap: false });

function timed(run, dist) {
  group.barrier();
  if (!dist) anvil.setDist(null);
  const t0 = process.hrtime.bigint();
  run.model.trainStep(batch, run.wrapper);
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!dist) anvil.setDist(group);
  return t;
}

const times = { blocking: [], compute: [] };
for (let i = 0; i < reps + 3; i++) {
  const keep = i >= 3; // 3 warm-up rounds (the first synced step learns the bucket layout)
  for (const o of overlapped) {
    const t = timed(o.run, true);
    if (keep) o.times.push(t);
  }
  const b = timed(blocking, true);
  const c = timed(alone, false);
  if (keep) (times.blocking.push(b), times.compute.push(c));
}
if (group.rank === 0) {
  console.log(
    JSON.stringify({
      ...times,
      overlap: overlapped.map((o) => ({ cap: o.cap, times: o.times, buckets: o.run.wrapper.gradSyncStats.collectives - 1, started: o.run.wrapper.gradSyncStats.overlapped })),
      params: alone.model.parameters().reduce((n, p) => n + p.numel, 0),
      library: require(path.join(ROOT, 'dist', 'dist', 'native-dist.js')).loadDistNative('mpi').distMpiLibraryVersion(),
    }),
  );
}
anvil.finalizeDist();
