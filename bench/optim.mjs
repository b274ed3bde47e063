// `npm run bench`: Anvil's fused optimizer steps, clip_grad_norm and the fused AMP step against
// the memory-bandwidth bound — a probe with the same streaming pattern and trivial math, run
// right before and after every timed repetition, because this VM's bandwidth jumps between two
// levels within seconds — side by side with a plain JS loop and PyTorch CPU (via a worker).
// Writes bench/RESULTS.md. Options: --quick (N = 1e6 only), --no-torch.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { torchPython } from './venv.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { native, AdamW, Parameter } = require(path.join(root, 'dist', 'index.js'));
const args = new Set(process.argv.slice(2));
const SIZES = args.has('--quick') ? [1e6] : [1e6, 1e7, 5e7];
const REPS = 7;
const threads = native.numThreads();

// ---- layouts and buffers -------------------------------------------------------------------
/** Offsets of `tensors` tensors of mixed sizes (weights 1..7) totalling n. */
function mixedOffsets(n, tensors) {
  const w = Array.from({ length: tensors }, (_, i) => (i % 7) + 1);
  const total = w.reduce((a, b) => a + b, 0);
  const offsets = new Uint32Array(tensors + 1);
  for (let i = 0; i < tensors; i++) offsets[i + 1] = i + 1 === tensors ? n : offsets[i] + Math.floor((n * w[i]) / total);
  return offsets;
}
const equalOffsets = (tensors, each) => Uint32Array.from({ length: tensors + 1 }, (_, i) => i * each);
const rand = (n, scale) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = (Math.random() - 0.5) * scale; return a; };
const { f32ToF16Bits } = require(path.join(root, 'dist', 'store', 'half.js'));
const toHalfBits = (f) => Uint16Array.from(f, f32ToF16Bits);
function bucket(offsets, states, gradBits = false) {
  const n = offsets[offsets.length - 1]; const t = offsets.length - 1;
  const g = rand(n, 2e-3);
  return {
    params: rand(n, 2), grads: gradBits ? toHalfBits(g.map((x) => x * 1024)) : g, gradDtype: gradBits ? 'float16' : 'float32',
    states: Array.from({ length: states }, () => new Float32Array(n)), offsets, steps: new Uint32Array(t), hasGrad: new Uint8Array(t).fill(1),
  };
}

// ---- timing --------------------------------------------------------------------------------
const now = () => Number(process.hrtime.bigint()) / 1e9;
async function time(fn) { const t = now(); await fn(); return now() - t; }
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Each repetition between two probe runs; returns median seconds and median bound fraction. */
async function paired(fn, probe, probeBytes, bytes, reps = REPS) {
  await fn(); probe();
  const secs = []; const frac = [];
  for (let r = 0; r < reps; r++) {
    const p0 = await time(probe); const s = await time(fn); const p1 = await time(probe);
    const boundSecs = ((p0 + p1) / 2) * (bytes / probeBytes);
    secs.push(s); frac.push(boundSecs / s);
  }
  return { secs: median(secs), frac: median(frac) };
}

