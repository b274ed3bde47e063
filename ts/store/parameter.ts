// Parameter: a handle on one trained tensor inside a bucket. Its data and gradient are views
// into the bucket; packing parameters into a new bucket moves them without changing handles.

import { AnvilError } from '../errors';
import { Bucket, numel, type GradDtype } from './bucket';
import { fromBits, toBits } from './half';

export class Parameter {
  readonly shape: readonly number[];
  readonly numel: number;
  requiresGrad: boolean;
  private bucket: Bucket;
  private index: number;

  /** `gradDtype` 'float16' / 'bfloat16' keeps the gradient as half-precision bits over fp32 values. */
  constructor(shape: readonly number[], options: { requiresGrad?: boolean; data?: ArrayLike<number>; gradDtype?: GradDtype } = {}) {
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new AnvilError(`Parameter: shape must hold non-negative integers, got [${shape.join(', ')}]`);
    }
    this.shape = [...shape];
    this.numel = numel(shape);
    this.requiresGrad = options.requiresGrad ?? true;
    this.bucket = new Bucket([this], { gradDtype: options.gradDtype });
    this.index = 0;
    if (options.data) this.data.set(checkLength(options.data, this.numel, 'data'));
  }

  /** The fp32 master values (a view into the bucket). */
  get data(): Float32Array {
    return this.bucket.paramView(this.index);
  }

  /** The float32 gradient buffer (zeros when the parameter has no gradient). */
  get grad(): Float32Array {
    const g = this.bucket.gradView(this.index);
    if (!(g instanceof Float32Array)) {
      throw new AnvilError(`Parameter: the gradient is ${this.gradDtype} bits; read them with gradBits(), write with setGrad()`);
    }
    return g;
  }

  /** Element type of the gradient. */
  get gradDtype(): GradDtype {
    return this.bucket.gradDtype;
  }

  /** The raw bits of a float16/bfloat16 gradient (a view into the bucket). */
  gradBits(): Uint16Array {
    const g = this.bucket.gradView(this.index);
    if (!(g instanceof Uint16Array)) throw new AnvilError('Parameter: the gradient is float32; use grad');
    return g;
  }

  /** torch's `grad is not None`. */
  get hasGrad(): boolean {
    return this.bucket.hasGrad[this.index] === 1;
  }

  /** Steps the optimizer has taken on this parameter. */
  get step(): number {
    return this.bucket.steps[this.index];
  }

  /** Where the parameter lives now: its bucket and its index there. */
  get location(): { bucket: Bucket; index: number } {
    return { bucket: this.bucket, index: this.index };
  }

  /**
   * The float32 gradient buffer to add into; marks the parameter as having a gradient this step.
   * For float16/bfloat16 gradients it is a float32 staging view, rounded into the half-precision
   * bits when they are next read (see `Bucket.stagedGrad`).
   */
  accumulateGrad(): Float32Array {
    this.bucket.hasGrad[this.index] = 1;
    return this.bucket.stagedGrad(this.index);
  }

  /**
   * Says this backward has finished adding into the gradient (layers call it after their kernel
   * wrote it). In distributed training the gradient's all-reduce may start right away, overlapping
   * the rest of backward, so nothing may change the gradient again before the step.
   */
  gradReady(): void {
    this.bucket.onGradReady?.(this.index);
  }

  /** Sets the gradient to `values`, or removes it (`null`, torch's `grad = None`). */
  setGrad(values: ArrayLike<number> | null): void {
    const g = this.bucket.gradView(this.index);
    if (values === null) {
      g.fill(0);
      this.bucket.hasGrad[this.index] = 0;
      return;
    }
    checkLength(values, this.numel, 'grad');
    const dtype = this.gradDtype;
    if (dtype === 'float32') g.set(values);
    else for (let i = 0; i < values.length; i++) g[i] = toBits(values[i], dtype);
    this.bucket.hasGrad[this.index] = 1;
  }

  /** @internal Re-points the handle after `packBucket` copied it into `bucket` at `index`. */
  moveTo(bucket: Bucket, index: number): void {
    this.bucket = bucket;
    this.index = index;
  }
}

function checkLength(values: ArrayLike<number>, n: number, what: string): ArrayLike<number> {
  if (values.length !== n) throw new AnvilError(`Parameter: ${what} holds ${values.length} values, the shape needs ${n}`);
  return values;
}

/**
 * Moves `params` into one new contiguous bucket (values, gradients, steps and optimizer state
 * copied), so one native call updates them all. Returns the bucket. With `gradDtype` the new
 * bucket keeps its gradients in that type (converted, rounding to nearest even), and parameters
 * of any gradient types may be packed together.
 */
export function packBucket(params: readonly Parameter[], gradDtype?: GradDtype): Bucket {
  const dtypes = new Set(params.map((p) => p.gradDtype));
  if (gradDtype === undefined && dtypes.size > 1) throw new AnvilError(`packBucket: gradients of ${[...dtypes].join(' and ')} cannot share a bucket`);
  const dtype = gradDtype ?? params[0]?.gradDtype;
  const bucket = new Bucket(params, { gradDtype: dtype });
  const stateNames = new Set(params.flatMap((p) => p.location.bucket.stateNames()));
  const tensorStateNames = new Set(params.flatMap((p) => p.location.bucket.tensorStateNames()));
  params.forEach((p, i) => {
    const { bucket: from, index: j } = p.location;
    bucket.paramView(i).set(from.paramView(j));
    copyGrad(from.gradView(j), from.gradDtype, bucket.gradView(i), bucket.gradDtype);
    bucket.hasGrad[i] = from.hasGrad[j];
    bucket.steps[i] = from.steps[j];
    for (const name of stateNames) {
      if (from.hasState(name)) bucket.stateView(name, i).set(from.stateView(name, j));
    }
    for (const name of tensorStateNames) {
      if (from.hasTensorState(name)) bucket.tensorState(name)[i] = from.tensorState(name)[j];
    }
  });
  params.forEach((p, i) => p.moveTo(bucket, i));
  return bucket;
}

/** Copies a gradient between buckets, converting between float32 and half-precision bits. */
function copyGrad(src: Float32Array | Uint16Array, from: GradDtype, dst: Float32Array | Uint16Array, to: GradDtype): void {
  if (from === to) {
    dst.set(src);
    return;
  }
  for (let k = 0; k < src.length; k++) {
    const v = from === 'float32' ? src[k] : fromBits(src[k], from);
    dst[k] = to === 'float32' ? v : toBits(v, to);
  }
}
