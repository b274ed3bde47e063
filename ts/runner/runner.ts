// Runner: holds the built parts of a run (model, dataloaders, optimizer wrapper, loops, hooks,
// message hub, logger, visualizer), registers hooks by priority and calls them. Building from a
// config lives in build.ts; the loops in loops.ts and epoch-based-train-loop.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { getDist, isMainProcess } from '../dist/context';
import { broadcastBuffers, broadcastModel } from '../dist/data-parallel';
import { DistEvaluator } from '../dist/evaluator';
import { AnvilError } from '../errors';
import type { DataLoader } from '../data/dataloader';
import type { Evaluator } from '../evaluation/metric';
import { Hook, STAGES, stageMethod, type Stage } from '../hooks/hook';
import { getPriority, priorityName } from '../hooks/priority';
import type { BaseModel } from '../models/base-model';
import type { OptimWrapper } from '../optim/optim-wrapper';
import type { ParamScheduler } from '../optim/schedulers/param-scheduler';
import { HOOKS, type ConfigDict } from '../registry';
import { buildVisualizer, type Visualizer } from '../visualization';
import { runnerFromConfig, type FromConfigOptions } from './build';
import { loadOrResume } from './checkpoint';
import { EpochBasedTrainLoop, type EpochBasedTrainLoopOptions } from './epoch-based-train-loop';
import { LogProcessor } from './log-processor';
import { Logger } from './logger';
import { IterBasedTrainLoop, type IterBasedTrainLoopOptions, TestLoop, ValLoop } from './loops';
import { MessageHub } from './message-hub';

export type HookSpec = Hook | ConfigDict;

/** MMEngine's default hooks, in the runner's key order; a config key set to null removes one. */
export const DEFAULT_HOOKS: Record<string, ConfigDict> = {
  runtime_info: { type: 'RuntimeInfoHook' },
  timer: { type: 'IterTimerHook' },
  sampler_seed: { type: 'DistSamplerSeedHook' },
  logger: { type: 'LoggerHook' },
  param_scheduler: { type: 'ParamSchedulerHook' },
  checkpoint: { type: 'CheckpointHook', interval: 1 },
};

export interface RunnerOptions {
  model: BaseModel;
  /** Folder for this run's log and dumped config (a timestamped subfolder is made); none when null. */
  workDir?: string | null;
  trainDataloader?: DataLoader;
  /** `maxIters` makes an IterBasedTrainLoop, `maxEpochs` an EpochBasedTrainLoop. */
  trainCfg?: IterBasedTrainLoopOptions | EpochBasedTrainLoopOptions;
  optimWrapper?: OptimWrapper;
  /** Schedulers of the optimizer's hyper-parameters, stepped by ParamSchedulerHook in list order. */
  paramSchedulers?: ParamScheduler[];
  valDataloader?: DataLoader;
  valEvaluator?: Evaluator;
  testDataloader?: DataLoader;
  testEvaluator?: Evaluator;
  defaultHooks?: Record<string, HookSpec | null>;
  customHooks?: HookSpec[];
  logProcessor?: LogProcessor;
  /** A Visualizer, or its config (MMEngine's `visualizer`); default: one LocalVisBackend in `<run>/vis_data`. */
  visualizer?: Visualizer | Record<string, unknown> | null;
  /** The seed the run was built with (`randomness.seed`), reported in the message hub. */
  seed?: number | null;
  /**
   * Distributed: each rank's generator was seeded with `seed + rank` (`randomness.diff_rank_seed`),
   * so checkpoints keep every rank's generator state.
   */
  diffRankSeed?: boolean;
  /** Distributed: rank 0's buffers before every training step (`model_wrapper_cfg.broadcast_buffers`). */
  broadcastBuffers?: boolean;
  /** Prefix of the experiment name (`<name>_<timestamp>`; the timestamp alone without it). */
  experimentName?: string;
  /** A checkpoint to load the weights of before training (MMEngine's `load_from`); with `resume`, the one to resume. */
  loadFrom?: string | null;
  /** Resume training (MMEngine's `resume`): from `loadFrom`, else from the latest checkpoint in workDir. */
  resume?: boolean;
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
  readonly trainLoop: IterBasedTrainLoop | EpochBasedTrainLoop | null;
  readonly valLoop: ValLoop | null;
  readonly testLoop: TestLoop | null;
  readonly visualizer: Visualizer;
  readonly cfg: Record<string, unknown> | null;
  readonly seed: number | null;
  /** `<name>_<timestamp>`, or the timestamp (MMEngine's `experiment_name`). */
  readonly experimentName: string;
  /**
   * Whether this run resumes a checkpoint (MMEngine's `_resume`): hooks' `afterLoadCheckpoint`
   * reads it to restore their full state (EMAHook) rather than start from the weights.
   */
  resume = false;
  /** MMEngine's `load_from`: loaded (or, with `resume`, resumed) when a run starts. */
  loadFrom: string | null;
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
  private readonly broadcastBuffers: boolean;
  readonly diffRankSeed: boolean;

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
    // Distributed: only rank 0 keeps a run folder (log, config, vis_data) and prints (MMEngine's master_only).
    this.runDir = this.workDir && isMainProcess() ? path.join(this.workDir, this.timestamp) : null;
    this.cfg = options.cfg ?? null;
    this.loadFrom = options.loadFrom ?? null;
    this.resume = options.resume ?? false;
    this.seed = options.seed ?? null;
    this.broadcastBuffers = options.broadcastBuffers ?? false;
    this.diffRankSeed = options.diffRankSeed ?? false;
    this.experimentName = options.experimentName ? `${options.experimentName}_${this.timestamp}` : this.timestamp;

