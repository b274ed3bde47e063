// torch.amp.GradScaler: dynamic (or static) loss scaling. Unscaling and the inf/nan check run as
// one native pass over each of the optimizer's gradient buckets; a non-finite step is skipped.
// `fusedStep` folds unscaling and clipping into the optimizer's update pass.

import { AnvilError } from '../errors';
import { native } from '../native';
import type { Bucket } from '../store/bucket';
import { camelToSnake } from '../util/names';
import { clipGradNorm, normOrder, type NormType } from './clip-grad';
import { bucketGrads, nativeCall, type GradBuffer } from './grad-buffers';
import type { Optimizer } from './optimizer';

export interface GradScalerOptions {
  /** Default 2**16. */
  initScale?: number;
  /** Default 2; must be > 1. */
  growthFactor?: number;
  /** Default 0.5; must be < 1. */
  backoffFactor?: number;
  /** Consecutive finite steps before the scale grows. Default 2000. */
  growthInterval?: number;
  /** When false, `step` just steps and the other methods do nothing. Default true. */
  enabled?: boolean;
}

/** torch's `GradScaler.state_dict()` keys. */
export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

const DEFAULTS = { init_scale: 2 ** 16, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, enabled: true };

/** Norm clipping folded into the fused step (`clip_grad_norm_`'s arguments). */
export interface FusedClip {
  maxNorm: number;
  normType?: NormType;
  errorIfNonfinite?: boolean;
}

/** torch's per-optimizer stages between two `update()` calls. */
type Stage = 'ready' | 'unscaled' | 'stepped';

interface OptimizerState {
  stage: Stage;
  /** Whether the unscaled gradients held inf/NaN; null when the optimizer had no gradient to check. */
  foundInf: boolean | null;
}

function num(value: unknown, key: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new AnvilError(`GradScaler: '${key}' must be a number, got ${JSON.stringify(value)}`);
  return value;
}

function int(value: unknown, key: string): number {
  if (!Number.isInteger(value)) throw new AnvilError(`GradScaler: '${key}' must be an integer, got ${JSON.stringify(value)}`);
  return value as number;
}

/** The optimizer's gradient buckets (groups may share one) that hold a gradient this step. */
function gradsOf(optimizer: Optimizer): GradBuffer[] {
  const buckets = new Set<Bucket>(optimizer.paramGroups.map((_, i) => optimizer.bucket(i)));
  return [...buckets].filter((b) => b.hasGrad.includes(1)).map(bucketGrads);
}

export class GradScaler {
  private readonly enabled: boolean;
  /** float32, as torch keeps it in a float32 tensor. */
  private scaleValue: number;
  private growthTracker = 0;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private readonly perOptimizer = new Map<Optimizer, OptimizerState>();

  /** Options in camelCase or torch's snake_case keys (`init_scale`, ...); unknown keys are an error. */
  constructor(options: GradScalerOptions | Record<string, unknown> = {}) {
    const o: Record<string, unknown> = { ...DEFAULTS };
    for (const [key, value] of Object.entries(options)) {
      const k = camelToSnake(key);
      if (!Object.hasOwn(DEFAULTS, k)) throw new AnvilError(`GradScaler: unexpected argument '${k}' (accepted: ${Object.keys(DEFAULTS).join(', ')})`);
      if (value !== undefined) o[k] = value;
    }
    if (typeof o.enabled !== 'boolean') throw new AnvilError(`GradScaler: 'enabled' must be true or false, got ${JSON.stringify(o.enabled)}`);
    this.enabled = o.enabled;
    this.scaleValue = Math.fround(num(o.init_scale, 'init_scale'));
    this.growthFactor = num(o.growth_factor, 'growth_factor');
    this.backoffFactor = num(o.backoff_factor, 'backoff_factor');
    this.growthInterval = int(o.growth_interval, 'growth_interval');
    if (this.enabled) {
      if (!(this.growthFactor > 1)) throw new AnvilError(`GradScaler: The growth factor must be > 1.0 (got ${this.growthFactor}).`);
      if (!(this.backoffFactor < 1)) throw new AnvilError(`GradScaler: The backoff factor must be < 1.0 (got ${this.backoffFactor}).`);
    }
  }

