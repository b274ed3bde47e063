// CheckpointHook (MMEngine's, VERY_LOW): saves checkpoints every `interval` epochs or iterations
// and at the end, keeps the newest `max_keep_ckpts`, tracks the best by `save_best` metrics, and
// names the latest in work_dir/last_checkpoint for `--resume`.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError } from '../errors';
import { readCheckpointFile, writeCheckpointFile } from '../runner/checkpoint-file';
import { isMainProcess } from '../dist/context';
import { LAST_CHECKPOINT, saveCheckpoint, writeFileAtomic } from '../runner/checkpoint';
import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export interface CheckpointHookOptions {
  /** Save every this many epochs (by_epoch) or iterations; -1 saves only the last. Default -1. */
  interval?: number;
  /** Count `interval` in epochs (true) or iterations. Default true. */
  byEpoch?: boolean;
  saveOptimizer?: boolean;
  saveParamScheduler?: boolean;
  /** Folder for the checkpoints (joined with work_dir's last folder name); default work_dir. */
  outDir?: string | null;
  /** Keep only the newest this many periodic checkpoints; -1 keeps all. Default -1. */
  maxKeepCkpts?: number;
  /** Save at the last epoch/iteration whatever the interval. Default true. */
  saveLast?: boolean;
  /** Metric key(s) whose best value keeps a `best_<key>_<step>` checkpoint; 'auto' takes the first metric. */
  saveBest?: string | string[] | null;
  /** 'greater' or 'less' per save_best key; inferred from the key's name when absent. */
  rule?: string | string[] | null;
  greaterKeys?: string[] | null;
  lessKeys?: string[] | null;
  /** File name with `{}` for the epoch/iteration; default `epoch_{}.safetensors` / `iter_{}.safetensors`. */
  filenameTmpl?: string | null;
  /** At the end of training, also write the last (and best) checkpoint with only these keys, named with its SHA-256. */
  publishedKeys?: string | string[] | null;
  /** The first epoch/iteration counted by `interval`. Default 0. */
  saveBegin?: number;
  /** MMEngine's file-backend arguments: only the local file system (None) is supported. */
  fileClientArgs?: null;
  backendArgs?: null;
}

/** A `save_best` key's best checkpoint so far (see `CheckpointHook.bestCheckpoints`). */
export interface BestCheckpoint {
  key: string;
  score: number;
  path: string;
  /** 'epoch' or 'iter': what `step` counts (the hook's `by_epoch`). */
  unit: 'epoch' | 'iter';
  /** The epoch or iteration after which it was validated; null when its file no longer says. */
  step: number | null;
}

const RULES: Record<string, (a: number, b: number) => boolean> = { greater: (a, b) => a > b, less: (a, b) => a < b };
const INIT: Record<string, number> = { greater: -Infinity, less: Infinity };
const GREATER_KEYS = ['acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU', 'mAcc', 'aAcc'];
const LESS_KEYS = ['loss'];

function list<T>(v: T | T[] | null | undefined): T[] | null {
  return v === null || v === undefined ? null : Array.isArray(v) ? v : [v];
}

export class CheckpointHook extends Hook {
  override priority = 90;
  readonly interval: number;
  readonly byEpoch: boolean;
  readonly saveOptimizer: boolean;
  readonly saveParamScheduler: boolean;
  readonly maxKeepCkpts: number;
  readonly saveLast: boolean;
  readonly saveBegin: number;
  readonly filenameTmpl: string;
  readonly publishedKeys: string[] | null;
  readonly greaterKeys: string[];
  readonly lessKeys: string[];
  /** The folder checkpoints go to (resolved in before_train); null without a work_dir. */
  outDir: string | null;
  /** The latest periodic checkpoint written (MMEngine's `last_ckpt`). */
  lastCkpt: string | null = null;
  private keyIndicators: string[] = [];
  private rules: Array<string | null> = [];
  private readonly isBetterThan = new Map<string, (a: number, b: number) => boolean>();
  private bestCkptPaths = new Map<string, string | null>();
  /** The step of each key's best checkpoint saved in this run (not in the message hub, as MMEngine's). */
  private readonly bestSteps = new Map<string, number>();
  private keepCkptIds: number[] = [];

