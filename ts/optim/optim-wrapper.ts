// OptimWrapper (MMEngine's): gradient accumulation with MMEngine's loss scaling, the update
// cadence, gradient clipping, lr/momentum reporting. Models compute gradients themselves (no
// autograd), so the wrapper hands them the factor to scale gradients by instead of scaling a loss tensor.

import { optimizerBuckets } from '../dist/data-parallel';
import { getDist } from '../dist/context';
import { GradSync, type GradSyncOptions, type GradSyncStats } from '../dist/grad-sync';
import { AnvilError } from '../errors';
import { getTotalNorm } from './clip-grad';
import { parseClipGrad, type GradClipper } from './clip-grad-config';
import type { Optimizer, OptimizerStateDict, ParamGroup } from './optimizer';

/** Where the wrapper records scalars (the runner's MessageHub): `train/grad_norm`. */
export interface ScalarSink {
  updateScalar(key: string, value: number): void;
}

export interface OptimWrapperOptions {
  optimizer: Optimizer;
  accumulativeCounts?: number;
  /** `{max_norm, norm_type?, error_if_nonfinite?}` (clip by norm) or `{type: 'value', clip_value}`. */
  clipGrad?: Record<string, unknown> | null;
  /** Receives `train/grad_norm` at each clipped step; the runner attaches its message hub. */
  messageHub?: ScalarSink | null;
  /**
   * Record `train/grad_norm` (the L2 norm of the gradients) at every step even without
   * `clip_grad` (config key `log_grad_norm`; not in MMEngine). Default false.
   */
  logGradNorm?: boolean;
}

/** MMEngine's OptimWrapper state: the optimizer's, plus `base_param_settings` with several groups. */
export type OptimWrapperStateDict = OptimizerStateDict & { base_param_settings?: Record<string, unknown>; [key: string]: unknown };

export class OptimWrapper {
  readonly optimizer: Optimizer;
  readonly accumulativeCounts: number;
  /**
   * MMEngine's `base_param_settings`: with several param groups, a pseudo-group holding the
   * optimizer's defaults, which schedulers also step and `getLr()` reports as `base_lr`.
   */
  readonly baseParamSettings: ParamGroup | null;
  messageHub: ScalarSink | null;
  /** The total gradient norm of the last clipped step (null before any, or with value clipping). */
  lastGradNorm: number | null = null;
  readonly logGradNorm: boolean;
  protected readonly clipper: GradClipper | null;
  /** How gradients are reduced across ranks (`model_wrapper_cfg`); only read in distributed runs. */
  dataParallel: GradSyncOptions = {};
  private gradSync: GradSync | null = null;
  private innerCount = 0;
  private maxCounts = -1;
  private remainderCounts = 0;

  constructor(options: OptimWrapperOptions) {
    this.optimizer = options.optimizer;
    const acc = options.accumulativeCounts ?? 1;
    if (!Number.isInteger(acc) || acc < 1) {
      throw new AnvilError(`OptimWrapper: accumulative_counts must be a positive integer, got ${JSON.stringify(acc)}`);
    }
    this.accumulativeCounts = acc;
    this.clipper = options.clipGrad != null ? parseClipGrad(options.clipGrad) : null;
    this.messageHub = options.messageHub ?? null;
    this.logGradNorm = options.logGradNorm ?? false;
    if (typeof this.logGradNorm !== 'boolean') throw new AnvilError(`OptimWrapper: log_grad_norm must be true or false, got ${JSON.stringify(options.logGradNorm)}`);
    this.baseParamSettings = this.optimizer.paramGroups.length > 1 ? ({ params: [], ...this.optimizer.defaults } as unknown as ParamGroup) : null;
  }

  /** The optimizer's groups, plus `baseParamSettings` when there is one (what schedulers step). */
  get paramGroups(): ParamGroup[] {
    return this.baseParamSettings ? [...this.optimizer.paramGroups, this.baseParamSettings] : this.optimizer.paramGroups;
  }

