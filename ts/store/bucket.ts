// A bucket: several parameters packed back to back in one float32 allocation, with their
// gradients (float32, or float16/bfloat16 bits), optimizer state, step counters and has-grad
// flags laid out alike, so one native call updates them all. Parameters see it through views.

import { AnvilError } from '../errors';
import { native, type BucketArrays } from '../native';
import type { GradDtype } from './half';

export type { GradDtype } from './half';

export interface TensorLayout {
  readonly shape: readonly number[];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface BucketOptions {
  /** Borrowed fp32 master values (memory another library owns; see docs/design.md). */
  params?: Float32Array;
  /** Borrowed gradients: a Float32Array, or a Uint16Array of raw bits for half types. */
  grads?: Float32Array | Uint16Array;
  /** Gradient element type (default float32); half types are fp16/bf16 bits over fp32 masters. */
  gradDtype?: GradDtype;
}

export class Bucket {
  readonly dtype = 'float32' as const;
  readonly gradDtype: GradDtype;
  readonly params: Float32Array;
  /** Tensor `i` spans `offsets[i]..offsets[i + 1]`. */
  readonly offsets: Uint32Array;
  /** Per-tensor optimizer step (torch keeps `step` per parameter; no gradient, no advance). */
  readonly steps: Uint32Array;
  /** Per-tensor flag: 1 when the tensor has a gradient this step (torch: `grad is not None`). */
  readonly hasGrad: Uint8Array;
  private readonly states = new Map<string, Float32Array>();
  private readonly tensorStates = new Map<string, Float64Array>();
  private readonly paramViews: Float32Array[];
  private readonly gradViews: Array<Float32Array | Uint16Array>;
  private readonly gradArray: Float32Array | Uint16Array;
  /**
   * Told when a backward has finished writing tensor `i`'s gradient (`Parameter.gradReady`); the
   * distributed gradient sync listens here to start all-reduces during backward.
   */
  onGradReady: ((i: number) => void) | null = null;
  /** Per tensor: 1 while an all-reduce is using its gradient, so adding into it is refused. */
  readonly reducing: Uint8Array;
  /** Half-precision buckets: the float32 copy models add into, and whether it is newer than the bits. */
  private staging: { values: Float32Array; views: Float32Array[] } | null = null;
  private staged = false;

  /**
   * Allocates a bucket for tensors of the given shapes, or wraps existing arrays (`params`,
   * `grads`): memory another library owns, exposed to JS as typed arrays (see docs/design.md).
   */
  constructor(layouts: readonly TensorLayout[], options: BucketOptions = {}) {
    this.offsets = new Uint32Array(layouts.length + 1);
    layouts.forEach((t, i) => (this.offsets[i + 1] = this.offsets[i] + numel(t.shape)));
    const total = this.offsets[layouts.length];
    const { params, grads, gradDtype = 'float32' } = options;
    if (!['float32', 'float16', 'bfloat16'].includes(gradDtype)) {
      throw new AnvilError(`Bucket: unknown gradient dtype '${gradDtype}' (expected float32, float16 or bfloat16)`);
    }
    if ((params && params.length !== total) || (grads && grads.length !== total)) {
      throw new AnvilError(`Bucket: borrowed arrays hold ${params?.length ?? total} params and ${grads?.length ?? total} grads, the shapes need ${total}`);
    }
    const half = gradDtype !== 'float32';
    if (grads && half !== (grads instanceof Uint16Array)) {
      throw new AnvilError(`Bucket: ${gradDtype} gradients need a ${half ? 'Uint16Array of raw bits' : 'Float32Array'}`);
    }
    this.gradDtype = gradDtype;
    this.params = params ?? new Float32Array(total);
    this.gradArray = grads ?? (half ? new Uint16Array(total) : new Float32Array(total));
    this.steps = new Uint32Array(layouts.length);
    this.hasGrad = new Uint8Array(layouts.length);
    this.reducing = new Uint8Array(layouts.length);
    this.paramViews = layouts.map((_, i) => this.params.subarray(this.offsets[i], this.offsets[i + 1]));
    this.gradViews = layouts.map((_, i) => this.gradArray.subarray(this.offsets[i], this.offsets[i + 1]));
  }

