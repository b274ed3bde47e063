// Structural layers: Sequential (torch.nn.Sequential: children '0', '1', ... run in order,
// backward in reverse), Flatten (a reshape, no copy) and Identity.

import { AnvilError } from '../errors';
import { Module } from './module';
import { Layer, type Tensor, type TensorLayer } from './tensor';

export type ChildLayer = Module & TensorLayer;

export class Sequential extends Layer {
  readonly layers: ChildLayer[];

  constructor(layers: ChildLayer[]) {
    super();
    this.layers = [...layers];
    this.layers.forEach((l, i) => this.addModule(String(i), l));
  }

  override get typeName(): string {
    return 'Sequential';
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h;
  }

  /** Backward through the children in reverse; the first one is asked for dx only if we are. */
  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    let g: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0 && g; i--) g = this.layers[i].backward(g, i > 0 || needInputGrad);
    return g;
  }
}

export interface FlattenOptions {
  startDim?: number;
  endDim?: number;
}

export class Flatten extends Layer {
  readonly startDim: number;
  readonly endDim: number;
  private inputShape: readonly number[] | null = null;

  constructor(options: FlattenOptions = {}) {
    super();
    this.startDim = options.startDim ?? 1;
    this.endDim = options.endDim ?? -1;
  }

  override get typeName(): string {
    return 'Flatten';
  }

  override attrs(): Record<string, unknown> {
    return { start_dim: this.startDim, end_dim: this.endDim };
  }

  forward(x: Tensor): Tensor {
    const r = x.shape.length;
    const s = this.startDim < 0 ? this.startDim + r : this.startDim;
    const e = this.endDim < 0 ? this.endDim + r : this.endDim;
    if (!(s >= 0 && e < r && s <= e)) throw new AnvilError(`Flatten: dims ${this.startDim}..${this.endDim} do not fit shape [${x.shape.join(', ')}]`);
    this.inputShape = x.shape;
    const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
    return { data: x.data, shape: [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)] };
  }

  backward(dy: Tensor): Tensor {
    return { data: dy.data, shape: this.saved(this.inputShape) };
  }
}

export class Identity extends Layer {
  override get typeName(): string {
    return 'Identity';
  }

  forward(x: Tensor): Tensor {
    return x;
  }

  backward(dy: Tensor): Tensor {
    return dy;
  }
}
