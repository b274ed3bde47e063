// Tensor (a Float32Array with its shape, NCHW for images) and the Layer contract: forward keeps what
// backward needs; backward adds parameter gradients into the store and returns the input gradient.

import { AnvilError } from '../errors';
import { Module } from './module';

export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export function shapeNumel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A Tensor over `data`, checking that the shape covers it exactly. */
export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || shapeNumel(shape) !== data.length) {
    throw new AnvilError(`tensor: shape [${shape.join(', ')}] does not match ${data.length} values`);
  }
  return { data, shape: [...shape] };
}

/**
 * Scratch arrays that only grow: `get(n)` returns a length-`n` view of one backing array, so
 * a layer reuses its output and gradient memory across batches of any size.
 */
export class Workspace {
  private backing = new Float32Array(0);

  get(n: number): Float32Array {
    if (this.backing.length < n) this.backing = new Float32Array(n);
    return this.backing.length === n ? this.backing : this.backing.subarray(0, n);
  }
}

/** Typed-array variant of Workspace for integer side data (argmax indices). */
export class IndexWorkspace {
  private backing = new Uint32Array(0);

  get(n: number): Uint32Array {
    if (this.backing.length < n) this.backing = new Uint32Array(n);
    return this.backing.length === n ? this.backing : this.backing.subarray(0, n);
  }
}

/** What Sequential and the composite models call on each child. */
export interface TensorLayer {
  forward(x: Tensor): Tensor;
  /** Adds `dLoss/dParam` into parameter gradients; returns dLoss/dx when `needInputGrad`. */
  backward(dy: Tensor, needInputGrad: boolean): Tensor | null;
}

/** Base of the layers: a Module with the Tensor forward/backward contract. */
export abstract class Layer extends Module implements TensorLayer {
  abstract forward(x: Tensor): Tensor;
  abstract backward(dy: Tensor, needInputGrad: boolean): Tensor | null;

  /** Throws unless `x` has `rank` dims (or one of `ranks`), naming the layer. */
  protected expectRank(x: Tensor, ...ranks: number[]): void {
    if (!ranks.includes(x.shape.length)) {
      throw new AnvilError(`${this.typeName}: expected a ${ranks.join(' or ')}-D input, got shape [${x.shape.join(', ')}]`);
    }
  }

  protected saved<T>(value: T | null): T {
    if (value === null) throw new AnvilError(`${this.typeName}: backward called before forward`);
    return value;
  }
}

/** An int or a pair, as torch's `_pair`. */
export function pair(v: number | readonly number[] | undefined, fallback: number, what: string): [number, number] {
  const p = v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new AnvilError(`${what} must be a non-negative integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0], p[1]];
}