  constructor(options: CheckpointHookOptions = {}) {
    super();
    const { interval = -1, byEpoch = true, saveOptimizer = true, saveParamScheduler = true, outDir = null, maxKeepCkpts = -1, saveLast = true, saveBegin = 0 } = options;
    if (!Number.isInteger(interval)) throw new AnvilError(`CheckpointHook: interval must be an integer, got ${JSON.stringify(interval)}`);
    if (!Number.isInteger(maxKeepCkpts)) throw new AnvilError(`CheckpointHook: max_keep_ckpts must be an integer, got ${JSON.stringify(maxKeepCkpts)}`);
    if (!Number.isInteger(saveBegin) || saveBegin < 0) throw new AnvilError(`CheckpointHook: save_begin should not be less than 0, but got ${JSON.stringify(saveBegin)}`);
    for (const [k, v] of [['by_epoch', byEpoch], ['save_optimizer', saveOptimizer], ['save_param_scheduler', saveParamScheduler], ['save_last', saveLast]] as const) {
      if (typeof v !== 'boolean') throw new AnvilError(`CheckpointHook: ${k} must be True or False, got ${JSON.stringify(v)}`);
    }
    if (outDir !== null && typeof outDir !== 'string') throw new AnvilError(`CheckpointHook: out_dir must be a folder path or None, got ${JSON.stringify(outDir)}`);
    for (const k of ['fileClientArgs', 'backendArgs'] as const) {
      if (options[k] != null) throw new AnvilError(`CheckpointHook: ${k === 'fileClientArgs' ? 'file_client_args' : 'backend_args'} selects a storage backend; only the local file system is supported (leave it None)`);
    }
    this.interval = interval;
    this.byEpoch = byEpoch;
    this.saveOptimizer = saveOptimizer;
    this.saveParamScheduler = saveParamScheduler;
    this.outDir = outDir;
    this.maxKeepCkpts = maxKeepCkpts;
    this.saveLast = saveLast;
    this.saveBegin = saveBegin;
    const tmpl = options.filenameTmpl ?? (byEpoch ? 'epoch_{}.safetensors' : 'iter_{}.safetensors');
    if (typeof tmpl !== 'string' || !tmpl.includes('{}')) throw new AnvilError(`CheckpointHook: filename_tmpl must be a file name with '{}' for the step, got ${JSON.stringify(tmpl)}`);
    this.filenameTmpl = tmpl;
    this.publishedKeys = list(options.publishedKeys);
    if (this.publishedKeys && !this.publishedKeys.every((k) => typeof k === 'string')) throw new AnvilError('CheckpointHook: published_keys must be a key or a list of keys');
    this.greaterKeys = list(options.greaterKeys) ?? GREATER_KEYS;
    this.lessKeys = list(options.lessKeys) ?? LESS_KEYS;

    const saveBest = list(options.saveBest);
    if (saveBest) {
      if (!saveBest.every((k) => typeof k === 'string')) throw new AnvilError(`CheckpointHook: save_best must be a metric name, a list of them, or None, got ${JSON.stringify(options.saveBest)}`);
      if (saveBest.length > 1 && saveBest.includes('auto')) throw new AnvilError('CheckpointHook: Only support one "auto" in "save_best" list.');
      if (new Set(saveBest).size !== saveBest.length) throw new AnvilError('CheckpointHook: Find duplicate element in "save_best".');
      const rules = list(options.rule) ?? [null];
      if (rules.length !== 1 && rules.length !== saveBest.length) throw new AnvilError('CheckpointHook: Number of "rule" must be 1 or the same as number of "save_best", but got ' + rules.length);
      this.initRules(rules, saveBest);
    } else if (options.rule != null) {
      throw new AnvilError('CheckpointHook: rule is given without save_best');
    }
  }

  /** MMEngine's `_init_rule`: each key's rule as given, else inferred from greater_keys / less_keys. */
  private initRules(rules: Array<string | null>, keys: string[]): void {
    const rs = rules.length === 1 ? keys.map(() => rules[0]) : rules;
    this.rules = [];
    keys.forEach((key, i) => {
      let rule = rs[i];
      if (rule !== null && !(rule in RULES)) throw new AnvilError(`CheckpointHook: rule must be greater, less or None, but got ${JSON.stringify(rule)}.`);
      if (rule === null && key !== 'auto') {
        const lc = key.toLowerCase();
        const greater = this.greaterKeys.map((k) => k.toLowerCase());
        const less = this.lessKeys.map((k) => k.toLowerCase());
        if (greater.includes(lc)) rule = 'greater';
        else if (less.includes(lc)) rule = 'less';
        else if (greater.some((k) => lc.includes(k))) rule = 'greater';
        else if (less.some((k) => lc.includes(k))) rule = 'less';
        else throw new AnvilError(`CheckpointHook: Cannot infer the rule for key ${key}, thus a specific rule must be specified.`);
      }
      if (rule !== null) this.isBetterThan.set(key, RULES[rule]);
      this.rules.push(rule);
    });
    this.keyIndicators = keys;
  }

