// Linear (torch.nn.Linear) over a batch of row vectors, forward and backward in Rust.
// Keeps its input for backward; the gradient lands in the parameters' store buffers.

import { AnvilError } from '../errors';
import { native } from '../native';
import { Parameter } from '../store/parameter';
import { globalRng } from '../util/random';
import type { Rng } from '../util/rng';
import { torchDefaultInit } from './init';
import { Module } from './module';
import { shapeNumel, type Tensor, type TensorLayer, Workspace } from './tensor';

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
  rng?: Rng;
}

export class Linear extends Module implements TensorLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private input: Float32Array | null = null;
  private inputShape: readonly number[] | null = null;
  private readonly output = new Workspace();
  private readonly inputGrad = new Workspace();
  private readonly zeroBias: Float32Array;

  constructor(options: LinearOptions) {
    super();
    const { inFeatures, outFeatures } = options;
    if (!(Number.isInteger(inFeatures) && inFeatures > 0 && Number.isInteger(outFeatures) && outFeatures > 0)) {
      throw new AnvilError(`Linear: in_features and out_features must be positive integers, got ${inFeatures} and ${outFeatures}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter('weight', new Parameter([outFeatures, inFeatures]));
    this.bias = options.bias === false ? null : this.registerParameter('bias', new Parameter([outFeatures]));
    this.zeroBias = new Float32Array(outFeatures);
    torchDefaultInit(this.weight, this.bias, inFeatures, options.rng ?? globalRng());
  }

  override get typeName(): string {
    return 'Linear';
  }

  override attrs(): Record<string, unknown> {
    return { in_features: this.inFeatures, out_features: this.outFeatures };
  }

  /** A tensor [..., inFeatures] to [..., outFeatures]. */
  forward(x: Tensor): Tensor;
  /** `x` holds `batch` rows of `inFeatures`; returns `batch` rows of `outFeatures` (reused buffer). */
  forward(x: Float32Array, batch: number): Float32Array;
  forward(x: Float32Array | Tensor, batch?: number): Float32Array | Tensor {
    if (x instanceof Float32Array) return this.forwardRows(x, batch ?? 0);
    const last = x.shape[x.shape.length - 1];
    if (last !== this.inFeatures) {
      throw new AnvilError(`Linear: input shape [${x.shape.join(', ')}] does not end in in_features=${this.inFeatures}`);
    }
    const y = this.forwardRows(x.data, shapeNumel(x.shape) / this.inFeatures);
    this.inputShape = x.shape;
    return { data: y, shape: [...x.shape.slice(0, -1), this.outFeatures] };
  }

  private forwardRows(x: Float32Array, batch: number): Float32Array {
    const y = this.output.get(batch * this.outFeatures);
    native.linearForward(x, this.weight.data, this.bias?.data ?? this.zeroBias, y, batch, this.inFeatures, this.outFeatures);
    this.input = x;
    return y;
  }

  /** Accumulates the parameter gradients for `dy` [..., outFeatures]; returns dL/dx when asked. */
  backward(dy: Tensor, needInputGrad: boolean): Tensor | null;
  /** Accumulates the parameter gradients for `dy`; returns dL/dx when `needInputGrad`. */
  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null;
  backward(dy: Float32Array | Tensor, a: number | boolean, b?: boolean): Float32Array | Tensor | null {
    if (dy instanceof Float32Array) return this.backwardRows(dy, a as number, b ?? false);
    const shape = this.inputShape;
    if (!shape) throw new AnvilError('Linear: backward called before forward');
    const dx = this.backwardRows(dy.data, shapeNumel(dy.shape) / this.outFeatures, a as boolean);
    return dx && { data: dx, shape };
  }

  private backwardRows(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null {
    if (!this.input) throw new AnvilError('Linear: backward called before forward');
    const dx = needInputGrad ? this.inputGrad.get(batch * this.inFeatures) : null;
    // Without a bias the kernel still sums dy into a bias gradient: give it scratch to discard.
    const dBias = this.bias ? this.bias.accumulateGrad() : this.zeroBias.fill(0);
    native.linearBackward(this.input, this.weight.data, dy, this.weight.accumulateGrad(), dBias, dx, batch, this.inFeatures, this.outFeatures);
    this.weight.gradReady();
    this.bias?.gradReady();
    if (!this.bias) this.zeroBias.fill(0);
    return dx;
  }
}
