// Runner: holds the built parts of a run (model, dataloaders, optimizer wrapper, loops, hooks,
// message hub, logger), registers hooks by priority and calls them. Building from a config
// lives in build.ts; the loops in loops.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError } from '../errors';
import type { DataLoader } from '../data/dataloader';
import type { Evaluator } from '../evaluation/metric';
import { Hook, STAGES, stageMethod, type Stage } from '../hooks/hook';
import { getPriority, priorityName } from '../hooks/priority';
import type { BaseModel } from '../models/base-model';
import type { OptimWrapper } from '../optim/optim-wrapper';
import type { ParamScheduler } from '../optim/schedulers/param-scheduler';
import { HOOKS, type ConfigDict } from '../registry';
import { runnerFromConfig, type FromConfigOptions } from './build';
import { LogProcessor } from './log-processor';
import { Logger } from './logger';
import { IterBasedTrainLoop, type IterBasedTrainLoopOptions, ValLoop } from './loops';
import { MessageHub } from './message-hub';

export type HookSpec = Hook | ConfigDict;

/** MMEngine's default hooks, in the runner's key order; a config key set to null removes one. */
export const DEFAULT_HOOKS: Record<string, ConfigDict> = {
  runtime_info: { type: 'RuntimeInfoHook' },
  timer: { type: 'IterTimerHook' },
  sampler_seed: { type: 'DistSamplerSeedHook' },
  logger: { type: 'LoggerHook' },
  param_scheduler: { type: 'ParamSchedulerHook' },
};

export interface RunnerOptions {
  model: BaseModel;
  /** Folder for this run's log and dumped config (a timestamped subfolder is made); none when null. */
  workDir?: string | null;
  trainDataloader?: DataLoader;
  trainCfg?: IterBasedTrainLoopOptions;
  optimWrapper?: OptimWrapper;
  /** Schedulers of the optimizer's hyper-parameters, stepped by ParamSchedulerHook in list order. */
  paramSchedulers?: ParamScheduler[];
  valDataloader?: DataLoader;
  valEvaluator?: Evaluator;
  defaultHooks?: Record<string, HookSpec | null>;
  customHooks?: HookSpec[];
  logProcessor?: LogProcessor;
  /** The full config, dumped into the run folder. */
  cfg?: Record<string, unknown>;
  /** Where log lines go besides the log file (default: stdout). */
  echo?: (line: string) => void;
}

/** The counters the loops advance (MMEngine's runner.iter / runner.epoch). */
export interface TrainState {
  iter: number;
  epoch: number;
}

export class Runner {
  readonly model: BaseModel;
  readonly optimWrapper: OptimWrapper | null;
  readonly paramSchedulers: readonly ParamScheduler[];
  readonly trainDataloader: DataLoader | null;
  readonly trainLoop: IterBasedTrainLoop | null;
  readonly valLoop: ValLoop | null;
  readonly messageHub = new MessageHub();
  readonly logProcessor: LogProcessor;
  readonly logger: Logger;
  readonly workDir: string | null;
  /** This run's folder under workDir (`YYYYMMDD_HHMMSS`), holding the log and dumped config. */
  readonly runDir: string | null;
  readonly timestamp: string;
  readonly state: TrainState = { iter: 0, epoch: 0 };
  /** The latest metrics of each evaluation mode. */
  readonly lastMetrics: Partial<Record<'val' | 'test', Record<string, number>>> = {};
  private readonly hookList: Hook[] = [];

  constructor(options: RunnerOptions) {
    this.model = options.model;
    this.optimWrapper = options.optimWrapper ?? null;
    // The wrapper records train/grad_norm where MMEngine's does: in the run's message hub.
    if (this.optimWrapper && !this.optimWrapper.messageHub) this.optimWrapper.messageHub = this.messageHub;
    this.paramSchedulers = [...(options.paramSchedulers ?? [])];
    this.trainDataloader = options.trainDataloader ?? null;
    this.logProcessor = options.logProcessor ?? new LogProcessor();
    this.timestamp = timestamp(new Date());
    this.workDir = options.workDir ?? null;
    this.runDir = this.workDir ? path.join(this.workDir, this.timestamp) : null;

    if (options.trainCfg) {
      if (!this.trainDataloader) throw new AnvilError('train_cfg is given but train_dataloader is missing');
      if (!this.optimWrapper) throw new AnvilError('train_cfg is given but optim_wrapper is missing');
      this.trainLoop = new IterBasedTrainLoop(this, this.trainDataloader, options.trainCfg);
    } else {
      this.trainLoop = null;
    }
    if (options.valDataloader || options.valEvaluator) {
      if (!options.valDataloader || !options.valEvaluator) throw new AnvilError('val_dataloader and val_evaluator must be given together');
      this.valLoop = new ValLoop(this, options.valDataloader, options.valEvaluator);
    } else {
      this.valLoop = null;
    }

    this.registerDefaultHooks(options.defaultHooks ?? {});
    (options.customHooks ?? []).forEach((h, i) => this.registerHook(h, undefined, `custom_hooks[${i}]`));

    // Only a run that was fully built gets a folder: a bad config leaves nothing behind.
    if (this.runDir) {
      fs.mkdirSync(this.runDir, { recursive: true });
      if (options.cfg) fs.writeFileSync(path.join(this.runDir, 'config.json'), JSON.stringify(options.cfg, null, 2) + '\n');
    }
    this.logger = new Logger(this.runDir ? path.join(this.runDir, `${this.timestamp}.log`) : null, options.echo);
  }