// ---- PyTorch worker ------------------------------------------------------------------------
async function startTorch() {
  if (args.has('--no-torch')) return null;
  const py = torchPython();
  if (!py) return null;
  const child = spawn(py, [path.join(root, 'bench', 'torch_worker.py'), String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (msg) => { if (msg) child.stdin.write(JSON.stringify(msg) + '\n'); return JSON.parse((await lines.next()).value); };
  const version = (await ask(null)).ready;
  return { version, ask, quit: () => { child.stdin.write('{"cmd":"quit"}\n'); } };
}

// ---- the plain JS baseline -----------------------------------------------------------------
function jsAdamW(b, lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.01) {
  const { params: p, grads: g, states: [m, v], offsets, steps } = b;
  for (let t = 0; t + 1 < offsets.length; t++) {
    const step = ++steps[t]; const bc1 = 1 - beta1 ** step; const bc2s = Math.sqrt(1 - beta2 ** step);
    const stepSize = lr / bc1; const decay = 1 - lr * wd;
    for (let i = offsets[t]; i < offsets[t + 1]; i++) {
      const pi = p[i] * decay; const gi = g[i];
      const mi = m[i] + (1 - beta1) * (gi - m[i]); const vi = v[i] * beta2 + (1 - beta2) * gi * gi;
      m[i] = mi; v[i] = vi; p[i] = pi - stepSize * (mi / (Math.sqrt(vi) / bc2s + eps));
    }
  }
}

// ---- cases ---------------------------------------------------------------------------------
const ADAMW = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, amsgrad: false, maximize: false, decoupled: true };
const SGD = { lr: 1e-3, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
const rows = [];
const torchSecs = new Map();
function row(op, impl, n, tensors, r, bytes) {
  const nsPerElem = (r.secs / n) * 1e9; const gbs = (bytes * n) / r.secs / 1e9;
  rows.push({ op, impl, n, tensors, nsPerElem, gbs, pct: 100 * r.frac, us: r.secs * 1e6 });
  const key = `${op}|${n}|${tensors}`;
  if (impl === 'torch fused' || impl === 'torch') torchSecs.set(key, r.secs);
  console.log(`${op.padEnd(14)} ${impl.padEnd(16)} N=${n.toExponential(0)} tensors=${String(tensors).padStart(4)}  ${nsPerElem.toFixed(3)} ns/elem  ${gbs.toFixed(1)} GB/s  ${(100 * r.frac).toFixed(0)}% of bound`);
}

const torch = await startTorch();
// Buckets are registered once (`StepBucket`), as the optimizers do: a step is one call.
const probeOf = (b, states) => {
  const h = new native.StepBucket({ ...b, grads: b.probeGrads ?? b.grads, gradDtype: 'float32', states: b.states.slice(0, states), steps: new Uint32Array(b.steps.length) });
  return () => native.probeStep(h);
};
async function torchRow(op, impl, tcase, n, offsets, probe, probeBytes, bytes) {
  if (!torch) return;
  const sizes = Array.from({ length: offsets.length - 1 }, (_, i) => offsets[i + 1] - offsets[i]);
  await torch.ask({ cmd: 'setup', case: tcase, sizes });
  const r = await paired(async () => { await torch.ask({ cmd: 'run' }); }, probe, probeBytes, bytes, REPS);
  // Subtract the request round trip: measured on the same pipe with a no-op-sized request would
  // need a no-op case; instead use PyTorch's own timing (seconds) reported by the worker.
  const own = []; for (let i = 0; i < REPS; i++) own.push((await torch.ask({ cmd: 'run' })).seconds);
  row(op, impl, n, offsets.length - 1, { secs: median(own), frac: r.frac * (r.secs / median(own)) }, bytes);
}

for (const n of SIZES) {
  for (const tensors of [1, 100]) {
    const offsets = mixedOffsets(n, tensors);
    // AdamW: reads param, grad, exp_avg, exp_avg_sq; writes three of them.
    const b = bucket(offsets, 2); const probe = probeOf(b, 2); const bh = new native.StepBucket(b);
    row('AdamW', 'anvil', n, tensors, await paired(() => native.adamStep(bh, ADAMW), probe, 28, 28), 28);
    if (n <= 1e7) row('AdamW', 'plain JS loop', n, tensors, await paired(() => jsAdamW(b), probe, 28, 28, 3), 28);
    await torchRow('AdamW', 'torch fused', 'adamw_fused', n, offsets, probe, 28, 28);
    await torchRow('AdamW', 'torch foreach', 'adamw_foreach', n, offsets, probe, 28, 28);
    // SGD with momentum: reads param, grad, buffer; writes two.
    const s = bucket(offsets, 1); const sprobe = probeOf(s, 1); const sh = new native.StepBucket(s);
    row('SGD-momentum', 'anvil', n, tensors, await paired(() => native.sgdStep(sh, SGD), sprobe, 20, 20), 20);
    await torchRow('SGD-momentum', 'torch fused', 'sgd_fused', n, offsets, sprobe, 20, 20);
    // clip_grad_norm: one read pass (4 B) and one scaling pass (8 B); probe: read 2, write 1 (12 B).
    const c = bucket(offsets, 0); const cprobe = probeOf(c, 0);
    const views = Array.from({ length: tensors }, (_, i) => ({ values: c.grads.subarray(offsets[i], offsets[i + 1]) }));
    row('clip_grad_norm', 'anvil', n, tensors, await paired(() => native.clipGradNorm(views, 1e-30, 2, false), cprobe, 12, 12), 12);
    await torchRow('clip_grad_norm', 'torch', 'clip', n, offsets, cprobe, 12, 12);
    // The fused AMP step: fp16 grads; pass 1 reads them (inf check + norm), pass 2 is AdamW
    // reading them again with unscale and clip folded in: 2 + 26 = 28 B/elem.
    const a = bucket(offsets, 2, true); a.probeGrads = new Float32Array(n); const aprobe = probeOf(a, 2);
    const gb = [{ bits: a.grads, dtype: 'float16', offsets }];
    const ah = new native.StepBucket(a);
    const amp = () => { const r = native.ampCheckGrads(gb, 1024, { maxNorm: 1, normType: 2, errorIfNonfinite: false }); if (!r.foundInf) native.adamStep(ah, ADAMW, r.gradScale); };
    row('AMP step', 'anvil', n, tensors, await paired(amp, aprobe, 28, 28), 28);
    await torchRow('AMP step', 'torch fused', 'amp_fused', n, offsets, aprobe, 28, 28);
  }
}

// Many small tensors: per-tensor overhead from JS. `native` = one call on the registered bucket;
// `AdamW.step()` = the optimizer class (hyper-parameter checks, group signatures, the call).
const many = [];
const manyLayouts = [['1 x 1e6', mixedOffsets(1e6, 1)], ['100 mixed = 1e6', mixedOffsets(1e6, 100)], ['1 x 1e7', mixedOffsets(1e7, 1)], ['1000 x 1e4', equalOffsets(1000, 1e4)], ['100 x 1e3', equalOffsets(100, 1e3)], ['100 x 10', equalOffsets(100, 10)]];
for (const [label, offsets] of manyLayouts) {
  const b = bucket(offsets, 2); const h = new native.StepBucket(b); const probe = probeOf(b, 2);
  const reps = offsets[offsets.length - 1] <= 1e5 ? 51 : REPS;
  const r = await paired(() => native.adamStep(h, ADAMW), probe, 28, 28, reps);
  const params = Array.from({ length: offsets.length - 1 }, (_, i) => new Parameter([offsets[i + 1] - offsets[i]], { data: b.params.subarray(offsets[i], offsets[i + 1]) }));
  params.forEach((p, i) => p.setGrad(b.grads.subarray(offsets[i], offsets[i + 1])));
  const opt = new AdamW(params, { lr: 1e-3, weight_decay: 0.01 });
  const ro = await paired(() => opt.step(), probe, 28, 28, reps);
  many.push({ label, us: r.secs * 1e6, usOpt: ro.secs * 1e6, pct: 100 * r.frac });
  console.log(`AdamW ${label.padEnd(16)} ${(r.secs * 1e6).toFixed(1)} us/step native, ${(ro.secs * 1e6).toFixed(1)} us/step AdamW.step()  ${(100 * r.frac).toFixed(0)}% of bound`);
}
torch?.quit();

// ---- report --------------------------------------------------------------------------------
const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.cpus()[0]?.model;
const lines = [
  '# Benchmark results', '',
  `Machine: ${cpu}, ${os.cpus().length} cores; Anvil threads: ${threads}; Node ${process.version}; PyTorch ${torch?.version ?? 'not run'} (threads ${threads}).`,
  `Run: ${new Date().toISOString()}. Bound = the probe (same streaming pattern, trivial math) timed right before and after each repetition; medians of ${REPS} repetitions.`, '',
  '| op | implementation | N | tensors | ns/elem | GB/s | % of bound | vs torch (same op) |', '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const t = torchSecs.get(`${r.op}|${r.n}|${r.tensors}`);
    const vs = t && !r.impl.startsWith('torch') ? `${(t / (r.us / 1e6)).toFixed(2)}x` : '';
    return `| ${r.op} | ${r.impl} | ${r.n.toExponential(0)} | ${r.tensors} | ${r.nsPerElem.toFixed(3)} | ${r.gbs.toFixed(1)} | ${r.pct.toFixed(0)}% | ${vs} |`;
  }),
  '', '## Many tensors (AdamW, from JS)', '',
  'us/step of one call on the registered bucket (`native.adamStep(handle, options)`), and of `AdamW.step()` (the optimizer class: checks, group signatures, the same call); % of bound for the former.', '',
  '| layout | us/step (native call) | us/step (AdamW.step()) | % of bound |', '|---|---|---|---|',
  ...many.map((m) => `| ${m.label} | ${m.us.toFixed(1)} | ${m.usOpt.toFixed(1)} | ${m.pct.toFixed(0)}% |`), '',
];
fs.writeFileSync(path.join(root, 'bench', 'RESULTS.md'), lines.join('\n'));
console.log(`\nwrote bench/RESULTS.md`);
