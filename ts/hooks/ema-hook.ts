// EMAHook (MMEngine's, NORMAL): keeps an averaged copy of the model (`ema_type`, any average
// registered in MODELS), swaps it in for validation and testing, and saves/loads it with checkpoints.

import '../ema';
import type { AveragedTensor, BaseAveragedModel } from '../ema';
import { AnvilError } from '../errors';
import type { BaseModel } from '../models/base-model';
import { MODELS } from '../registry';
import type { Runner } from '../runner/runner';
import { camelToSnake } from '../util/names';
import { Hook } from './hook';

export interface EMAHookOptions {
  /** The averaged model's type in MODELS. Default 'ExponentialMovingAverage'. */
  emaType?: string;
  /** Whether a checkpoint's EMA state must hold exactly the averaged model's keys. Default false. */
  strictLoad?: boolean;
  /** The iteration averaging starts at (before it the average copies the model). Default 0. */
  beginIter?: number;
  /** The epoch averaging starts at; exclusive with `beginIter`. Default 0. */
  beginEpoch?: number;
  /** Deprecated alias of `beginIter` (MMSegmentation's guide writes `start_iters`). */
  startIters?: number;
  /** Everything else goes to the averaged model: `momentum`, `interval`, `updateBuffers`, `gamma`, ... */
  [averagedModelOption: string]: unknown;
}

type TensorData = Float32Array | Float64Array;

export class EMAHook extends Hook {
  readonly emaCfg: Record<string, unknown>;
  readonly strictLoad: boolean;
  readonly beginIter: number;
  readonly beginEpoch: number;
  readonly enabledByEpoch: boolean;
  private src: BaseModel | null = null;
  private ema: BaseAveragedModel | null = null;

