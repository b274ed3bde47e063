// Saving and loading a runner's checkpoints as MMEngine's runner does: `saveCheckpoint` (meta,
// weights, message hub, optimizer, schedulers, data position, RNG), `loadCheckpoint` (weights,
// strict or not), `resumeCheckpoint` (everything), `loadOrResume` (the `load_from`/`resume` keys).

import * as fs from 'node:fs';
import * as path from 'node:path';

import { getDist, isMainProcess } from '../dist/context';
import { AnvilError } from '../errors';
import type { BaseModel } from '../models/base-model';
import { globalRng } from '../util/random';
import { readCheckpointFile, writeCheckpointFile, type TensorInfoOf } from './checkpoint-file';
import type { MessageHubStateDict } from './message-hub';
import type { Runner } from './runner';

/** Test-only: milliseconds a save sleeps halfway through writing (fault-injection tests). */
export const SAVE_DELAY_ENV = 'ANVIL_TEST_CHECKPOINT_SAVE_DELAY_MS';

/** The file in work_dir naming the latest checkpoint (MMEngine's `last_checkpoint`). */
export const LAST_CHECKPOINT = 'last_checkpoint';

type TensorData = Float32Array | Float64Array;

export interface SaveCheckpointOptions {
  /** Save the optimizer wrapper's state. Default true. */
  saveOptimizer?: boolean;
  /** Save the param schedulers' state. Default true. */
  saveParamScheduler?: boolean;
  /** Entries merged into `meta` (CheckpointHook passes the epoch and iter the file stands for). */
  meta?: Record<string, unknown>;
}

export interface LoadCheckpointOptions {
  /** Every model key must be in the checkpoint and every checkpoint key in the model. Default false. */
  strict?: boolean;
}

/** What a load did: the checkpoint dict (after the hooks saw it) and the keys that did not match. */
export interface LoadReport {
  checkpoint: Record<string, unknown>;
  missingKeys: string[];
  unexpectedKeys: string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../package.json').version;

/** The model's parameters and buffers by name (MMEngine's `model.state_dict()`), as views. */
export function modelStateDict(model: BaseModel): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const [name, p] of model.namedParameters()) out[name] = p.data;
  for (const [name, b] of model.namedBuffers()) out[name] = b.data;
  return out;
}

/** Shapes and dtypes of the tensors a runner's checkpoint holds, by their key path. */
function tensorInfo(runner: Runner): TensorInfoOf {
  const model = new Map<string, { shape: readonly number[]; dtype?: 'int64' }>();
  for (const [name, p] of runner.model.namedParameters()) model.set(name, { shape: p.shape });
  for (const [name, b] of runner.model.namedBuffers()) model.set(name, { shape: b.shape, dtype: b.dtype === 'int64' ? 'int64' : undefined });
  const optimizerShapes = (groups: ReadonlyArray<{ params: ReadonlyArray<{ shape: readonly number[] }> }>) => groups.flatMap((g) => g.params.map((p) => p.shape));
  const wrapper = runner.optimWrapper as unknown as { optimizer?: { paramGroups: [] }; items?: () => [string, { optimizer: { paramGroups: [] } }][] } | null;
  const single = wrapper?.optimizer ? optimizerShapes(wrapper.optimizer.paramGroups) : null;
  const byName = new Map(wrapper?.items?.().map(([n, w]) => [n, optimizerShapes(w.optimizer.paramGroups)]) ?? []);
  return (p) => {
    if (p[0] === 'state_dict' && p.length === 2) return model.get(p[1]);
    if (p[0] === 'ema_state_dict' && p.length === 2 && p[1].startsWith('module.')) return model.get(p[1].slice(7));
    if (p[0] === 'optimizer') {
      const [shapes, rest] = single ? [single, p.slice(1)] : [byName.get(p[1]), p.slice(2)];
      if (shapes && rest[0] === 'state' && rest.length === 3) return { shape: shapes[Number(rest[1])] };
    }
    return undefined;
  };
}

