// `npm run bench` (second part): forward+backward throughput of layers against PyTorch CPU on the
// same shapes and thread count: the CNN demo model (configs/mnist_cnn.py, at the batch size it
// trains with) and a Linear 4096x4096 layer. Repetitions alternate Anvil / PyTorch (a worker,
// bench/torch_layers.py) so both see the same state of this noisy shared VM; medians are reported.
// Each pair runs at --threads N (default 2) and again at 1 thread. A full run writes
// bench/RESULTS-layers.md. Options: --quick (fewer repetitions), --no-torch, --threads N.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { torchPython } from './venv.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const anvil = require(path.join(root, 'dist', 'index.js'));
const argv = process.argv.slice(2);
const args = new Set(argv);
const THREADS = Number(argv[argv.indexOf('--threads') + 1]) || 2;
const REPS = args.has('--quick') ? 5 : 15;
const WARMUP = 2;

// ---- PyTorch worker ------------------------------------------------------------------------
async function startTorch() {
  if (args.has('--no-torch')) return null;
  const py = torchPython();
  if (!py) return null;
  const child = spawn(py, [path.join(root, 'bench', 'torch_layers.py'), String(THREADS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (msg) => {
    if (msg) child.stdin.write(JSON.stringify(msg) + '\n');
    const next = await lines.next();
    if (next.done) throw new Error('bench/torch_layers.py exited early (see its error above)');
    return JSON.parse(next.value);
  };
  const hello = await ask(null);
  const build = [hello.mkl && 'MKL', hello.mkldnn && 'oneDNN', hello.cpu].filter(Boolean).join(', ');
  return { version: hello.ready, build, ask, quit: () => child.stdin.end('{"cmd":"quit"}\n') };
}

// ---- cases ---------------------------------------------------------------------------------
/** Deterministic normal-ish values (sum of uniforms), so runs compare like with like. */
function randn(n, seed) {
  const rng = new anvil.Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1) + rng.uniform(-1, 1) + rng.uniform(-1, 1);
  return a;
}

const zeroGrads = (params) => { for (const p of params) p.setGrad(null); };

/** configs/mnist_cnn.py's model on a batch of its training batch size: zero grads, forward, loss, backward. */
function cnnCase() {
  const cfg = anvil.Config.fromFile(path.join(root, 'configs', 'mnist_cnn.py')).toDict();
  anvil.setRandomSeed(0);
  const model = anvil.MODELS.build(cfg.model, 'model');
  const batch = cfg.train_dataloader.batch_size;
  const inputs = randn(batch * 784, 1);
  const labels = Uint32Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  const images = { inputs, labels, size: batch, features: 784, shape: [batch, 1, 28, 28] };
  const params = model.parameters();
  return {
    name: 'CNN demo (configs/mnist_cnn.py)', shape: `batch ${batch}, 1x28x28`, batch,
    torch: { case: 'cnn', batch },
    step: () => { zeroGrads(params); model.forwardBackward(images, 1); },
  };
}

/** Linear in -> out on `batch` rows: zero grads, y = x W^T + b, backward of dy into dW, db, dx. */
function linearCase(batch, inF, outF) {
  anvil.setRandomSeed(0);
  const layer = new anvil.Linear({ inFeatures: inF, outFeatures: outF });
  const x = { data: randn(batch * inF, 2), shape: [batch, inF] };
  const dy = { data: randn(batch * outF, 3), shape: [batch, outF] };
  const params = layer.parameters();
  return {
    name: `Linear ${inF}x${outF}`, shape: `batch ${batch} rows`, batch,
    torch: { case: 'linear', batch, in_features: inF, out_features: outF },
    step: () => { zeroGrads(params); layer.forward(x); layer.backward(dy, true); },
  };
}

// ---- timing --------------------------------------------------------------------------------
const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Alternates one Anvil repetition and one PyTorch repetition (PyTorch timed by the worker itself). */
async function measure(c, torch, threads) {
  anvil.setNumThreads(threads);
  if (torch) await torch.ask({ cmd: 'setup', ...c.torch, threads });
  for (let i = 0; i < WARMUP; i++) c.step();
  const a = [];
  const t = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = now();
    c.step();
    a.push(now() - t0);
    if (torch) t.push((await torch.ask({ cmd: 'run' })).seconds);
  }
  return { anvil: a, torch: torch ? t : null };
}

function summary(secs, batch) {
  const m = median(secs);
  return { ms: m * 1e3, ips: batch / m, min: Math.min(...secs) * 1e3, max: Math.max(...secs) * 1e3 };
}

// ---- run -----------------------------------------------------------------------------------
const loadBefore = os.loadavg()[0];
const torch = await startTorch();
const cases = [cnnCase(), linearCase(256, 4096, 4096)];
const rows = [];
// The target's thread count, then one thread: a single-threaded pair does not depend on how each
// side's thread pool copes with other processes on this shared VM, so it checks the first reading.
const threadCounts = THREADS === 1 ? [1] : [THREADS, 1];
console.log(`${REPS} alternating repetitions, medians`);
for (const threads of threadCounts) {
  for (const c of cases) {
    const r = await measure(c, torch, threads);
    const a = summary(r.anvil, c.batch);
    const t = r.torch ? summary(r.torch, c.batch) : null;
    const ratio = t ? a.ips / t.ips : null;
    rows.push({ c, threads, a, t, ratio });
    const fmt = (s) => `${s.ips.toFixed(0).padStart(7)} img/s ${s.ms.toFixed(1).padStart(8)} ms/iter (${s.min.toFixed(1)}-${s.max.toFixed(1)})`;
    console.log(`${c.name.padEnd(32)} ${threads} thr  anvil ${fmt(a)}` + (t ? `   torch ${fmt(t)}   anvil/torch ${ratio.toFixed(2)}x` : ''));
  }
}
if (torch) torch.quit();
const loadAfter = os.loadavg()[0];

// ---- RESULTS-layers.md ---------------------------------------------------------------------
const cpus = os.cpus();
const verdict = (ratio) => (ratio === null ? '-' : ratio >= 1 / 1.5 ? 'met' : `**missed** (${(1 / ratio).toFixed(2)}x slower)`);
const table = [
  '| case | shape | threads | Anvil images/s | Anvil ms/iter (min-max) | PyTorch images/s | PyTorch ms/iter (min-max) | Anvil / PyTorch | within 1.5x |',
  '|---|---|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map(({ c, threads, a, t, ratio }) => `| ${c.name} | ${c.shape} | ${threads} | ${a.ips.toFixed(0)} | ${a.ms.toFixed(1)} (${a.min.toFixed(1)}-${a.max.toFixed(1)}) | `
    + (t ? `${t.ips.toFixed(0)} | ${t.ms.toFixed(1)} (${t.min.toFixed(1)}-${t.max.toFixed(1)}) | ${ratio.toFixed(2)}x | ${verdict(ratio)} |` : '- | - | - | - |')),
];
const md = [
  '# Layer benchmark results',
  '',
  `Written by \`node bench/layers.mjs\` (part of \`npm run bench\`) on ${new Date().toISOString().slice(0, 10)}. Forward + backward`,
  '(gradients zeroed, forward, loss, backward into the parameter gradients and the input gradient)',
  `per iteration; ${REPS} repetitions alternating Anvil and PyTorch after ${WARMUP} warm-ups each, medians`,
  '(min-max in brackets). images/s = batch rows / median seconds. PyTorch times itself in its',
  'worker (`bench/torch_layers.py`), so the pipe round trip is not counted against it.',
  '',
  `- machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} logical CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`,
  `- threads: the same count on both sides, ${threadCounts.join(' and ')} (Anvil \`setNumThreads\`, PyTorch \`torch.set_num_threads\`); the target is read at ${THREADS}`,
  `- load average (1 min) before / after the run: ${loadBefore.toFixed(1)} / ${loadAfter.toFixed(1)} on ${cpus.length} CPUs (other processes share them; both sides see the same load)`,
  `- versions: anvil-train ${require(path.join(root, 'package.json')).version}, Node.js ${process.version}, PyTorch ${torch ? `${torch.version} (CPU: ${torch.build})` : 'not run'}`,
  '',
  ...table,
  '',
  'Target (issue 5): within 1.5x of PyTorch, i.e. Anvil / PyTorch >= 0.67. See bench/README.md for the reading.',
  '',
];
// Only a full side-by-side run replaces the recorded results.
if (torch && !args.has('--quick')) {
  fs.writeFileSync(path.join(root, 'bench', 'RESULTS-layers.md'), md.join('\n'));
  console.log('wrote bench/RESULTS-layers.md');
} else {
  console.log('bench/RESULTS-layers.md left as it was (--quick or no PyTorch)');
}