  /**
   * float32 gradients, or for float16/bfloat16 buckets a Uint16Array of their bits (staged
   * float32 gradients are rounded into them first, see `stagedGrad`).
   */
  get grads(): Float32Array | Uint16Array {
    this.flushStagedGrads();
    return this.gradArray;
  }

  get size(): number {
    return this.steps.length;
  }

  paramView(i: number): Float32Array {
    return this.paramViews[i];
  }

  /** Tensor `i`'s gradient: float32 values, or raw bits in a half-precision bucket. */
  gradView(i: number): Float32Array | Uint16Array {
    this.flushStagedGrads();
    return this.gradViews[i];
  }

  /**
   * Tensor `i`'s gradient as float32 values to add into (what `Parameter.accumulateGrad` hands
   * a model). In a half-precision bucket this is a float32 staging copy of the whole bucket's
   * gradients: backward passes accumulate there in float32, and the sum is rounded into the
   * fp16/bf16 bits once, when anything reads them (`grads`, `gradView`, an optimizer step);
   * overflow then becomes inf, which the loss scaler detects.
   */
  stagedGrad(i: number): Float32Array {
    if (this.reducing[i]) {
      throw new AnvilError(
        `Bucket: tensor ${i}'s gradient is being all-reduced, yet backward adds into it again: a layer called gradReady() before its last write (or a parameter is used again after it); call gradReady() after a backward's last write, or set model_wrapper_cfg.overlap_grad_reduce=False`,
      );
    }
    if (this.gradDtype === 'float32') return this.gradViews[i] as Float32Array;
    if (!this.staging) {
      const values = new Float32Array(this.params.length);
      this.staging = { values, views: this.paramViews.map((_, j) => values.subarray(this.offsets[j], this.offsets[j + 1])) };
    }
    if (!this.staged) {
      native.widenGradBits(this.gradArray as Uint16Array, this.gradDtype, this.staging.values);
      this.staged = true;
    }
    return this.staging.views[i];
  }

  /** Rounds staged float32 gradients into the half-precision bits (a no-op when none are staged). */
  flushStagedGrads(): void {
    if (!this.staged || !this.staging) return;
    this.staged = false;
    native.narrowGradBits(this.staging.values, this.gradDtype, this.gradArray as Uint16Array);
  }

  /** The named state buffer, allocated zero-filled on first use. */
  state(name: string): Float32Array {
    let s = this.states.get(name);
    if (!s) {
      s = new Float32Array(this.params.length);
      this.states.set(name, s);
    }
    return s;
  }

  hasState(name: string): boolean {
    return this.states.has(name);
  }

  stateNames(): string[] {
    return [...this.states.keys()];
  }

  stateView(name: string, i: number): Float32Array {
    return this.state(name).subarray(this.offsets[i], this.offsets[i + 1]);
  }

  /**
   * The named per-tensor scalar state (NAdam's `mu_product`, ASGD's `eta`): one float64 per
   * tensor, allocated zero-filled on first use; kernels set it at a tensor's first step.
   */
  tensorState(name: string): Float64Array {
    let s = this.tensorStates.get(name);
    if (!s) {
      s = new Float64Array(this.size);
      this.tensorStates.set(name, s);
    }
    return s;
  }

  hasTensorState(name: string): boolean {
    return this.tensorStates.has(name);
  }

  tensorStateNames(): string[] {
    return [...this.tensorStates.keys()];
  }

  /**
   * The typed arrays a native optimizer step takes, with the named state buffers in kernel
   * order; `gradScale` multiplies every gradient as the kernel reads it (AMP's 1 / loss scale).
   */
  arrays(stateNames: readonly string[], tensorStateNames: readonly string[] = [], gradScale = 1): BucketArrays {
    return {
      params: this.params,
      grads: this.grads,
      gradDtype: this.gradDtype,
      gradScale,
      states: stateNames.map((n) => this.state(n)),
      tensorStates: tensorStateNames.map((n) => this.tensorState(n)),
      offsets: this.offsets,
      steps: this.steps,
      hasGrad: this.hasGrad,
    };
  }

  /** torch's `zero_grad(set_to_none=True)`: every gradient becomes absent (and zero-filled). */
  zeroGrad(): void {
    this.staged = false;
    this.gradArray.fill(0);
    this.hasGrad.fill(0);
  }
}
