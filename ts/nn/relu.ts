// ReLU (torch.nn.ReLU), applied in place; backward masks the gradient with the kept output.

import { native } from '../native';
import { Module } from './module';

export class ReLU extends Module {
  private output: Float32Array | null = null;

  override get typeName(): string {
    return 'ReLU';
  }

  forward(x: Float32Array): Float32Array {
    native.reluInPlace(x);
    this.output = x;
    return x;
  }

  backward(dy: Float32Array): Float32Array {
    if (this.output) native.reluBackward(this.output, dy);
    return dy;
  }
}
