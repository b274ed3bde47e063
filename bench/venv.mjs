// The PyTorch the benchmarks compare against: ~/.cache/anvil/bench-venv with torch==2.15.0 from
// PyPI, created on first use (never under CI, where the comparison is skipped).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BENCH_VENV = path.join(os.homedir(), '.cache', 'anvil', 'bench-venv');

/** The venv's python, creating the venv when missing; null under CI without one. */
export function torchPython() {
  const py = path.join(BENCH_VENV, 'bin', 'python');
  if (!fs.existsSync(py)) {
    if (process.env.CI) return null;
    console.log(`creating ${BENCH_VENV} with torch==2.15.0 from PyPI (first run only)...`);
    execFileSync('python3', ['-m', 'venv', BENCH_VENV], { stdio: 'inherit' });
    execFileSync(py, ['-m', 'pip', 'install', '-q', 'torch==2.15.0'], { stdio: 'inherit' });
  }
  return py;
}