/** MMEngine's checkpoint dict of a runner: meta, state_dict, message_hub, optimizer, param_schedulers. */
function checkpointOf(runner: Runner, options: SaveCheckpointOptions): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    epoch: runner.epoch,
    iter: runner.iter,
    ...options.meta,
    cfg: runner.cfg,
    seed: runner.seed,
    experiment_name: runner.experimentName,
    time: runner.timestamp,
    anvil_version: VERSION,
    // Exact resume: the global generator (dropout masks) and the train data position.
    rng: globalRng().getState(),
  };
  // With diff_rank_seed every rank's generator differs: keep them all (a collective: every rank saves).
  const group = getDist();
  if (group && group.worldSize > 1 && runner.diffRankSeed) {
    meta.rank_rng = group.allGatherBytes(new TextEncoder().encode(JSON.stringify(meta.rng))).map((b) => JSON.parse(new TextDecoder().decode(b)) as number[]);
  }
  if (runner.trainDataloader) meta.dataloader = runner.trainDataloader.stateDict();
  const datasetMeta = (runner.trainDataloader?.dataset as { metainfo?: unknown } | undefined)?.metainfo;
  if (datasetMeta !== undefined) meta.dataset_meta = datasetMeta;
  const checkpoint: Record<string, unknown> = { meta, state_dict: modelStateDict(runner.model), message_hub: runner.messageHub.stateDict() };
  if ((options.saveOptimizer ?? true) && runner.optimWrapper) checkpoint.optimizer = runner.optimWrapper.stateDict();
  if ((options.saveParamScheduler ?? true) && runner.paramSchedulers.length > 0) checkpoint.param_schedulers = runner.paramSchedulers.map((s) => s.stateDict());
  return checkpoint;
}

/** A checkpoint of NaN or infinite weights is never written: it could only spread the failure. */
function assertFinite(stateDict: Record<string, unknown>, file: string, iter: unknown): void {
  for (const [name, data] of Object.entries(stateDict)) {
    if (!(data instanceof Float32Array || data instanceof Float64Array)) continue;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new AnvilError(`refusing to save checkpoint ${file} at iteration ${String(iter)}: '${name}' holds ${data[i]} at element ${i}; the previous checkpoints are kept`);
      }
    }
  }
}

function saveDelay(): number | undefined {
  const raw = process.env[SAVE_DELAY_ENV];
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) throw new AnvilError(`${SAVE_DELAY_ENV} must be a non-negative integer (milliseconds), got '${raw}'`);
  return ms;
}

/**
 * MMEngine's `runner.save_checkpoint`: builds the checkpoint dict, lets the hooks add to it
 * (`before_save_checkpoint`: EMAHook puts its average there) and writes it as one safetensors
 * file, atomically. Refuses to write non-finite weights.
 */
export function saveCheckpoint(runner: Runner, file: string, options: SaveCheckpointOptions = {}): void {
  const checkpoint = checkpointOf(runner, options);
  runner.callHook('before_save_checkpoint', checkpoint);
  assertFinite(checkpoint.state_dict as Record<string, unknown>, file, (checkpoint.meta as { iter?: unknown }).iter);
  // Distributed: every rank holds the same weights; rank 0 writes, the others wait for the file.
  if (isMainProcess()) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeCheckpointFile(file, checkpoint, { tensorInfo: tensorInfo(runner), pauseMidwayMs: saveDelay() });
  }
  getDist()?.barrier();
}

