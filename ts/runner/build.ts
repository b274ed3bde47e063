// Runner.fromConfig's half: turns a merged config dict (MMEngine's keys) into the objects a
// Runner takes, seeding the global generator first so model initialisation is reproducible.

import { buildDataLoader } from '../data';
import { getDist } from '../dist/context';
import { syncSeed } from '../dist/data-parallel';
import { readModelWrapperCfg } from '../dist/model-wrapper';
import { AnvilError } from '../errors';
import { buildEvaluator } from '../evaluation';
import type { BaseModel } from '../models/base-model';
import { parseDevice } from '../cuda/kernels';
import type { OptimWrapper } from '../optim/optim-wrapper';
import { OptimWrapperDict } from '../optim/optim-wrapper-dict';
import { buildOptimWrapper, buildParamSchedulers } from '../optim';
import { MODELS, setDefaultScope } from '../registry';
import { describe } from '../registry/registry';
import { setRandomSeed } from '../util/random';
import { camelizeKeys } from '../util/names';
import type { EpochBasedTrainLoopOptions } from './epoch-based-train-loop';
import { LogProcessor } from './log-processor';
import type { IterBasedTrainLoopOptions } from './loops';
import { Runner, type HookSpec } from './runner';

type TrainLoopOptions = IterBasedTrainLoopOptions | EpochBasedTrainLoopOptions;

export interface FromConfigOptions {
  /** Overrides the config's `work_dir`. */
  workDir?: string | null;
  echo?: (line: string) => void;
  /** Names the experiment `<name>_<timestamp>` (MMEngine uses the config file's name). */
  experimentName?: string;
}

export function runnerFromConfig(cfg: Record<string, unknown>, options: FromConfigOptions = {}): Runner {
  setDefaultScope(readDefaultScope(cfg.default_scope));
  const loadFrom = readLoadFrom(cfg.load_from);
  const resume = readResume(cfg.resume);
  const group = getDist();
  // Distributed: rank 0's seed everywhere (a random one differs per process), as MMEngine's sync_random_seed.
  const seed = group ? syncSeed(readSeed(cfg.randomness), group) : readSeed(cfg.randomness);
  // MMEngine's diff_rank_seed: rank r draws from seed + r (augmentation, dropout); the samplers
  // keep the common seed, so the ranks still shard one shuffled order.
  const diffRankSeed = (cfg.randomness as { diff_rank_seed?: boolean } | null | undefined)?.diff_rank_seed === true;
  setRandomSeed(diffRankSeed && group ? seed + group.rank : seed);

  const model = MODELS.build<BaseModel>(cfg.model, 'model');
  const trainCfg = cfg.train_cfg ? readTrainCfg(cfg.train_cfg) : undefined;
  const hasVal = cfg.val_dataloader != null;
  const hasTest = cfg.test_dataloader != null;
  if (hasVal) readEvalLoopCfg(cfg.val_cfg, 'val_cfg', 'ValLoop');
  if (hasTest) readEvalLoopCfg(cfg.test_cfg, 'test_cfg', 'TestLoop');
  const trainDataloader = cfg.train_dataloader ? buildDataLoader(cfg.train_dataloader, 'train_dataloader', seed) : undefined;
  const optimWrapper = cfg.optim_wrapper ? buildOptimWrapper(cfg.optim_wrapper, model) : undefined;
  const dataParallel = readModelWrapperCfg(cfg.model_wrapper_cfg, cfg.find_unused_parameters);
  if (optimWrapper) for (const w of wrappersOf(optimWrapper)) w.dataParallel = dataParallel.gradSync;
  // `device='cuda'`: the optimizers' steps, clipping and loss scaling run on that GPU.
  const device = parseDevice(cfg.device, 'device').name;
  if (optimWrapper && device !== 'cpu') for (const w of wrappersOf(optimWrapper)) w.optimizer.to(device);
  // Before the schedulers, which take their initial lr from the groups (MMEngine's scale_lr).
  const autoScaleLr = readAutoScaleLr(cfg.auto_scale_lr);
  const scaleNote = autoScaleLr && optimWrapper && trainDataloader ? scaleLr(autoScaleLr.baseBatchSize, optimWrapper, trainDataloader.batchSize * (group?.worldSize ?? 1)) : null;
  const runner = new Runner({
    model,
    workDir: options.workDir !== undefined ? options.workDir : (cfg.work_dir as string | undefined) ?? null,
    trainDataloader,
    trainCfg,
    optimWrapper,
    paramSchedulers: buildSchedulers(cfg.param_scheduler, optimWrapper, trainCfg, trainDataloader?.length),
    valDataloader: hasVal ? buildDataLoader(cfg.val_dataloader, 'val_dataloader', seed) : undefined,
    valEvaluator: hasVal ? buildEvaluator(cfg.val_evaluator, 'val_evaluator') : undefined,
    testDataloader: hasTest ? buildDataLoader(cfg.test_dataloader, 'test_dataloader', seed) : undefined,
    testEvaluator: hasTest ? buildEvaluator(cfg.test_evaluator, 'test_evaluator') : undefined,
    defaultHooks: (cfg.default_hooks ?? {}) as Record<string, HookSpec | null>,
    customHooks: (cfg.custom_hooks ?? []) as HookSpec[],
    logProcessor: readLogProcessor(cfg.log_processor),
    visualizer: (cfg.visualizer ?? null) as Record<string, unknown> | null,
    seed,
    broadcastBuffers: dataParallel.broadcastBuffers,
    diffRankSeed,
    loadFrom,
    resume,
    experimentName: typeof cfg.experiment_name === 'string' ? cfg.experiment_name : options.experimentName,
    cfg,
    echo: options.echo,
  });
  if (scaleNote) runner.logger.info(scaleNote);
  return runner;
}