  get defaults(): Readonly<Record<string, unknown>> {
    return this.optimizer.defaults;
  }

  /** MMEngine's `initialize_count_status`: called by the train loop before the first iteration. */
  initializeCountStatus(initCounts: number, maxCounts: number): void {
    this.innerCount = initCounts;
    this.maxCounts = maxCounts;
    if (initCounts % this.accumulativeCounts !== 0) {
      console.warn(`OptimWrapper: resumed iteration ${initCounts} is not divisible by accumulative_counts ${this.accumulativeCounts}`);
    }
    this.remainderCounts = maxCounts % this.accumulativeCounts;
  }

  /**
   * The factor the model multiplies its gradients by for the coming backward: MMEngine's
   * `scale_loss`, i.e. 1 / accumulative_counts, or 1 / remainder in the last, short window.
   */
  gradientScale(): number {
    return 1 / this.lossFactor();
  }

  private lossFactor(): number {
    if (this.accumulativeCounts === 1) return 1;
    if (this.maxCounts === -1) return this.accumulativeCounts;
    return this.innerCount < this.maxCounts - this.remainderCounts ? this.accumulativeCounts : this.remainderCounts;
  }

  /**
   * Called after the model accumulated gradients for `loss` (scaled by `gradientScale()`):
   * counts the backward, and steps and zeroes the gradients when an accumulation window closes.
   */
  updateParams(loss: number): void {
    if (this.countBackward(loss)) {
      this.step();
      this.zeroGrad();
    }
  }

  /**
   * `updateParams` with the optimizer's update off the JS thread (`optimizer.stepAsync`): JS can
   * load the next batch while it runs; resolves once the step is done and the gradients are
   * zeroed. Until then the model's parameters and gradients must not be touched (no forward).
   */
  async updateParamsAsync(loss: number): Promise<void> {
    if (this.countBackward(loss)) {
      await this.stepAsync();
      this.zeroGrad();
    }
  }

  /** Counts a backward; true when the accumulation window closes (gradients reduced across ranks). */
  private countBackward(loss: number): boolean {
    this.checkLoss(loss);
    this.innerCount += 1;
    if (!this.shouldUpdate()) return false;
    // Distributed: the gradients of all ranks averaged (what backward has not started yet, and
    // waiting for what it has), before clipping and the step.
    this.sync()?.finish();
    return true;
  }

  /** What the last distributed gradient sync did (null before one, or in a single-process run). */
  get gradSyncStats(): GradSyncStats | null {
    return this.gradSync?.stats ?? null;
  }

  /** The distributed gradient reducer over the optimizer's buckets, or null in a single-process run. */
  private sync(): GradSync | null {
    const group = getDist();
    if (!group || group.worldSize === 1) return null;
    const buckets = optimizerBuckets(this.optimizer);
    const s = this.gradSync;
    if (!s || s.group !== group || s.buckets.length !== buckets.length || s.buckets.some((b, i) => b !== buckets[i])) {
      this.gradSync = new GradSync(buckets, group, this.dataParallel);
    }
    return this.gradSync;
  }

  /**
   * A NaN or infinite loss stops training before the optimizer step (AnvilError naming the
   * iteration), so the parameters, and any checkpoint saved later, stay those of the last
   * finite iteration. AmpOptimWrapper overrides it: there the step is skipped instead.
   */
  protected checkLoss(loss: number): void {
    if (typeof loss === 'number' && !Number.isFinite(loss)) {
      throw new AnvilError(
        `OptimWrapper: the loss is ${loss} at iteration ${this.innerCount + 1}; training stopped before the optimizer step, so the parameters are those after iteration ${this.innerCount} (use AmpOptimWrapper to skip such steps instead)`,
      );
    }
  }

  shouldUpdate(): boolean {
    return this.innerCount % this.accumulativeCounts === 0 || this.innerCount === this.maxCounts;
  }