  private fileName(step: number): string {
    return this.filenameTmpl.replace('{}', String(step));
  }

  override beforeTrain(runner: Runner): void {
    if (this.outDir === null) {
      this.outDir = runner.workDir;
    } else if (runner.workDir && path.resolve(this.outDir) !== path.resolve(runner.workDir)) {
      this.outDir = path.join(this.outDir, path.basename(path.resolve(runner.workDir)));
    }
    if (this.outDir === null) {
      runner.logger.warn('CheckpointHook: the runner has no work_dir and no out_dir is set; checkpoints are not saved');
      return;
    }
    runner.logger.info(`Checkpoints will be saved to ${this.outDir}.`);
    const hub = runner.messageHub;
    for (const key of this.keyIndicators) {
      const infoKey = this.keyIndicators.length === 1 ? 'best_ckpt' : `best_ckpt_${key}`;
      this.bestCkptPaths.set(key, hub.getInfo<string>(infoKey) ?? null);
    }
    if (this.maxKeepCkpts > 0) {
      // A resumed run goes on removing the checkpoints the previous run kept.
      const kept = [...(hub.getInfo<number[]>('keep_ckpt_ids') ?? [])];
      while (kept.length > this.maxKeepCkpts) this.removeCheckpoint(kept.shift()!);
      this.keepCkptIds = kept;
    }
  }

  override afterTrainEpoch(runner: Runner): void {
    if (!this.byEpoch) return;
    if (this.everyNEpochs(runner, this.interval, this.saveBegin) || (this.saveLast && this.isLastTrainEpoch(runner))) {
      runner.logger.info(`Saving checkpoint at ${runner.epoch + 1} epochs`);
      this.saveStep(runner, runner.epoch + 1, { epoch: runner.epoch + 1, iter: runner.iter });
    }
  }

  override afterTrainIter(runner: Runner): void {
    if (this.byEpoch) return;
    if (this.everyNTrainIters(runner, this.interval, this.saveBegin) || (this.saveLast && this.isLastTrainIter(runner))) {
      runner.logger.info(`Saving checkpoint at ${runner.iter + 1} iterations`);
      this.saveStep(runner, runner.iter + 1, { epoch: runner.epoch, iter: runner.iter + 1 });
    }
  }

  override afterValEpoch(runner: Runner, metrics: Record<string, number>): void {
    if (!metrics || Object.keys(metrics).length === 0) {
      runner.logger.warn('Since `metrics` is an empty dict, the behavior to save the best checkpoint will be skipped in this evaluation.');
      return;
    }
    this.saveBestCheckpoint(runner, metrics);
  }

  /** With `published_keys`: the last and best checkpoints, reduced to those keys, as `<name>-<sha256[:8]>.safetensors`. */
  override afterTrain(runner: Runner): void {
    if (!this.publishedKeys || !isMainProcess()) return;
    const sources = [...(this.saveLast && this.lastCkpt ? [this.lastCkpt] : []), ...[...this.bestCkptPaths.values()].filter((p): p is string => p !== null)];
    for (const src of sources) {
      if (!fs.existsSync(src)) continue;
      const { checkpoint } = readCheckpointFile(src);
      const missing = this.publishedKeys.filter((k) => !(k in checkpoint));
      if (missing.length) throw new AnvilError(`CheckpointHook: published_keys ${JSON.stringify(missing)} are not in ${src} (it has ${Object.keys(checkpoint).join(', ')})`);
      const kept = Object.fromEntries(this.publishedKeys.map((k) => [k, checkpoint[k]]));
      const ext = path.extname(src);
      const tmp = `${src.slice(0, src.length - ext.length)}.published${ext}`;
      writeCheckpointFile(tmp, kept);
      const digest = createHash('sha256').update(fs.readFileSync(tmp)).digest('hex').slice(0, 8);
      const dst = `${src.slice(0, src.length - ext.length)}-${digest}${ext}`;
      fs.renameSync(tmp, dst);
      runner.logger.info(`The checkpoint ${src} is published to ${dst} (keys: ${this.publishedKeys.join(', ')}).`);
    }
  }

