// A bucket: several parameters packed back to back in one float32 allocation, with their
// gradients, optimizer state, step counters and has-grad flags laid out alike, so one native
// call updates them all. Parameters see it through zero-copy `subarray` views.

import { AnvilError } from '../errors';
import type { BucketArrays } from '../native';

export interface TensorLayout {
  readonly shape: readonly number[];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class Bucket {
  readonly dtype = 'float32' as const;
  readonly params: Float32Array;
  readonly grads: Float32Array;
  /** Tensor `i` spans `offsets[i]..offsets[i + 1]`. */
  readonly offsets: Uint32Array;
  /** Per-tensor optimizer step (torch keeps `step` per parameter; no gradient, no advance). */
  readonly steps: Uint32Array;
  /** Per-tensor flag: 1 when the tensor has a gradient this step (torch: `grad is not None`). */
  readonly hasGrad: Uint8Array;
  private readonly states = new Map<string, Float32Array>();
  private readonly paramViews: Float32Array[];
  private readonly gradViews: Float32Array[];

  /**
   * Allocates a bucket for tensors of the given shapes, or wraps existing arrays (`borrow`):
   * memory another library owns, exposed to JS as typed arrays (see docs/design.md).
   */
  constructor(layouts: readonly TensorLayout[], borrow?: { params: Float32Array; grads: Float32Array }) {
    this.offsets = new Uint32Array(layouts.length + 1);
    layouts.forEach((t, i) => (this.offsets[i + 1] = this.offsets[i] + numel(t.shape)));
    const total = this.offsets[layouts.length];
    if (borrow && (borrow.params.length !== total || borrow.grads.length !== total)) {
      throw new AnvilError(
        `Bucket: borrowed arrays hold ${borrow.params.length} params and ${borrow.grads.length} grads, the shapes need ${total}`,
      );
    }
    this.params = borrow?.params ?? new Float32Array(total);
    this.grads = borrow?.grads ?? new Float32Array(total);
    this.steps = new Uint32Array(layouts.length);
    this.hasGrad = new Uint8Array(layouts.length);
    this.paramViews = layouts.map((_, i) => this.params.subarray(this.offsets[i], this.offsets[i + 1]));
    this.gradViews = layouts.map((_, i) => this.grads.subarray(this.offsets[i], this.offsets[i + 1]));
  }

  get size(): number {
    return this.steps.length;
  }

  paramView(i: number): Float32Array {
    return this.paramViews[i];
  }

  gradView(i: number): Float32Array {
    return this.gradViews[i];
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

  /** The typed arrays a native optimizer step takes, with the named state buffers in order. */
  arrays(stateNames: readonly string[]): BucketArrays {
    return {
      params: this.params,
      grads: this.grads,
      states: stateNames.map((n) => this.state(n)),
      offsets: this.offsets,
      steps: this.steps,
      hasGrad: this.hasGrad,
    };
  }

  /** torch's `zero_grad(set_to_none=True)`: every gradient becomes absent (and zero-filled). */
  zeroGrad(): void {
    this.grads.fill(0);
    this.hasGrad.fill(0);
  }
}