    if (options.trainCfg) {
      if (!this.trainDataloader) throw new AnvilError('train_cfg is given but train_dataloader is missing');
      if (!this.optimWrapper) throw new AnvilError('train_cfg is given but optim_wrapper is missing');
      this.trainLoop =
        'maxEpochs' in options.trainCfg
          ? new EpochBasedTrainLoop(this, this.trainDataloader, options.trainCfg)
          : new IterBasedTrainLoop(this, this.trainDataloader, options.trainCfg);
    } else {
      this.trainLoop = null;
    }
    if (options.valDataloader || options.valEvaluator) {
      if (!options.valDataloader || !options.valEvaluator) throw new AnvilError('val_dataloader and val_evaluator must be given together');
      this.valLoop = new ValLoop(this, options.valDataloader, distEvaluator(options.valEvaluator));
    } else {
      this.valLoop = null;
    }
    if (options.testDataloader || options.testEvaluator) {
      if (!options.testDataloader || !options.testEvaluator) throw new AnvilError('test_dataloader and test_evaluator must be given together');
      this.testLoop = new TestLoop(this, options.testDataloader, distEvaluator(options.testEvaluator));
    } else {
      this.testLoop = null;
    }
    this.visualizer = buildVisualizer(options.visualizer, this.runDir, this.experimentName);

    this.registerDefaultHooks(options.defaultHooks ?? {});
    (options.customHooks ?? []).forEach((h, i) => this.registerHook(h, undefined, `custom_hooks[${i}]`));

    // Only a run that was fully built gets a folder: a bad config leaves nothing behind.
    if (this.runDir) {
      fs.mkdirSync(this.runDir, { recursive: true });
      if (options.cfg) {
        fs.writeFileSync(path.join(this.runDir, 'config.json'), JSON.stringify(options.cfg, null, 2) + '\n');
        this.visualizer.addConfig(options.cfg);
      }
    }
    this.logger = new Logger(this.runDir ? path.join(this.runDir, `${this.timestamp}.log`) : null, isMainProcess() ? options.echo : () => {});
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

  get maxEpochs(): number {
    return this.trainLoop?.maxEpochs ?? 0;
  }

  get valDataloader(): DataLoader | null {
    return this.valLoop?.dataloader ?? null;
  }

  get testDataloader(): DataLoader | null {
    return this.testLoop?.dataloader ?? null;
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
    if (p !== undefined) obj.priorityText = typeof p === 'string' ? p : null;
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
        .map((h) => `(${(h.priorityText ?? priorityName(h.priority)).padEnd(12)}) ${h.typeName.padEnd(35)}`);
      if (lines.length) blocks.push(`${stage}:\n${lines.join('\n')}\n -------------------- `);
    }
    return blocks.join('\n');
  }

  /** Runs the train loop (with its validations); returns the trained model. */
  train(): BaseModel {
    if (!this.trainLoop) throw new AnvilError('Runner.train: no train_cfg / train_dataloader / optim_wrapper configured');
    this.logger.info(`Hooks will be executed in the following order:\n${this.getHooksInfo()}`);
    this.callHook('before_run');
    // After before_run (EMAHook builds its average there), as MMEngine's load_or_resume.
    loadOrResume(this);
    // Distributed: every rank starts from rank 0's weights (DDP's broadcast at wrapping).
    const group = getDist();
    if (group) broadcastModel(this.model, group);
    this.trainLoop.run();
    this.callHook('after_run');
    return this.model;
  }

  /** One training iteration's model step (the loops call it): DDP's forward, then `train_step`. */
  trainStep(batch: unknown): Record<string, number> {
    const group = getDist();
    if (group && this.broadcastBuffers) broadcastBuffers(this.model, group);
    return this.model.trainStep(batch, this.optimWrapper!);
  }

  /** Runs the validation loop once between the run hooks (MMEngine's `Runner.val`); returns its metrics. */
  val(): Record<string, number> {
    if (!this.valLoop) throw new AnvilError('Runner.val: no val_dataloader / val_evaluator configured');
    this.callHook('before_run');
    loadOrResume(this);
    const metrics = this.valLoop.run();
    this.callHook('after_run');
    return metrics;
  }

  /**
   * Runs the test loop once between the run hooks (MMEngine's `Runner.test`); `load` runs where
   * MMEngine loads the checkpoint: after `before_run` (which builds EMAHook's average), before the loop.
   */
  test(options: { load?: () => void } = {}): Record<string, number> {
    if (!this.testLoop) throw new AnvilError('Runner.test: no test_dataloader / test_evaluator configured');
    this.callHook('before_run');
    if (options.load) options.load();
    else loadOrResume(this);
    const metrics = this.testLoop.run();
    this.callHook('after_run');
    return metrics;
  }
}

/** Distributed: each rank evaluates its shard, the metrics see every rank's outputs (MMEngine's collect_results). */
function distEvaluator(evaluator: Evaluator): Evaluator {
  const group = getDist();
  return group ? new DistEvaluator(evaluator, group) : evaluator;
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}