  /**
   * MMEngine's `optim_context`: runs `fn` (forward and backward) for this wrapper. Distributed,
   * a backward that closes an accumulation window starts its all-reduces while it runs (DDP's
   * overlap); the others only accumulate (DDP's `no_sync`).
   */
  optimContext<T>(fn: () => T): T {
    const next = this.innerCount + 1;
    if (next % this.accumulativeCounts === 0 || next === this.maxCounts) this.sync()?.arm();
    return fn();
  }

  /** Clips the gradients when `clip_grad` is set (recording `train/grad_norm`), then steps the optimizer. */
  step(): void {
    this.beforeStep();
    this.optimizer.step();
  }

  /** `step` with the optimizer's update on the libuv thread pool (clipping runs first, here). */
  async stepAsync(): Promise<void> {
    this.beforeStep();
    await this.optimizer.stepAsync();
  }

  private beforeStep(): void {
    if (this.clipper) this.clipGrad(this.clipper);
    else if (this.logGradNorm) this.recordGradNorm();
  }

  /** The parameters that require and have a gradient (what clipping and the norm cover). */
  protected gradParams() {
    return this.optimizer.paramGroups.flatMap((g) => g.params).filter((p) => p.requiresGrad && p.hasGrad);
  }

  /** `log_grad_norm` without clipping: records the L2 norm of the gradients as `train/grad_norm`. */
  private recordGradNorm(): void {
    const params = this.gradParams();
    if (params.length === 0) return;
    this.lastGradNorm = getTotalNorm(params, 2, { device: this.optimizer.device });
    this.messageHub?.updateScalar('train/grad_norm', this.lastGradNorm);
  }

  /** MMEngine's `_clip_grad`: over the parameters that require and have a gradient. */
  private clipGrad(clipper: GradClipper): void {
    const params = this.gradParams();
    if (params.length === 0) return;
    const total = clipper.clip(params, this.optimizer.device);
    if (total !== null) {
      this.lastGradNorm = total;
      this.messageHub?.updateScalar(`train/${clipper.name}`, total);
    }
  }

  zeroGrad(): void {
    this.optimizer.zeroGrad();
  }

  /** `{lr: [per group]}`, as MMEngine's `get_lr`; `base_lr` first when there are several groups. */
  getLr(): { base_lr?: number[]; lr: number[] } {
    const lr = this.optimizer.paramGroups.map((g) => g.lr);
    return this.baseParamSettings ? { base_lr: [this.baseParamSettings.lr], lr } : { lr };
  }

  /** `{momentum: [per group]}`: `momentum`, or `betas[0]` for Adam-style optimizers, else 0. */
  getMomentum(): { momentum: number[] } {
    return {
      momentum: this.optimizer.paramGroups.map((g) => {
        if (typeof g.momentum === 'number') return g.momentum;
        if (Array.isArray(g.betas)) return g.betas[0] as number;
        return 0;
      }),
    };
  }

  get innerIter(): number {
    return this.innerCount;
  }

  /** MMEngine's `state_dict`: the optimizer's (torch's format), plus `base_param_settings` with several groups. */
  stateDict(): OptimWrapperStateDict {
    const state: OptimWrapperStateDict = { ...this.optimizer.stateDict() };
    if (this.baseParamSettings) {
      const { params: _params, ...settings } = this.baseParamSettings;
      state.base_param_settings = settings;
    }
    return state;
  }

  /** MMEngine's `load_state_dict`: `base_param_settings` (when saved), then the optimizer's state. */
  loadStateDict(state: OptimWrapperStateDict): void {
    if (state === null || typeof state !== 'object') throw new AnvilError(`OptimWrapper.loadStateDict: expected a dict, got ${JSON.stringify(state)}`);
    const { base_param_settings: settings, ...optimizerState } = state;
    this.optimizer.loadStateDict(optimizerState as OptimizerStateDict);
    // Schedulers hold this pseudo-group: it is updated in place.
    if (settings && this.baseParamSettings) Object.assign(this.baseParamSettings, settings, { params: [] });
  }
}
