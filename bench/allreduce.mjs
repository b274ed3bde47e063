#!/usr/bin/env node
// All-reduce bandwidth on 2 MPI ranks: Anvil's MPI collective as the engine calls it (handed to
// the communication thread and waited for) against MPI_Allreduce called directly on that thread,
// measured alternately in one run (crates/anvil-dist/examples/allreduce_bench.rs).
// Writes bench/RESULTS-dist.md. Target: the wrapper's sum within 5% of raw MPI at every size.
// Needs Open MPI (openmpi-bin libopenmpi-dev libclang-dev). Not part of CI.
//
//   node bench/allreduce.mjs [--np 2] [sizes, default 1e6 1e7 1e8]

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let np = 2;
const sizes = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--np') np = Number(args[++i]);
  else sizes.push(args[i]);
}
if (sizes.length === 0) sizes.push('1e6', '1e7', '1e8');

execFileSync('cargo', ['build', '--release', '-p', 'anvil-dist', '--features', 'mpi', '--example', 'allreduce_bench'], { cwd: ROOT, stdio: 'inherit' });
const bin = path.join(ROOT, 'target', 'release', 'examples', 'allreduce_bench');
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
const out = execFileSync('mpirun', ['-np', String(np), '--oversubscribe', bin, ...sizes], { cwd: ROOT, env, encoding: 'utf8' });
const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const rows = lines.filter((l) => 'elements' in l);
const library = lines.find((l) => 'library' in l)?.library ?? 'unknown MPI';

// nccl-tests' bus bandwidth: what each rank's links carry in a ring all-reduce.
const busGBs = (n, ranks, s) => ((n * 4 * 2 * (ranks - 1)) / ranks / s / 1e9).toFixed(2);
const pct = (a, b) => `${((a / b - 1) * 100).toFixed(1)}%`;
const table = rows.map((r) =>
  `| ${r.elements.toExponential(0)} | ${(r.raw_s * 1e3).toFixed(2)} | ${(r.wrapper_sum_s * 1e3).toFixed(2)} | ${pct(r.wrapper_sum_s, r.raw_s)} | ${(r.raw_min_s * 1e3).toFixed(2)} | ${(r.wrapper_sum_min_s * 1e3).toFixed(2)} | ${pct(r.wrapper_sum_min_s, r.raw_min_s)} | ${busGBs(r.elements, r.ranks, r.raw_min_s)} | ${busGBs(r.elements, r.ranks, r.wrapper_sum_min_s)} | ${pct(r.paired_ratio, 1)} | ${(r.wrapper_mean_s * 1e3).toFixed(2)} | ${r.reps} |`,
);
const worst = Math.max(...rows.map((r) => r.paired_ratio - 1));
const md = `# All-reduce on ${np} MPI ranks: Anvil's wrapper against raw MPI_Allreduce

\`node bench/allreduce.mjs\` (${new Date().toISOString().slice(0, 10)}), ${library}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), one machine (shared memory).
float32, in place, median of the repetitions; raw and wrapper alternate within each repetition.
The wrapper is timed from the caller, as the engine calls it: handed to the communication thread (where MPI lives) and waited for; raw MPI_Allreduce is timed on that thread.
Bus bandwidth as nccl-tests counts it: 2 (n - 1) / n x bytes / time.

| elements | raw ms (median) | wrapper sum ms (median) | wrapper vs raw (median) | raw ms (min) | wrapper ms (min) | wrapper vs raw (min) | raw bus GB/s (min) | wrapper bus GB/s (min) | wrapper vs raw (median of paired reps) | wrapper mean ms (median) | reps |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${table.join('\n')}

Target: the wrapper's sum within 5% of raw MPI (median over repetitions of wrapper / raw, each pair run back to back): ${worst <= 0.05 ? 'met' : 'NOT met'} (worst ${(worst * 100).toFixed(1)}%).
Load on the machine: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) when the run ended; medians on a shared machine are noisy.
The mean adds one division pass over the buffer after the sum (the gradient all-reduce uses it).
`;
fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS-dist.md'), md);
process.stdout.write(md);
