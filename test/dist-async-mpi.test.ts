// Started all-reduces (`allReduceStart`, waited later) on 2 real MPI ranks: exact results on
// subarrays of one array waited out of order, blocking collectives queued behind them, a start
// that returns before the peer has even joined, finalize running unwaited ones, and a peer that
// dies while one is in flight. Needs Open MPI and the MPI addon (`npm run build:native:mpi`);
// skipped without them, except under CI=true (dist-mpi.test.ts asserts that).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { mpiAddonPath } from '../ts/dist';

const ROOT = path.resolve(__dirname, '..');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const mpiReady = hasMpirun && mpiAddonPath() !== null;
// Open MPI refuses root unless told; CI runs as root.
const ENV = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', ANVIL_NUM_THREADS: '1' };
let tmp: string;

beforeAll(() => {
  if (!mpiReady) return;
  spawnSync('npm', ['run', 'build:ts'], { cwd: ROOT, stdio: 'pipe' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-dist-async-'));
});
afterAll(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

/** Each rank joins the MPI group through initDist and runs `body` (which sees `g`, `rank`, `sleep`, `report`). */
function script(name: string, body: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(
    file,
    `const anvil = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
const g = anvil.initDist('mpi', { env_cfg: { dist_cfg: { backend: 'mpi' } } });
const rank = g.rank;
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const report = (r) => console.log('RESULT ' + JSON.stringify({ rank, ...r }));
${body}
`,
  );
  return file;
}

function mpirun(file: string, timeout = 60_000) {
  const r = spawnSync('mpirun', ['-np', '2', '--oversubscribe', process.execPath, file], { cwd: tmp, env: ENV, encoding: 'utf8', timeout });
  const results = new Map<number, Record<string, unknown>>();
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('RESULT ')) continue;
    const res = JSON.parse(line.slice(7));
    results.set(res.rank, res);
  }
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, results };
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe.skipIf(!mpiReady)('started all-reduces on 2 MPI ranks', () => {
  it('reduce disjoint subarrays exactly, waited in reverse, with blocking collectives queued behind them', () => {
    const file = script(
      'ranges.js',
      `// Rank r holds (r + 1) * (i + 1): the sum is 3 (i + 1), the mean 1.5 (i + 1).
const big = Float32Array.from({ length: 40 }, (_, i) => (rank + 1) * (i + 1));
const p1 = g.allReduceStart(big.subarray(0, 10), 'sum');
const p2 = g.allReduceStart(big.subarray(10, 25), 'mean');
// Blocking calls issued after started ones run after them, on the same queue.
const blocking = Float32Array.from({ length: 6 }, (_, i) => rank * 10 + i);
g.allReduce(blocking, 'max');
const p3 = g.allReduceStart(big.subarray(25, 40), 'sum');
const gathered = g.allGatherBytes(Uint8Array.of(rank + 7, rank + 8, rank + 9).subarray(0, rank + 1));
const f64 = Float64Array.of(rank + 0.25, -rank);
g.allReduce(f64, 'sum');
p3.wait();
p2.wait();
p1.wait();
p1.wait();
// Not waited: finalize runs it before leaving the group.
const tail = Float32Array.of(rank + 1, 2 * rank);
g.allReduceStart(tail, 'sum');
g.finalize();
report({ big: Array.from(big), blocking: Array.from(blocking), gathered: gathered.map((b) => Array.from(b)), f64: Array.from(f64), tail: Array.from(tail) });
`,
    );
    const r = mpirun(file);
    expect(r.status, r.out).toBe(0);
    const expected = {
      big: [...range(10, (i) => 3 * (i + 1)), ...range(15, (i) => 1.5 * (i + 11)), ...range(15, (i) => 3 * (i + 26))],
      blocking: range(6, (i) => 10 + i),
      gathered: [[7], [8, 9]],
      f64: [1.5, -1],
      tail: [3, 2],
    };
    for (const rank of [0, 1]) expect(r.results.get(rank), r.out).toEqual({ rank, ...expected });
  });

  it('a start returns before the peer has joined; wait blocks until it has', () => {
    const file = script(
      'overlap.js',
      `g.barrier();
// Rank 1 joins the reduction 600 ms late; rank 0's start must not wait for it.
if (rank === 1) sleep(600);
const data = new Float32Array(1 << 20).fill(rank + 1);
const t0 = Date.now();
const p = g.allReduceStart(data, 'sum');
const startMs = Date.now() - t0;
p.wait();
const waitMs = Date.now() - t0;
g.finalize();
report({ startMs, waitMs, all3: data.every((x) => x === 3) });
`,
    );
    const r = mpirun(file);
    expect(r.status, r.out).toBe(0);
    const r0 = r.results.get(0) as { startMs: number; waitMs: number; all3: boolean };
    expect(r0.all3 && r.results.get(1)?.all3, r.out).toBe(true);
    expect(r0.startMs, r.out).toBeLessThan(100);
    expect(r0.waitMs, r.out).toBeGreaterThan(400);
  });

  it('a peer that dies while a started all-reduce is in flight ends the waiting rank with Anvil’s error', () => {
    const file = script(
      'die.js',
      `g.barrier();
if (rank === 1) {
  sleep(300);
  process.kill(process.pid, 'SIGKILL');
}
const p = g.allReduceStart(new Float32Array(1000).fill(1), 'sum');
p.wait();
report({ survived: true });
`,
    );
    const started = Date.now();
    const r = mpirun(file, 40_000);
    expect(r.status, r.out).not.toBe(0);
    expect(r.status, r.out).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.results.size, r.out).toBe(0);
    expect(r.out).toMatch(/anvil: distributed training failed: rank 1 \(pid \d+ on [^)]+\) of 2 exited or became unreachable before training finished \(its connection closed\); stopping rank 0 instead of waiting for it in a collective/);
  });
});