  /** `value * scale` (the loss, or the factor a model multiplies its gradients by); `value` when disabled. */
  scale(value: number): number {
    return this.enabled ? value * this.scaleValue : value;
  }

  private state(optimizer: Optimizer): OptimizerState {
    let s = this.perOptimizer.get(optimizer);
    if (!s) {
      s = { stage: 'ready', foundInf: null };
      this.perOptimizer.set(optimizer, s);
    }
    return s;
  }

  /**
   * torch's `unscale_`: divides the optimizer's gradients by the scale (times float32(1/scale))
   * and records whether any was inf or NaN, in one pass per bucket. Once per optimizer between
   * two `update()` calls, and before `step()`. fp16/bf16 gradient buckets are unscaled in f32 and
   * rounded back, as torch's CPU kernel does; torch's Python refuses fp16 gradients here (its
   * masters would be fp16 too), Anvil's fp16 gradients sit over fp32 masters, so they are allowed.
   */
  unscale(optimizer: Optimizer): void {
    if (!this.enabled) return;
    const s = this.state(optimizer);
    if (s.stage === 'unscaled') throw new AnvilError('GradScaler: unscale_() has already been called on this optimizer since the last update().');
    if (s.stage === 'stepped') throw new AnvilError('GradScaler: unscale_() is being called after step().');
    const grads = gradsOf(optimizer);
    s.foundInf = grads.length === 0 ? null : nativeCall('GradScaler.unscale', () => optimizer.kernels.unscaleGrads(grads, this.scaleValue));
    s.stage = 'unscaled';
  }

  /**
   * torch's `step`: unscales (unless `unscale` already ran) and calls `optimizer.step()` unless
   * a gradient was inf or NaN. Returns whether the step was skipped.
   */
  step(optimizer: Optimizer): { skipped: boolean } {
    const plan = this.planStep(optimizer);
    if (plan.run) optimizer.step();
    return plan.done();
  }

  /** `step` with `optimizer.stepAsync()`: the update runs off the JS thread. */
  async stepAsync(optimizer: Optimizer): Promise<{ skipped: boolean }> {
    const plan = this.planStep(optimizer);
    if (plan.run) await optimizer.stepAsync();
    return plan.done();
  }

  /** The checks and the unscale of `step`: whether to run the optimizer, and how to conclude. */
  private planStep(optimizer: Optimizer): { run: boolean; done: () => { skipped: boolean } } {
    if (!this.enabled) return { run: true, done: () => ({ skipped: false }) };
    const s = this.state(optimizer);
    if (s.stage === 'stepped') throw new AnvilError('GradScaler: step() has already been called since the last update().');
    if (s.stage === 'ready') this.unscale(optimizer);
    if (s.foundInf === null) throw new AnvilError('GradScaler: No inf checks were recorded for this optimizer (none of its parameters has a gradient).');
    const skipped = s.foundInf;
    return {
      run: !skipped,
      done: () => {
        s.stage = 'stepped';
        return { skipped };
      },
    };
  }

  /**
   * The fused AMP step: what `unscale`, `clipGradNorm` (with `clip`) and `step` do, in two passes
   * over the gradients instead of four. One read pass checks them for inf/NaN and takes the norm
   * of their unscaled values; the optimizer's update pass then multiplies them by 1/scale (times
   * the clip coefficient) as it reads them. With a power-of-two scale (the default factors keep
   * it one) the parameters and the returned norm are bit-identical to the unfused sequence; the
   * difference is that the stored gradients stay scaled. Returns whether the step was skipped
   * and the unscaled total norm (null without `clip`; MMEngine logs it as grad_norm).
   */
  fusedStep(optimizer: Optimizer, clip?: FusedClip): { skipped: boolean; totalNorm: number | null } {
    const plan = this.planFused(optimizer, clip, 'GradScaler.fusedStep');
    if (plan.gradScale !== null) optimizer.step({ gradScale: plan.gradScale });
    return plan.done();
  }

  /** `fusedStep` with the update pass off the JS thread (`optimizer.stepAsync`); the read pass runs first, on this thread. */
  async fusedStepAsync(optimizer: Optimizer, clip?: FusedClip): Promise<{ skipped: boolean; totalNorm: number | null }> {
    const plan = this.planFused(optimizer, clip, 'GradScaler.fusedStepAsync');
    if (plan.gradScale !== null) await optimizer.stepAsync({ gradScale: plan.gradScale });
    return plan.done();
  }

