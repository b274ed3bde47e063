// ReLU (torch.nn.ReLU). On a Tensor it writes its own output unless `inplace` (torch's flag);
// on a bare Float32Array (the MLP's rows) it works in place. Backward masks with the output.

import { native } from '../native';
import { Module } from './module';
import type { Tensor, TensorLayer } from './tensor';
import { Workspace } from './tensor';

export interface ReLUOptions {
  inplace?: boolean;
}

export class ReLU extends Module implements TensorLayer {
  readonly inplace: boolean;
  private output: Float32Array | null = null;
  private readonly buffer = new Workspace();

  constructor(options: ReLUOptions = {}) {
    super();
    this.inplace = options.inplace ?? false;
  }

  override get typeName(): string {
    return 'ReLU';
  }

  forward(x: Tensor): Tensor;
  forward(x: Float32Array): Float32Array;
  forward(x: Float32Array | Tensor): Float32Array | Tensor {
    if (x instanceof Float32Array) {
      native.reluInPlace(x);
      this.output = x;
      return x;
    }
    let y = x.data;
    if (!this.inplace) {
      y = this.buffer.get(x.data.length);
      y.set(x.data);
    }
    native.reluInPlace(y);
    this.output = y;
    return { data: y, shape: x.shape };
  }

  /** `dy *= (y > 0)` in place; returns `dy`. */
  backward(dy: Tensor, needInputGrad?: boolean): Tensor;
  backward(dy: Float32Array): Float32Array;
  backward(dy: Float32Array | Tensor): Float32Array | Tensor {
    const data = dy instanceof Float32Array ? dy : dy.data;
    if (this.output) native.reluBackward(this.output, data);
    return dy;
  }
}
