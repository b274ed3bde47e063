// Parameter: a handle on one trained tensor inside a bucket. Its data and gradient are views
// into the bucket; packing parameters into a new bucket moves them without changing handles.

import { AnvilError } from '../errors';
import { Bucket, numel } from './bucket';

export class Parameter {
  readonly shape: readonly number[];
  readonly numel: number;
  requiresGrad: boolean;
  private bucket: Bucket;
  private index: number;

  constructor(shape: readonly number[], options: { requiresGrad?: boolean; data?: ArrayLike<number> } = {}) {
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new AnvilError(`Parameter: shape must hold non-negative integers, got [${shape.join(', ')}]`);
    }
    this.shape = [...shape];
    this.numel = numel(shape);
    this.requiresGrad = options.requiresGrad ?? true;
    this.bucket = new Bucket([this]);
    this.index = 0;
    if (options.data) this.data.set(checkLength(options.data, this.numel, 'data'));
  }

  /** The fp32 master values (a view into the bucket). */
  get data(): Float32Array {
    return this.bucket.paramView(this.index);
  }

  /** The gradient buffer (zeros when the parameter has no gradient). */
  get grad(): Float32Array {
    return this.bucket.gradView(this.index);
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

  /** The gradient buffer to add into; marks the parameter as having a gradient this step. */
  accumulateGrad(): Float32Array {
    this.bucket.hasGrad[this.index] = 1;
    return this.grad;
  }

  /** Sets the gradient to `values`, or removes it (`null`, torch's `grad = None`). */
  setGrad(values: ArrayLike<number> | null): void {
    if (values === null) {
      this.grad.fill(0);
      this.bucket.hasGrad[this.index] = 0;
      return;
    }
    this.accumulateGrad().set(checkLength(values, this.numel, 'grad'));
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
 * copied), so one native call updates them all. Returns the bucket.
 */
export function packBucket(params: readonly Parameter[]): Bucket {
  const bucket = new Bucket(params);
  const stateNames = new Set(params.flatMap((p) => p.location.bucket.stateNames()));
  params.forEach((p, i) => {
    const { bucket: from, index: j } = p.location;
    bucket.paramView(i).set(from.paramView(j));
    bucket.gradView(i).set(from.gradView(j));
    bucket.hasGrad[i] = from.hasGrad[j];
    bucket.steps[i] = from.steps[j];
    for (const name of stateNames) {
      if (from.hasState(name)) bucket.stateView(name, i).set(from.stateView(name, j));
    }
  });
  params.forEach((p, i) => p.moveTo(bucket, i));
  return bucket;
}