/** Copies `stateDict` into the model's tensors; reports (strict: refuses) keys that do not match. */
function loadModelState(model: BaseModel, stateDict: Record<string, unknown>, strict: boolean, file: string): { missingKeys: string[]; unexpectedKeys: string[] } {
  const targets = modelStateDict(model);
  // MMEngine's default revise_keys: a `module.` prefix (a wrapped model's) is dropped.
  const source = new Map(Object.entries(stateDict).map(([k, v]) => [k.startsWith('module.') ? k.slice(7) : k, v]));
  const missingKeys = Object.keys(targets).filter((k) => !source.has(k));
  const unexpectedKeys = [...source.keys()].filter((k) => !(k in targets));
  if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
    throw new AnvilError(`checkpoint ${file} does not match the model (strict): missing keys ${JSON.stringify(missingKeys)}, unexpected keys ${JSON.stringify(unexpectedKeys)}`);
  }
  const mismatched: string[] = [];
  for (const [name, target] of Object.entries(targets)) {
    const value = source.get(name);
    if (value === undefined) continue;
    if (!ArrayBuffer.isView(value) || (value as TensorData).length !== target.length) {
      mismatched.push(`${name}: the checkpoint holds ${ArrayBuffer.isView(value) ? `${(value as TensorData).length} values` : JSON.stringify(value)}, the model ${target.length}`);
    }
  }
  if (mismatched.length > 0) throw new AnvilError(`checkpoint ${file}: size mismatch for ${mismatched.join('; ')}`);
  for (const [name, target] of Object.entries(targets)) {
    const value = source.get(name);
    if (value !== undefined) target.set(value as TensorData);
  }
  return { missingKeys, unexpectedKeys };
}

function logMismatch(runner: Runner, report: { missingKeys: string[]; unexpectedKeys: string[] }): void {
  const parts: string[] = [];
  if (report.unexpectedKeys.length) parts.push(`unexpected key in source state_dict: ${report.unexpectedKeys.join(', ')}`);
  if (report.missingKeys.length) parts.push(`missing keys in source state_dict: ${report.missingKeys.join(', ')}`);
  if (parts.length) runner.logger.warn(`The model and loaded state dict do not match exactly\n\n${parts.join('\n\n')}\n`);
}

/**
 * MMEngine's `runner.load_checkpoint`: reads the file, calls the hooks' `after_load_checkpoint`
 * (before the weights go in, so EMAHook can swap its average back), and loads `state_dict` into
 * the model. Non-strict by default: missing and unexpected keys are logged and returned.
 */
export function loadCheckpoint(runner: Runner, file: string, options: LoadCheckpointOptions = {}): LoadReport {
  if (!fs.existsSync(file)) throw new AnvilError(`checkpoint '${file}' not found`);
  const { checkpoint } = readCheckpointFile(file);
  runner.callHook('after_load_checkpoint', checkpoint);
  const stateDict = checkpoint.state_dict;
  if (stateDict === null || typeof stateDict !== 'object' || Array.isArray(stateDict)) throw new AnvilError(`checkpoint ${file} has no state_dict`);
  const report = loadModelState(runner.model, stateDict as Record<string, unknown>, options.strict ?? false, file);
  logMismatch(runner, report);
  runner.logger.info(`Load checkpoint from ${file}`);
  return { checkpoint, ...report };
}