function wrappersOf(w: OptimWrapper | OptimWrapperDict): OptimWrapper[] {
  return w instanceof OptimWrapperDict ? [...w.optimWrappers.values()] : [w];
}

/** `load_from`: a checkpoint file or None. */
function readLoadFrom(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string' || raw === '') throw new AnvilError(`load_from: expected a checkpoint file path or None, got ${describe(raw)}`);
  return raw;
}

/** `resume`: True or False (MMEngine's; the file to resume is `load_from`, else the latest in work_dir). */
function readResume(raw: unknown): boolean {
  if (raw === undefined || raw === null) return false;
  if (typeof raw !== 'boolean') throw new AnvilError(`resume: expected True or False (put the checkpoint in load_from), got ${describe(raw)}`);
  return raw;
}

/** `default_scope`: a scope name (types may carry it as a prefix, `mmseg.X`) or None. */
function readDefaultScope(scope: unknown): string | null {
  if (scope === undefined || scope === null) return null;
  if (typeof scope !== 'string') throw new AnvilError(`default_scope: expected a scope name such as 'mmseg', got ${describe(scope)}`);
  return scope;
}

/** `auto_scale_lr`: `{base_batch_size, enable}`; null when it is off. */
function readAutoScaleLr(raw: unknown): { baseBatchSize: number } | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new AnvilError(`auto_scale_lr: expected a dict with base_batch_size and enable, got ${describe(raw)}`);
  const { base_batch_size: base, enable = false, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) throw new AnvilError(`auto_scale_lr.${extra[0]}: unknown option (accepted: base_batch_size, enable)`);
  if (typeof enable !== 'boolean') throw new AnvilError(`auto_scale_lr.enable must be True or False, got ${describe(enable)}`);
  if (!enable) return null;
  if (base === undefined) throw new AnvilError('auto_scale_lr.base_batch_size: Lack of `base_batch_size` in `auto_scale_lr`.');
  if (typeof base !== 'number' || !(base > 0)) throw new AnvilError(`auto_scale_lr.base_batch_size must be a positive number, got ${describe(base)}`);
  return { baseBatchSize: base };
}

/**
 * MMEngine's `scale_lr` (with `auto_scale_lr.enable`): every param group's lr is multiplied by
 * real batch size / `base_batch_size` (the train dataloader's batch size times the world size).
 * Returns the line MMEngine logs.
 */
function scaleLr(baseBatchSize: number, optimWrapper: OptimWrapper, batchSize: number): string {
  const ratio = batchSize / baseBatchSize;
  for (const group of optimWrapper.optimizer.paramGroups) group.lr = (group.lr as number) * ratio;
  return `LR is set based on batch size of ${baseBatchSize} and the current batch size is ${batchSize}. Scaling the original LR by ${pythonFloat(ratio)}.`;
}

