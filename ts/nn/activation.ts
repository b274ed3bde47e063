// Element-wise activations GELU (exact erf form by default, as torch), Sigmoid and Tanh: each
// writes its own output; backward scales the incoming gradient in place (ReLU is in relu.ts).

import { AnvilError } from '../errors';
import { native } from '../native';
import { Layer, type Tensor, Workspace } from './tensor';

abstract class Elementwise extends Layer {
  private saved_: Float32Array | null = null;
  private readonly output = new Workspace();
  /** The native function name. */
  protected abstract readonly fn: string;
  /** Whether backward reads the forward input (GELU) rather than the output. */
  protected abstract readonly fromInput: boolean;

  forward(x: Tensor): Tensor {
    const y = this.output.get(x.data.length);
    native.activationForward(this.fn, x.data, y);
    this.saved_ = this.fromInput ? x.data : y;
    return { data: y, shape: x.shape };
  }

  backward(dy: Tensor): Tensor {
    native.activationBackward(this.fn, this.saved(this.saved_), dy.data);
    return dy;
  }
}

export interface GELUOptions {
  approximate?: 'none' | 'tanh';
}

export class GELU extends Elementwise {
  readonly approximate: 'none' | 'tanh';
  protected readonly fn: string;
  protected readonly fromInput = true;

  constructor(options: GELUOptions = {}) {
    super();
    const approximate = options.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') throw new AnvilError(`GELU: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
    this.approximate = approximate;
    this.fn = approximate === 'tanh' ? 'gelu_tanh' : 'gelu';
  }

  override get typeName(): string {
    return 'GELU';
  }
}

export class Sigmoid extends Elementwise {
  protected readonly fn = 'sigmoid';
  protected readonly fromInput = false;

  override get typeName(): string {
    return 'Sigmoid';
  }
}

export class Tanh extends Elementwise {
  protected readonly fn = 'tanh';
  protected readonly fromInput = false;

  override get typeName(): string {
    return 'Tanh';
  }
}
