// AmpOptimWrapper (MMEngine's), on the CPU as well as CUDA: gradients scaled by a GradScaler's
// loss scale (dynamic, static or GradScaler kwargs), optionally kept as float16/bfloat16, and
// stepped through the fused path (unscale and clip folded into the update); skipped steps logged.

import { AnvilError } from '../errors';
import type { GradDtype } from '../store/bucket';
import { GradScaler, type GradScalerStateDict } from './grad-scaler';
import { OptimWrapper, type OptimWrapperOptions, type OptimWrapperStateDict } from './optim-wrapper';

export interface AmpOptimWrapperOptions extends OptimWrapperOptions {
  /**
   * 'dynamic' (default: GradScaler with torch's defaults), a number (a static scale), or a dict
   * of GradScaler arguments (`init_scale`, `growth_factor`, `backoff_factor`, `growth_interval`).
   */
  lossScale?: 'dynamic' | number | Record<string, unknown>;
  /** Gradient type: 'float16' / 'bfloat16' keep gradients as half-precision bits; null float32. */
  dtype?: 'float16' | 'bfloat16' | null;
}

export class AmpOptimWrapper extends OptimWrapper {
  readonly lossScaler: GradScaler;
  /** The gradients' type (null: float32, as MMEngine's `cast_dtype=None`). */
  readonly dtype: GradDtype | null;
  /** Steps skipped because the scaled gradients held inf or NaN. */
  skippedSteps = 0;
  /** MMEngine's `_scale_update_param`: the static scale re-applied after every step. */
  private readonly staticScale: number | null;

  constructor(options: AmpOptimWrapperOptions) {
    const { lossScale = 'dynamic', dtype = null, ...rest } = options;
    super(rest);
    if (lossScale === 'dynamic') {
      this.lossScaler = new GradScaler();
      this.staticScale = null;
    } else if (typeof lossScale === 'number') {
      if (!(lossScale > 0) || !Number.isFinite(lossScale)) throw new AnvilError(`AmpOptimWrapper: a static loss_scale must be a positive number, got ${lossScale}`);
      this.lossScaler = new GradScaler({ initScale: lossScale });
      this.staticScale = lossScale;
    } else if (lossScale !== null && typeof lossScale === 'object' && !Array.isArray(lossScale)) {
      this.lossScaler = new GradScaler(lossScale);
      this.staticScale = null;
    } else {
      throw new AnvilError(`AmpOptimWrapper: loss_scale must be of type float, dict, or "dynamic", but got ${JSON.stringify(lossScale)}`);
    }
    if (dtype !== null && dtype !== 'float16' && dtype !== 'bfloat16') {
      throw new AnvilError(`AmpOptimWrapper: dtype should be any of ('float16', 'bfloat16', None), got ${JSON.stringify(dtype)}`);
    }
    this.dtype = dtype;
    if (dtype) this.optimizer.setGradDtype(dtype);
  }

  /** The factor models multiply gradients by: the accumulation factor times the loss scale. */
  override gradientScale(): number {
    return this.lossScaler.scale(super.gradientScale());
  }

  /** A non-finite loss is not an error under AMP: its gradients are non-finite too, and the step is skipped. */
  protected override checkLoss(_loss: number): void {}

  /**
   * One fused pass checks the scaled gradients for inf/NaN (and takes their norm for clip_grad
   * by norm or `log_grad_norm`); the optimizer's update applies 1/scale times the clip factor.
   * A non-finite step is skipped. Then the scale is updated (or reset to the static scale), and
   * `train/loss_scale` and `train/skipped_steps` go to the message hub.
   */
  override step(): void {
    if (this.unscaleAndClipByValue()) return this.concludeStep(this.lossScaler.step(this.optimizer).skipped);
    this.concludeStep(this.recordNorm(this.lossScaler.fusedStep(this.optimizer, this.fusedClip())));
  }

  /** `step` with the optimizer's update pass off the JS thread (`optimizer.stepAsync`). */
  override async stepAsync(): Promise<void> {
    if (this.unscaleAndClipByValue()) return this.concludeStep((await this.lossScaler.stepAsync(this.optimizer)).skipped);
    this.concludeStep(this.recordNorm(await this.lossScaler.fusedStepAsync(this.optimizer, this.fusedClip())));
  }

  /** Clip by value needs the unscaled gradients in place: torch's unscale_ and clip (then step). */
  private unscaleAndClipByValue(): boolean {
    if (!this.clipper || this.clipper.norm) return false;
    this.lossScaler.unscale(this.optimizer);
    const params = this.gradParams();
    if (params.length > 0) this.clipper.clip(params, this.optimizer.device);
    return true;
  }

  /** The norm the fused step takes (clip by norm, or `log_grad_norm`). */
  private fusedClip() {
    return this.clipper?.norm ?? (this.logGradNorm ? { maxNorm: Infinity, normType: 2 as const, errorIfNonfinite: false } : undefined);
  }

  private recordNorm(r: { skipped: boolean; totalNorm: number | null }): boolean {
    if (r.totalNorm !== null) {
      this.lastGradNorm = r.totalNorm;
      this.messageHub?.updateScalar('train/grad_norm', r.totalNorm);
    }
    return r.skipped;
  }

  /** Updates the scale (or resets the static one) and reports it and the skipped steps. */
  private concludeStep(skipped: boolean): void {
    this.lossScaler.update(this.staticScale ?? undefined);
    if (skipped) this.skippedSteps += 1;
    this.messageHub?.updateScalar('train/loss_scale', this.lossScaler.getScale());
    this.messageHub?.updateScalar('train/skipped_steps', this.skippedSteps);
  }

  /** MMEngine's: the wrapper's state plus `loss_scaler` (and Anvil's count of skipped steps). */
  override stateDict(): OptimWrapperStateDict {
    return { ...super.stateDict(), loss_scaler: this.lossScaler.stateDict(), skipped_steps: this.skippedSteps };
  }

  override loadStateDict(state: OptimWrapperStateDict): void {
    if (state === null || typeof state !== 'object') throw new AnvilError(`AmpOptimWrapper.loadStateDict: expected a dict, got ${JSON.stringify(state)}`);
    const { loss_scaler: scaler, skipped_steps: skipped, ...rest } = state;
    if (skipped !== undefined && (!Number.isInteger(skipped) || (skipped as number) < 0)) {
      throw new AnvilError(`AmpOptimWrapper.loadStateDict: skipped_steps must be a non-negative integer, got ${JSON.stringify(skipped)}`);
    }
    super.loadStateDict(rest as OptimWrapperStateDict);
    if (scaler !== undefined) this.lossScaler.loadStateDict(scaler as Partial<GradScalerStateDict>);
    if (skipped !== undefined) this.skippedSteps = skipped as number;
  }
}