/** A float as Python's str prints it (`2.0`, `0.5`). */
function pythonFloat(x: number): string {
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** `val_cfg` / `test_cfg`: MMEngine's ValLoop / TestLoop take no other option here. */
function readEvalLoopCfg(raw: unknown, where: string, loop: string): void {
  if (raw === undefined || raw === null) return;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new AnvilError(`${where}: expected a dict, got ${describe(raw)}`);
  const { type, ...rest } = raw as Record<string, unknown>;
  if (type !== undefined && type !== loop) throw new AnvilError(`${where}.type: only ${loop} is available, got ${describe(type)}`);
  const extra = Object.keys(rest);
  if (extra.length) throw new AnvilError(`${where}.${extra[0]}: unknown option for ${loop}`);
}

/** `log_processor`: MMEngine's LogProcessor keys `window_size`, `by_epoch`, `num_digits`, `custom_cfg`, `mean_pattern`. */
function readLogProcessor(raw: unknown): LogProcessor {
  if (raw === undefined || raw === null) return new LogProcessor();
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new AnvilError(`log_processor: expected a dict, got ${describe(raw)}`);
  const { type, ...rest } = raw as Record<string, unknown>;
  if (type !== undefined && type !== 'LogProcessor') throw new AnvilError(`log_processor.type: only LogProcessor is available, got ${describe(type)}`);
  const accepted = ['window_size', 'by_epoch', 'num_digits', 'custom_cfg', 'mean_pattern'];
  const extra = Object.keys(rest).find((k) => !accepted.includes(k));
  if (extra !== undefined) throw new AnvilError(`log_processor.${extra}: unknown option (accepted: ${accepted.join(', ')})`);
  return new LogProcessor(camelizeKeys(rest));
}

/** MMEngine's `_build_param_scheduler` for the one optimizer: an iter-based loop is 1 epoch; an epoch-based one `max_epochs` of the dataloader's length. */
function buildSchedulers(cfg: unknown, optimWrapper: OptimWrapper | undefined, trainCfg: TrainLoopOptions | undefined, epochLength: number | undefined) {
  if (cfg === undefined || cfg === null || (Array.isArray(cfg) && cfg.length === 0)) return [];
  if (!optimWrapper) throw new AnvilError('param_scheduler: schedulers need an optim_wrapper');
  const length = epochLength ?? 0;
  const run = !trainCfg
    ? null
    : 'maxEpochs' in trainCfg
      ? { maxIters: trainCfg.maxEpochs * length, maxEpochs: trainCfg.maxEpochs, epochLength: length }
      : { maxIters: trainCfg.maxIters, maxEpochs: 1, epochLength: length };
  return buildParamSchedulers(cfg, optimWrapper, run);
}

/**
 * `randomness`: `seed` (random when absent), `deterministic` (accepted: Anvil's kernels are
 * deterministic on the host) and `diff_rank_seed` (read by runnerFromConfig).
 */
function readSeed(randomness: unknown): number {
  if (randomness !== undefined && randomness !== null) {
    if (typeof randomness !== 'object' || Array.isArray(randomness)) throw new AnvilError(`randomness: expected a dict, got ${describe(randomness)}`);
    const r = randomness as Record<string, unknown>;
    const extra = Object.keys(r).find((k) => !['seed', 'deterministic', 'diff_rank_seed'].includes(k));
    if (extra !== undefined) throw new AnvilError(`randomness.${extra}: unknown option (accepted: seed, deterministic, diff_rank_seed)`);
    for (const k of ['deterministic', 'diff_rank_seed']) {
      if (r[k] !== undefined && typeof r[k] !== 'boolean') throw new AnvilError(`randomness.${k} must be True or False, got ${describe(r[k])}`);
    }
  }
  const seed = (randomness as { seed?: unknown } | undefined)?.seed;
  if (seed === undefined || seed === null) return Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) throw new AnvilError(`randomness.seed must be an integer, got ${JSON.stringify(seed)}`);
  return seed as number;
}

/** `train_cfg`: a loop `type`, or MMEngine's shorthand `by_epoch=True` (EpochBasedTrainLoop) / `False` (IterBasedTrainLoop). */
function readTrainCfg(raw: unknown): TrainLoopOptions {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AnvilError(`train_cfg: expected a dict, got ${describe(raw)}`);
  const { type, by_epoch, ...rest } = raw as Record<string, unknown>;
  if (by_epoch !== undefined && typeof by_epoch !== 'boolean') throw new AnvilError(`train_cfg.by_epoch must be True or False, got ${describe(by_epoch)}`);
  const loop = type ?? (by_epoch === false ? 'IterBasedTrainLoop' : 'EpochBasedTrainLoop');
  if (loop !== 'IterBasedTrainLoop' && loop !== 'EpochBasedTrainLoop') {
    throw new AnvilError(`train_cfg.type: only IterBasedTrainLoop and EpochBasedTrainLoop are available, got ${describe(loop)}`);
  }
  if (by_epoch !== undefined && by_epoch !== (loop === 'EpochBasedTrainLoop')) throw new AnvilError(`train_cfg.by_epoch=${by_epoch ? 'True' : 'False'} contradicts type ${loop}`);
  const length = loop === 'IterBasedTrainLoop' ? 'max_iters' : 'max_epochs';
  const extra = Object.keys(rest).find((k) => ![length, 'val_begin', 'val_interval'].includes(k));
  if (extra !== undefined) throw new AnvilError(`train_cfg.${extra}: unknown option for ${loop}`);
  const common = { valBegin: rest.val_begin as number | undefined, valInterval: rest.val_interval as number | undefined };
  return loop === 'IterBasedTrainLoop' ? { maxIters: rest.max_iters as number, ...common } : { maxEpochs: rest.max_epochs as number, ...common };
}
