// Linear (torch.nn.Linear) over a batch of row vectors, forward and backward in Rust.
// Keeps its input for backward; the gradient lands in the parameters' store buffers.

import { AnvilError } from '../errors';
import { native } from '../native';
import { Parameter } from '../store/parameter';
import { globalRng } from '../util/random';
import type { Rng } from '../util/rng';
import { torchDefaultInit } from './init';
import { Module } from './module';

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
  rng?: Rng;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private input: Float32Array | null = null;
  private output = new Float32Array(0);
  private inputGrad = new Float32Array(0);
  private zeroBias: Float32Array;

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

  /** `x` holds `batch` rows of `inFeatures`; returns `batch` rows of `outFeatures` (reused buffer). */
  forward(x: Float32Array, batch: number): Float32Array {
    if (this.output.length !== batch * this.outFeatures) this.output = new Float32Array(batch * this.outFeatures);
    native.linearForward(x, this.weight.data, this.bias?.data ?? this.zeroBias, this.output, batch, this.inFeatures, this.outFeatures);
    this.input = x;
    return this.output;
  }

  /** Accumulates the parameter gradients for `dy`; returns dL/dx when `needInputGrad`. */
  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null {
    if (!this.input) throw new AnvilError('Linear: backward called before forward');
    let dx: Float32Array | null = null;
    if (needInputGrad) {
      if (this.inputGrad.length !== batch * this.inFeatures) this.inputGrad = new Float32Array(batch * this.inFeatures);
      dx = this.inputGrad;
    }
    const dBias = this.bias ? this.bias.accumulateGrad() : new Float32Array(this.outFeatures);
    native.linearBackward(this.input, this.weight.data, dy, this.weight.accumulateGrad(), dBias, dx, batch, this.inFeatures, this.outFeatures);
    return dx;
  }
}