function integer(value: unknown, key: string, file: string): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw new AnvilError(`checkpoint ${file}: meta.${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return value as number;
}

/**
 * MMEngine's `runner.resume`: the weights (as `loadCheckpoint`), then the epoch and iteration,
 * message hub, optimizer wrapper, schedulers, and, beyond MMEngine, the global RNG state and the
 * train dataloader's position, so training continues exactly where the checkpoint was taken.
 */
export function resumeCheckpoint(runner: Runner, file: string): LoadReport {
  runner.resume = true;
  const report = loadCheckpoint(runner, file);
  const { checkpoint } = report;
  const meta = (checkpoint.meta ?? {}) as Record<string, unknown>;
  runner.state.epoch = integer(meta.epoch, 'epoch', file);
  runner.state.iter = integer(meta.iter, 'iter', file);
  if (meta.seed !== undefined && meta.seed !== null && runner.seed !== null && meta.seed !== runner.seed) {
    runner.logger.warn(`The value of random seed in the checkpoint "${String(meta.seed)}" is different from the value in \`randomness\` config "${runner.seed}"; the data order and random state follow the checkpoint`);
  }
  if (checkpoint.message_hub) runner.messageHub.loadStateDict(checkpoint.message_hub as MessageHubStateDict);
  if (checkpoint.optimizer && runner.optimWrapper) runner.optimWrapper.loadStateDict(checkpoint.optimizer as Parameters<NonNullable<Runner['optimWrapper']>['loadStateDict']>[0]);
  const schedulers = checkpoint.param_schedulers;
  if (Array.isArray(schedulers)) {
    if (schedulers.length !== runner.paramSchedulers.length) {
      throw new AnvilError(`checkpoint ${file} holds ${schedulers.length} param schedulers, the config builds ${runner.paramSchedulers.length}`);
    }
    runner.paramSchedulers.forEach((s, i) => s.loadStateDict(schedulers[i] as Record<string, unknown>));
  } else if (runner.paramSchedulers.length > 0) {
    runner.logger.warn(`checkpoint ${file} holds no param_schedulers; the schedulers start over`);
  }
  const rng = rankRngState(meta, runner.diffRankSeed);
  if (rng) globalRng().setState(rng);
  if (meta.dataloader && runner.trainDataloader) runner.trainDataloader.loadStateDict(meta.dataloader as Parameters<NonNullable<Runner['trainDataloader']>['loadStateDict']>[0]);
  runner.logger.info(`resumed epoch: ${runner.epoch}, iter: ${runner.iter}`);
  return report;
}

/** This rank's generator state in a checkpoint: its own with diff_rank_seed (same world size), else rank 0's. */
function rankRngState(meta: Record<string, unknown>, diffRankSeed: boolean): number[] | null {
  const group = getDist();
  const perRank = meta.rank_rng;
  if (diffRankSeed && group && Array.isArray(perRank) && perRank.length === group.worldSize) return perRank[group.rank] as number[];
  return Array.isArray(meta.rng) ? (meta.rng as number[]) : null;
}

/** MMEngine's `find_latest_checkpoint`: the file `work_dir/last_checkpoint` names, or null. */
export function findLatestCheckpoint(workDir: string | null): string | null {
  if (!workDir) return null;
  const marker = path.join(workDir, LAST_CHECKPOINT);
  if (!fs.existsSync(marker)) return null;
  const file = fs.readFileSync(marker, 'utf8').trim();
  if (!file) return null;
  const resolved = path.isAbsolute(file) ? file : path.resolve(file);
  if (!fs.existsSync(resolved)) throw new AnvilError(`${marker} names ${file}, which does not exist`);
  return resolved;
}

/** Writes a small text file atomically (temp file, fsync, rename, fsync of the folder). */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (process.platform !== 'win32') {
    const dir = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  }
}

/**
 * MMEngine's `load_or_resume`: with `resume`, from `load_from` or else the latest checkpoint in
 * work_dir (nothing to resume: a fresh start); without it, the weights of `load_from`.
 */
export function loadOrResume(runner: Runner): void {
  let resumeFrom: string | null = null;
  if (runner.resume && !runner.loadFrom) {
    resumeFrom = findLatestCheckpoint(runner.workDir);
    runner.logger.info(resumeFrom ? `Auto resumed from the latest checkpoint ${resumeFrom}.` : `Did not find ${LAST_CHECKPOINT} to be resumed in ${runner.workDir ?? '(no work_dir)'}; training starts from scratch.`);
  } else if (runner.resume) {
    resumeFrom = runner.loadFrom;
  }
  if (resumeFrom) resumeCheckpoint(runner, resumeFrom);
  else if (runner.loadFrom) loadCheckpoint(runner, runner.loadFrom);
}