  /** Builds a Runner from a merged config dict (MMEngine's `Runner.from_cfg`). */
  static fromConfig(cfg: Record<string, unknown>, options: FromConfigOptions = {}): Runner {
    return runnerFromConfig(cfg, options);
  }

  get iter(): number {
    return this.state.iter;
  }

  get epoch(): number {
    return this.state.epoch;
  }

  get maxIters(): number {
    return this.trainLoop?.maxIters ?? 0;
  }

  /** Registered hooks in call order. */
  get hooks(): readonly Hook[] {
    return this.hookList;
  }

  /**
   * Registers a hook object or config dict. Priority comes from the argument, else the dict's
   * `priority`, else the hook's own; it goes after every hook of lower or equal priority.
   */
  registerHook(hook: HookSpec, priority?: number | string, where = 'hook'): Hook {
    let obj: Hook;
    let p: unknown = priority;
    if (hook instanceof Hook) {
      obj = hook;
    } else {
      const { priority: fromCfg, ...cfg } = hook as ConfigDict;
      if (p === undefined) p = fromCfg;
      obj = HOOKS.build<Hook>(cfg, where);
    }
    obj.priority = getPriority(p ?? obj.priority, `${where}.priority`);
    let i = this.hookList.length - 1;
    while (i >= 0 && this.hookList[i].priority > obj.priority) i--;
    this.hookList.splice(i + 1, 0, obj);
    return obj;
  }

  private registerDefaultHooks(given: Record<string, HookSpec | null>): void {
    const merged: Record<string, HookSpec | null> = { ...DEFAULT_HOOKS };
    for (const [key, value] of Object.entries(given)) merged[key] = value;
    for (const [key, hook] of Object.entries(merged)) if (hook) this.registerHook(hook, undefined, `default_hooks.${key}`);
  }

  /** Calls `stage` (MMEngine's name, e.g. 'after_train_iter') on every hook in order. */
  callHook(stage: string, ...args: unknown[]): void {
    if (!(STAGES as readonly string[]).includes(stage)) throw new AnvilError(`callHook: unknown stage '${stage}'`);
    const method = stageMethod(stage as Stage);
    for (const hook of this.hookList) {
      (hook as unknown as Record<string, (...a: unknown[]) => void>)[method](this, ...args);
    }
  }

  /** MMEngine's `get_hooks_info`: each stage with its hooks, priorities and classes in call order. */
  getHooksInfo(): string {
    const blocks: string[] = [];
    for (const stage of STAGES) {
      const lines = this.hookList
        .filter((h) => h.triggeredStages().includes(stage))
        .map((h) => `(${priorityName(h.priority).padEnd(12)}) ${h.typeName.padEnd(35)}`);
      if (lines.length) blocks.push(`${stage}:\n${lines.join('\n')}\n -------------------- `);
    }
    return blocks.join('\n');
  }

  /** Runs the train loop (with its validations); returns the trained model. */
  train(): BaseModel {
    if (!this.trainLoop) throw new AnvilError('Runner.train: no train_cfg / train_dataloader / optim_wrapper configured');
    this.logger.info(`Hooks will be executed in the following order:\n${this.getHooksInfo()}`);
    this.callHook('before_run');
    this.trainLoop.run();
    this.callHook('after_run');
    return this.model;
  }

  /** Runs the validation loop once; returns its metrics. */
  val(): Record<string, number> {
    if (!this.valLoop) throw new AnvilError('Runner.val: no val_dataloader / val_evaluator configured');
    return this.valLoop.run();
  }
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}