  constructor(options: EMAHookOptions = {}) {
    super();
    const { emaType = 'ExponentialMovingAverage', strictLoad = false, beginIter, beginEpoch = 0, startIters, ...rest } = options;
    if (typeof emaType !== 'string') throw new AnvilError(`EMAHook: ema_type must be the name of an averaged model in MODELS, got ${JSON.stringify(emaType)}`);
    let begin = beginIter ?? 0;
    if (startIters !== undefined) {
      if (beginIter !== undefined) throw new AnvilError('EMAHook: give begin_iter or its deprecated alias start_iters, not both');
      console.warn(`EMAHook: 'start_iters' is deprecated, use 'begin_iter' (MMEngine's name); reading start_iters=${JSON.stringify(startIters)} as begin_iter`);
      begin = startIters;
    }
    const where = startIters !== undefined ? 'start_iters' : 'begin_iter';
    if (!Number.isInteger(begin) || begin < 0) throw new AnvilError(`EMAHook: \`${where}\` must be an integer larger than or equal to 0, but got ${where}: ${JSON.stringify(begin)}`);
    if (!Number.isInteger(beginEpoch) || beginEpoch < 0) {
      throw new AnvilError(`EMAHook: \`begin_epoch\` must be an integer larger than or equal to 0, but got begin_epoch: ${JSON.stringify(beginEpoch)}`);
    }
    if (begin !== 0 && beginEpoch !== 0) throw new AnvilError('EMAHook: `begin_iter` and `begin_epoch` should not be both set.');
    if (typeof strictLoad !== 'boolean') throw new AnvilError(`EMAHook: strict_load must be true or false, got ${JSON.stringify(strictLoad)}`);
    this.emaCfg = { type: emaType, ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [camelToSnake(k), v])) };
    this.strictLoad = strictLoad;
    this.beginIter = begin;
    this.beginEpoch = beginEpoch;
    this.enabledByEpoch = beginEpoch > 0;
  }

  /** The averaged model (built in `before_run`). */
  get emaModel(): BaseAveragedModel {
    if (!this.ema) throw new AnvilError('EMAHook: the averaged model is built in before_run; run the runner first');
    return this.ema;
  }

  override beforeRun(runner: Runner): void {
    this.src = runner.model;
    this.ema = MODELS.build<BaseAveragedModel>(this.emaCfg, 'EMAHook.ema_type', { model: this.src });
    // Averaging runs where the optimizer steps (the config's `device`).
    if (typeof runner.cfg?.device === 'string') this.ema.to(runner.cfg.device);
  }

  override beforeTrain(runner: Runner): void {
    if (this.enabledByEpoch && this.beginEpoch > runner.maxEpochs) {
      throw new AnvilError(`EMAHook: begin_epoch should be smaller than or equal to runner.max_epochs: ${runner.maxEpochs}, but got begin_epoch: ${this.beginEpoch}`);
    }
    if (!this.enabledByEpoch && this.beginIter > runner.maxIters) {
      throw new AnvilError(`EMAHook: begin_iter should be smaller than or equal to runner.max_iters: ${runner.maxIters}, but got begin_iter: ${this.beginIter}`);
    }
  }

  /** Averages once started; before that the average follows the model (a plain copy). */
  override afterTrainIter(runner: Runner): void {
    const ema = this.emaModel;
    if (this.emaStarted(runner)) {
      ema.updateParameters(this.src!);
      return;
    }
    const src = sourceTensors(this.src!);
    for (const t of ema.averagedTensors()) {
      const s = src.get(key(t));
      if (s) t.data.set(s);
    }
  }

  override beforeValEpoch(): void {
    this.swapEmaParameters();
  }

  override afterValEpoch(): void {
    this.swapEmaParameters();
  }

  override beforeTestEpoch(): void {
    this.swapEmaParameters();
  }

  override afterTestEpoch(): void {
    this.swapEmaParameters();
  }

  /**
   * Puts the averaged model's state under `ema_state_dict`, then swaps it with the model's
   * `state_dict` entries, so the saved weights are the averaged ones (ready to deploy) and
   * `ema_state_dict` holds the trained ones, as MMEngine saves them.
   */
  override beforeSaveCheckpoint(_runner: Runner, checkpoint: Record<string, unknown>): void {
    checkpoint.ema_state_dict = this.emaModel.stateDict();
    swapStateDicts(checkpoint);
  }

  /**
   * Resuming: swaps the two state dicts back and loads `ema_state_dict` into the average.
   * Otherwise (or when the checkpoint has no EMA state) the average starts from `state_dict`.
   */
  override afterLoadCheckpoint(runner: Runner, checkpoint: Record<string, unknown>): void {
    const ema = this.emaModel;
    if (checkpoint.ema_state_dict !== undefined && runner.resume) {
      swapStateDicts(checkpoint);
      this.loadAveraged(checkpoint.ema_state_dict as Record<string, unknown>, 'ema_state_dict');
      return;
    }
    if (runner.resume) {
      runner.logger.warn('There is no `ema_state_dict` in checkpoint. `EMAHook` will make a copy of `state_dict` as the initial `ema_state_dict`');
    }
    const state = stateDictOf(checkpoint, 'state_dict');
    const prefixed: Record<string, unknown> = { steps: ema.steps };
    for (const [name, value] of Object.entries(state)) prefixed[`module.${name}`] = value;
    this.loadAveraged(prefixed, 'state_dict');
  }

  private emaStarted(runner: Runner): boolean {
    return this.enabledByEpoch ? runner.epoch + 1 >= this.beginEpoch : runner.iter + 1 >= this.beginIter;
  }

  /** Exchanges the values of the model's parameters (and buffers, with update_buffers) with the average's. */
  private swapEmaParameters(): void {
    const ema = this.emaModel;
    const src = sourceTensors(this.src!);
    for (const t of ema.averagedTensors()) {
      if (t.isBuffer && !ema.updateBuffers) continue;
      const s = src.get(key(t));
      if (!s) throw new AnvilError(`EMAHook: the model has no ${t.isBuffer ? 'buffer' : 'parameter'} '${t.name}' to swap with its average`);
      const tmp = t.data.slice();
      t.data.set(s);
      s.set(tmp);
    }
  }

  /** Loads `module.<name>` entries (and `steps`) into the average; with strict_load the keys must match exactly. */
  private loadAveraged(state: Record<string, unknown>, where: string): void {
    const ema = this.emaModel;
    const expected = new Set(ema.averagedTensors().map((t) => `module.${t.name}`));
    if (this.strictLoad) {
      const missing = [...expected].filter((k) => !(k in state));
      const unexpected = Object.keys(state).filter((k) => k !== 'steps' && !expected.has(k));
      if (missing.length || unexpected.length) {
        throw new AnvilError(`EMAHook: ${where} does not match the averaged model (strict_load): missing keys ${JSON.stringify(missing)}, unexpected keys ${JSON.stringify(unexpected)}`);
      }
    }
    const merged: Record<string, unknown> = { ...ema.stateDict() };
    for (const k of [...expected, 'steps']) if (k in state) merged[k] = state[k];
    ema.loadStateDict(merged);
  }
}

function key(t: AveragedTensor): string {
  return `${t.isBuffer ? 'b' : 'p'}:${t.name}`;
}

/** The model's parameters and buffers by name (the averaged model's naming). */
function sourceTensors(model: BaseModel): Map<string, TensorData> {
  return new Map<string, TensorData>([
    ...model.namedParameters().map(([n, p]) => [`p:${n}`, p.data] as [string, TensorData]),
    ...model.namedBuffers().map(([n, b]) => [`b:${n}`, b.data] as [string, TensorData]),
  ]);
}

function stateDictOf(checkpoint: Record<string, unknown>, name: string): Record<string, unknown> {
  const state = checkpoint[name];
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new AnvilError(`EMAHook: the checkpoint has no '${name}' dict`);
  return state as Record<string, unknown>;
}

/** MMEngine's `_swap_ema_state_dict`: each `module.<k>` of the EMA state trades values with `<k>` of the model's. */
function swapStateDicts(checkpoint: Record<string, unknown>): void {
  const model = stateDictOf(checkpoint, 'state_dict');
  const ema = stateDictOf(checkpoint, 'ema_state_dict');
  for (const k of Object.keys(ema)) {
    if (!k.startsWith('module.')) continue;
    const tmp = ema[k];
    ema[k] = model[k.slice(7)];
    model[k.slice(7)] = tmp;
  }
}
