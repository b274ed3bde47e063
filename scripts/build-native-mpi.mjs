#!/usr/bin/env node
// `npm run build:native:mpi`: the addon with the MPI backend (Cargo feature `mpi`, rsmpi over the
// system MPI), written to native/mpi/ beside the default addon, which never links libmpi.
// `--launcher mpi` with `backend='mpi'` loads it. Without an MPI installation it says why and
// skips (exit 0), except under CI=true, where the distributed tests must run (exit 1). It shares
// the release target folder with the default build (only anvil-dist and the addon recompile).

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'native', 'mpi');

function has(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

const missing = [];
if (!has('mpicc', ['--showme:version']) && !has('mpicc', ['-show'])) missing.push('an MPI with its compiler wrapper (Debian: apt-get install openmpi-bin libopenmpi-dev)');
if (!has('mpirun', ['--version'])) missing.push('mpirun (openmpi-bin)');
if (missing.length) {
  const msg = `build:native:mpi: skipped, this machine lacks ${missing.join(' and ')}; rsmpi's bindings also need libclang-dev`;
  if (process.env.CI === 'true') {
    console.error(`${msg}\nCI=true: the MPI tests must run in CI (.ci/run installs openmpi-bin libopenmpi-dev libclang-dev)`);
    process.exit(1);
  }
  console.log(msg);
  process.exit(0);
}

fs.mkdirSync(OUT, { recursive: true });
const napi = path.join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
try {
  execFileSync(
    process.execPath,
    [napi, 'build', '--platform', '--release', '--manifest-path', 'native/Cargo.toml', '--features', 'mpi', '--output-dir', OUT, '--no-js', '--dts', 'index.d.ts'],
    { cwd: ROOT, stdio: 'inherit' },
  );
} catch {
  console.error('build:native:mpi: the build failed (see above)');
  process.exit(1);
}
// Cargo writes both variants of the cdylib to the same file and would take the MPI one for the
// default build's still-fresh output next time: remove it, so `build:native` links its own.
for (const dir of [path.join(ROOT, 'target', 'release'), path.join(ROOT, 'target', 'release', 'deps')]) {
  for (const name of ['libanvil_native.so', 'libanvil_native.dylib', 'anvil_native.dll']) fs.rmSync(path.join(dir, name), { force: true });
}
const built = fs.readdirSync(OUT).filter((f) => f.endsWith('.node'));
if (built.length === 0) {
  console.error(`build:native:mpi: napi build wrote no .node file into ${OUT}`);
  process.exit(1);
}
console.log(`build:native:mpi: ${path.relative(ROOT, path.join(OUT, built[0]))}`);
