// Runner.fromConfig's half: turns a merged config dict (MMEngine's keys) into the objects a
// Runner takes, seeding the global generator first so model initialisation is reproducible.

import { buildDataLoader } from '../data';
import { AnvilError } from '../errors';
import { buildEvaluator } from '../evaluation';
import type { BaseModel } from '../models/base-model';
import type { OptimWrapper } from '../optim/optim-wrapper';
import { buildOptimWrapper, buildParamSchedulers } from '../optim';
import { MODELS } from '../registry';
import { setRandomSeed } from '../util/random';
import { LogProcessor } from './log-processor';
import type { IterBasedTrainLoopOptions } from './loops';
import { Runner, type HookSpec } from './runner';

export interface FromConfigOptions {
  /** Overrides the config's `work_dir`. */
  workDir?: string | null;
  echo?: (line: string) => void;
}

/** Keys whose features are not built yet: refusing them beats silently training differently. */
const NOT_YET: Record<string, string> = {
  load_from: 'loading checkpoints',
  resume: 'resuming',
};

export function runnerFromConfig(cfg: Record<string, unknown>, options: FromConfigOptions = {}): Runner {
  for (const [key, feature] of Object.entries(NOT_YET)) {
    const v = cfg[key];
    if (v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0)) {
      throw new AnvilError(`${key}: ${feature} are not available in this version of Anvil yet`);
    }
  }
  const seed = readSeed(cfg.randomness);
  setRandomSeed(seed);

  const model = MODELS.build<BaseModel>(cfg.model, 'model');
  const trainCfg = cfg.train_cfg ? readTrainCfg(cfg.train_cfg) : undefined;
  const hasVal = cfg.val_dataloader != null;
  const trainDataloader = cfg.train_dataloader ? buildDataLoader(cfg.train_dataloader, 'train_dataloader', seed) : undefined;
  const optimWrapper = cfg.optim_wrapper ? buildOptimWrapper(cfg.optim_wrapper, model) : undefined;
  return new Runner({
    model,
    workDir: options.workDir !== undefined ? options.workDir : (cfg.work_dir as string | undefined) ?? null,
    trainDataloader,
    trainCfg,
    optimWrapper,
    paramSchedulers: buildSchedulers(cfg.param_scheduler, optimWrapper, trainCfg, trainDataloader?.length),
    valDataloader: hasVal ? buildDataLoader(cfg.val_dataloader, 'val_dataloader', seed) : undefined,
    valEvaluator: hasVal ? buildEvaluator(cfg.val_evaluator, 'val_evaluator') : undefined,
    defaultHooks: (cfg.default_hooks ?? {}) as Record<string, HookSpec | null>,
    customHooks: (cfg.custom_hooks ?? []) as HookSpec[],
    logProcessor: new LogProcessor({ windowSize: (cfg.log_processor as { window_size?: number } | undefined)?.window_size }),
    cfg,
    echo: options.echo,
  });
}

/** MMEngine's `_build_param_scheduler` for the one optimizer: an iter-based loop has 1 epoch of the dataloader's length. */
function buildSchedulers(cfg: unknown, optimWrapper: OptimWrapper | undefined, trainCfg: IterBasedTrainLoopOptions | undefined, epochLength: number | undefined) {
  if (cfg === undefined || cfg === null || (Array.isArray(cfg) && cfg.length === 0)) return [];
  if (!optimWrapper) throw new AnvilError('param_scheduler: schedulers need an optim_wrapper');
  const run = trainCfg ? { maxIters: trainCfg.maxIters, maxEpochs: 1, epochLength: epochLength ?? 0 } : null;
  return buildParamSchedulers(cfg, optimWrapper, run);
}

function readSeed(randomness: unknown): number {
  const seed = (randomness as { seed?: unknown } | undefined)?.seed;
  if (seed === undefined || seed === null) return Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) throw new AnvilError(`randomness.seed must be an integer, got ${JSON.stringify(seed)}`);
  return seed as number;
}

function readTrainCfg(raw: unknown): IterBasedTrainLoopOptions {
  const { type, by_epoch, max_iters, val_begin, val_interval, ...rest } = raw as Record<string, unknown>;
  const loop = type ?? (by_epoch === false ? 'IterBasedTrainLoop' : 'EpochBasedTrainLoop');
  if (loop !== 'IterBasedTrainLoop') {
    throw new AnvilError(`train_cfg: only IterBasedTrainLoop (or by_epoch=False) is available yet, got ${String(loop)}`);
  }
  const extra = Object.keys(rest);
  if (extra.length) throw new AnvilError(`train_cfg.${extra[0]}: unknown option for IterBasedTrainLoop`);
  return { maxIters: max_iters as number, valBegin: val_begin as number | undefined, valInterval: val_interval as number | undefined };
}