  /** The read pass of the fused step: the factor the update applies (null: skip it), and how to conclude. */
  private planFused(optimizer: Optimizer, clip: FusedClip | undefined, where: string): { gradScale: number | null; done: () => { skipped: boolean; totalNorm: number | null } } {
    if (clip !== undefined && (clip === null || typeof clip !== 'object' || typeof clip.maxNorm !== 'number')) {
      throw new AnvilError(`${where}: clip must be { maxNorm: number, normType?, errorIfNonfinite? }`);
    }
    if (!this.enabled) {
      const params = optimizer.paramGroups.flatMap((g) => g.params);
      const totalNorm = clip ? clipGradNorm(params, clip.maxNorm, clip.normType, { errorIfNonfinite: clip.errorIfNonfinite }) : null;
      return { gradScale: 1, done: () => ({ skipped: false, totalNorm }) };
    }
    const s = this.state(optimizer);
    if (s.stage !== 'ready') throw new AnvilError(`${where}: it takes the place of unscale() and step(), so it cannot follow them before update()`);
    const grads = gradsOf(optimizer);
    if (grads.length === 0) throw new AnvilError(`${where}: No inf checks were recorded for this optimizer (none of its parameters has a gradient).`);
    const clipOptions = clip && {
      maxNorm: clip.maxNorm,
      normType: normOrder(clip.normType ?? 2, where),
      errorIfNonfinite: clip.errorIfNonfinite ?? false,
    };
    const r = nativeCall(where, () => optimizer.kernels.ampCheckGrads(grads, this.scaleValue, clipOptions));
    s.foundInf = r.foundInf;
    return {
      gradScale: r.foundInf ? null : r.gradScale,
      done: () => {
        s.stage = 'stepped';
        return { skipped: r.foundInf, totalNorm: r.totalNorm ?? null };
      },
    };
  }

  /**
   * torch's `update`: backs the scale off after inf/NaN, grows it after `growthInterval` finite
   * steps in a row (unless that overflows float32), or sets `newScale` (a static scale).
   */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      this.scaleValue = Math.fround(num(newScale, 'new_scale'));
    } else {
      const checks = [...this.perOptimizer.values()].flatMap((s) => (s.foundInf === null ? [] : [s.foundInf]));
      if (checks.length === 0) throw new AnvilError('GradScaler: No inf checks were recorded prior to update().');
      const r = native.updateGradScale(this.scaleValue, this.growthTracker, checks.includes(true), this.growthFactor, this.backoffFactor, this.growthInterval);
      this.scaleValue = r.scale;
      this.growthTracker = r.growthTracker;
    }
    this.perOptimizer.clear();
  }

  /** The current scale, or 1 when disabled. */
  getScale(): number {
    return this.enabled ? this.scaleValue : 1;
  }

  getGrowthFactor(): number {
    return this.growthFactor;
  }

  setGrowthFactor(value: number): void {
    this.growthFactor = num(value, 'growth_factor');
  }

  getBackoffFactor(): number {
    return this.backoffFactor;
  }

  setBackoffFactor(value: number): void {
    this.backoffFactor = num(value, 'backoff_factor');
  }

  getGrowthInterval(): number {
    return this.growthInterval;
  }

  setGrowthInterval(value: number): void {
    this.growthInterval = int(value, 'growth_interval');
  }

  /** Consecutive finite steps since the scale last changed. */
  getGrowthTracker(): number {
    return this.enabled ? this.growthTracker : 0;
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  /** torch's `state_dict()`: empty when disabled. */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.scaleValue,
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.growthTracker,
    };
  }

  loadStateDict(state: Partial<GradScalerStateDict>): void {
    if (!this.enabled) return;
    if (Object.keys(state).length === 0) {
      throw new AnvilError('GradScaler: The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler.');
    }
    this.scaleValue = Math.fround(num(state.scale, 'scale'));
    this.growthFactor = num(state.growth_factor, 'growth_factor');
    this.backoffFactor = num(state.backoff_factor, 'backoff_factor');
    this.growthInterval = int(state.growth_interval, 'growth_interval');
    this.growthTracker = int(state._growth_tracker, '_growth_tracker');
  }
}
