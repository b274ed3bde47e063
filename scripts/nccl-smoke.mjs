#!/usr/bin/env node
// NCCL through the package on one GPU: joins a world of one with torchrun's environment and runs
// every collective through the communication thread (blocking ones, and all-reduces started and
// waited later), checking the values. scripts/gpu-check.sh runs it; needs libnccl.so and a GPU.
//   node scripts/nccl-smoke.mjs [built package's dist folder, default ./dist]

import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dist = path.resolve(process.argv[2] ?? 'dist');
const anvil = require(path.join(dist, 'index.js'));
const env = { RANK: '0', WORLD_SIZE: '1', LOCAL_RANK: '0', MASTER_ADDR: '127.0.0.1', MASTER_PORT: process.env.MASTER_PORT ?? '29561' };
const group = anvil.initDist('anvil', { env_cfg: { dist_cfg: { backend: 'nccl' } } }, env);

const same = (what, got, want) => {
  if (got.length !== want.length || got.some((x, i) => x !== want[i])) throw new Error(`${what}: got ${got.slice(0, 4)}..., expected ${want.slice(0, 4)}...`);
};
const f32 = Float32Array.from({ length: 1 << 20 }, (_, i) => i * 0.25);
const want = f32.slice();
group.allReduce(f32, 'sum');
same('all_reduce sum', f32, want);
group.allReduce(f32, 'mean');
same('all_reduce mean', f32, want);
const f64 = Float64Array.of(1.5, -2, 3);
group.allReduce(f64, 'max');
same('all_reduce max f64', f64, [1.5, -2, 3]);
// Started on disjoint ranges, a blocking one queued behind them, waited in reverse.
const a = group.allReduceStart(f32.subarray(0, 1000), 'sum');
const b = group.allReduceStart(f32.subarray(1000), 'mean');
group.barrier();
b.wait();
a.wait();
a.wait();
same('started all_reduce', f32, want);
const bytes = Uint8Array.of(1, 2, 3);
group.broadcast(bytes, 0);
group.broadcast(f32, 0);
same('broadcast', f32, want);
const gathered = group.allGatherBytes(Uint8Array.of(7, 8, 9, 10));
same('all_gather', gathered[0], [7, 8, 9, 10]);
if (gathered.length !== 1) throw new Error(`all_gather: ${gathered.length} ranks`);
anvil.finalizeDist();
console.log(`nccl smoke: PASS (${group.backend}, rank ${group.rank} of ${group.worldSize}: all_reduce sum/mean/max, started + waited, broadcast, all_gather, barrier)`);