  /**
   * Each `save_best` key's best score and checkpoint so far (from the message hub, so a resumed
   * run's earlier best counts), with the epoch or iteration it was validated at: remembered when
   * saved in this run, else read from the checkpoint's meta.
   */
  bestCheckpoints(runner: Runner): BestCheckpoint[] {
    const hub = runner.messageHub;
    const single = this.keyIndicators.length === 1;
    const out: BestCheckpoint[] = [];
    for (const [key, file] of this.bestCkptPaths) {
      const score = hub.getInfo<number>(single ? 'best_score' : `best_score_${key}`);
      if (!file || score === undefined || !fs.existsSync(file)) continue;
      const unit = this.byEpoch ? 'epoch' : 'iter';
      let step = this.bestSteps.get(key) ?? null;
      if (step === null) {
        const meta = readCheckpointFile(file).checkpoint.meta as Record<string, unknown> | undefined;
        step = typeof meta?.[unit] === 'number' ? (meta[unit] as number) : null;
      }
      out.push({ key, score, path: file, unit, step });
    }
    return out;
  }

  private removeCheckpoint(step: number): void {
    if (!this.outDir) return;
    const file = path.join(this.outDir, this.fileName(step));
    if (isMainProcess() && fs.existsSync(file)) fs.rmSync(file, { recursive: true, force: true });
  }

  /** MMEngine's `_save_checkpoint_with_step`: drops the oldest kept checkpoint first, saves, names it in last_checkpoint. */
  private saveStep(runner: Runner, step: number, meta: { epoch: number; iter: number }): void {
    if (!this.outDir) return;
    if (this.maxKeepCkpts > 0 && this.keepCkptIds[this.keepCkptIds.length - 1] !== step) {
      if (this.keepCkptIds.length === this.maxKeepCkpts) this.removeCheckpoint(this.keepCkptIds.shift()!);
      this.keepCkptIds.push(step);
      runner.messageHub.updateInfo('keep_ckpt_ids', [...this.keepCkptIds]);
    }
    const file = path.join(this.outDir, this.fileName(step));
    this.lastCkpt = file;
    runner.messageHub.updateInfo('last_ckpt', file);
    saveCheckpoint(runner, file, { saveOptimizer: this.saveOptimizer, saveParamScheduler: this.saveParamScheduler, meta });
    // Only once the checkpoint is complete does last_checkpoint name it (written atomically too).
    if (runner.workDir && isMainProcess()) writeFileAtomic(path.join(runner.workDir, LAST_CHECKPOINT), path.resolve(file));
  }

  /** MMEngine's `_save_best_checkpoint`: a better score replaces the previous best checkpoint. */
  private saveBestCheckpoint(runner: Runner, metrics: Record<string, number>): void {
    if (this.keyIndicators.length === 0 || !this.outDir) return;
    const step = this.byEpoch ? runner.epoch : runner.iter;
    const ckptName = this.fileName(step);
    const [curType, curTime] = this.byEpoch ? ['epoch', runner.epoch] : ['iter', runner.iter];
    if (this.keyIndicators.includes('auto')) {
      const first = Object.keys(metrics)[0];
      this.initRules(this.rules, [first]);
      this.bestCkptPaths = new Map([[first, this.bestCkptPaths.get('auto') ?? null]]);
    }
    const hub = runner.messageHub;
    const single = this.keyIndicators.length === 1;
    for (const key of this.keyIndicators) {
      const score = metrics[key];
      if (score === undefined) throw new AnvilError(`CheckpointHook: save_best '${key}' is not among the metrics (${Object.keys(metrics).join(', ')})`);
      const scoreKey = single ? 'best_score' : `best_score_${key}`;
      const best = hub.hasInfo(scoreKey) ? hub.getInfo<number>(scoreKey)! : INIT[this.rules[this.keyIndicators.indexOf(key)] ?? 'greater'];
      const better = this.isBetterThan.get(key);
      if (score === null || !better || !better(score, best)) continue;
      hub.updateInfo(scoreKey, score);
      const previous = this.bestCkptPaths.get(key);
      if (previous && isMainProcess() && fs.existsSync(previous)) {
        fs.rmSync(previous, { force: true });
        runner.logger.info(`The previous best checkpoint ${previous} is removed`);
      }
      const name = `best_${key}_${ckptName}`.replaceAll('/', '_');
      const file = path.join(this.outDir, name);
      this.bestCkptPaths.set(key, file);
      hub.updateInfo(single ? 'best_ckpt' : `best_ckpt_${key}`, file);
      this.bestSteps.set(key, step);
      saveCheckpoint(runner, file, { saveOptimizer: false, saveParamScheduler: false, meta: { epoch: runner.epoch, iter: runner.iter } });
      runner.logger.info(`The best checkpoint with ${score.toFixed(4)} ${key} at ${curTime} ${curType} is saved to ${name}.`);
    }
  }
}
