// The conformance runner: loads every case file under a directory, runs the supported ones
// through the project's code (one handler per kind), and reports pass / FAIL / unsupported.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDevice } from '../cuda/kernels';
import { AnvilError } from '../errors';
import { compare, formatDifference } from './compare';
import { runClipGradCase } from './kinds/clip-grad';
import { runEmaCase } from './kinds/ema';
import { runGradScalerCase } from './kinds/grad-scaler';
import { runHookOrderCase } from './kinds/hook-order';
import { runOptimConstructorCase } from './kinds/optim-constructor';
import { runConfigCase } from './kinds/config';
import { runOptimWrapperCase } from './kinds/optim-wrapper';
import { runOptimizerCase } from './kinds/optimizer';
import { runSchedulerCase } from './kinds/scheduler';
import { caseType, isSupported, SUPPORTED, type ConformanceCase } from './support';

/** Where the kernel kinds run: 'cpu', or 'cuda:N' (`--device`). */
export interface CaseContext {
  device: string;
}

/** Runs a case through our code and returns an object shaped like `case.expected`. */
export type CaseHandler = (c: ConformanceCase, ctx: CaseContext) => unknown;

/** The kinds whose numbers come from the kernels, and so run on the device `--device` names. */
export const DEVICE_KINDS: readonly string[] = ['optimizer', 'clip_grad', 'grad_scaler', 'ema'];

export const HANDLERS: Readonly<Record<string, CaseHandler>> = {
  clip_grad: runClipGradCase,
  ema: runEmaCase,
  grad_scaler: runGradScalerCase,
  hook_order: runHookOrderCase,
  config: runConfigCase,
  optimizer: runOptimizerCase,
  optim_constructor: runOptimConstructorCase,
  optim_wrapper: runOptimWrapperCase,
  scheduler: runSchedulerCase,
};

for (const pair of SUPPORTED) {
  const kind = pair.slice(0, pair.indexOf('/'));
  if (!Object.hasOwn(HANDLERS, kind)) throw new Error(`conformance: '${pair}' is supported but kind '${kind}' has no handler`);
}

export type CaseStatus = 'pass' | 'fail' | 'unsupported';

export interface CaseResult {
  /** The case file, relative to the directory given. */
  file: string;
  kind: string | null;
  name: string | null;
  status: CaseStatus;
  /** Why it failed, or the unsupported `kind/type`; null for a pass. */
  detail: string | null;
}

export interface ConformanceSummary {
  passed: number;
  failed: number;
  unsupported: number;
  results: CaseResult[];
}

function caseFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? caseFiles(p) : e.isFile() && e.name.endsWith('.json') ? [p] : [];
    });
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Runs one parsed case: null on a pass, else the failure's text. */
function runCase(c: ConformanceCase, handler: CaseHandler, ctx: CaseContext): string | null {
  if (Object.hasOwn(c.expected, 'error')) {
    try {
      handler(c, ctx);
    } catch (e) {
      return e instanceof AnvilError ? null : `expected an AnvilError (reference: ${JSON.stringify(c.expected.error)}), got ${errorText(e)}`;
    }
    return `expected an error (reference: ${JSON.stringify(c.expected.error)}), got none`;
  }
  let actual: unknown;
  try {
    actual = handler(c, ctx);
  } catch (e) {
    return `threw ${errorText(e)}`;
  }
  const d = compare(c.expected, actual, c.tolerance);
  return d ? formatDifference(d) : null;
}

function runFile(dir: string, file: string, ctx: CaseContext): CaseResult {
  const rel = path.relative(dir, file) || path.basename(file);
  let c: unknown;
  try {
    c = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return { file: rel, kind: null, name: null, status: 'fail', detail: `not a valid case file: ${errorText(e)}` };
  }
  if (!isObject(c) || typeof c.kind !== 'string' || typeof c.name !== 'string' || !isObject(c.input) || !isObject(c.expected)) {
    return { file: rel, kind: null, name: null, status: 'fail', detail: 'not a valid case file: needs string kind and name, object input and expected' };
  }
  const kc = c as unknown as ConformanceCase;
  const base = { file: rel, kind: kc.kind, name: kc.name };
  const type = caseType(kc);
  if (!isSupported(kc.kind, type)) return { ...base, status: 'unsupported', detail: `${kc.kind}/${type}` };
  const failure = runCase(kc, HANDLERS[kc.kind], ctx);
  return { ...base, status: failure === null ? 'pass' : 'fail', detail: failure };
}

function line(r: CaseResult): string {
  const id = r.kind !== null ? `${r.kind}/${r.name}` : r.file;
  if (r.status === 'pass') return `pass  ${id}`;
  if (r.status === 'unsupported') return `unsupported  ${id} (${r.detail})`;
  return `FAIL  ${id}: ${r.detail}`;
}

/**
 * Runs every `*.json` case under `dir` (recursively, sorted by path) and prints one line per case
 * and a total. With `device` ('cuda', 'cuda:N') the kernel kinds (DEVICE_KINDS) run on that GPU.
 */
export function runConformance(dir: string, options: { out?: (line: string) => void; device?: string } = {}): ConformanceSummary {
  const out = options.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new AnvilError(`conformance: '${dir}' is not a directory`);
  const spec = parseDevice(options.device, 'conformance: --device');
  const ctx: CaseContext = { device: spec.name };
  if (ctx.device !== 'cpu') out(`device: ${ctx.device} (kinds ${DEVICE_KINDS.join(', ')}; the others run on the CPU)`);
  const results = caseFiles(dir)
    .sort()
    .map((f) => {
      const r = runFile(dir, f, ctx);
      out(line(r));
      return r;
    });
  const count = (s: CaseStatus) => results.filter((r) => r.status === s).length;
  const summary = { passed: count('pass'), failed: count('fail'), unsupported: count('unsupported'), results };
  out(`${summary.passed} passed, ${summary.failed} failed, ${summary.unsupported} unsupported`);
  return summary;
}
