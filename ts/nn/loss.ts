// Losses as modules (torch.nn.CrossEntropyLoss, MSELoss, BCEWithLogitsLoss): `forwardBackward`
// returns the loss and `scale * lossWeight * dloss/dinput` from one fused Rust call.

import { AnvilError } from '../errors';
import { native } from '../native';
import { ModelBuffer } from '../store/store';
import { Module } from './module';
import { shapeNumel, type Tensor, Workspace } from './tensor';

export type Reduction = 'mean' | 'sum';

export interface LossResult {
  loss: number;
  /** `scale * lossWeight * dloss/dinput`, shaped as the input (a reused buffer). */
  grad: Tensor;
}

function checkReduction(r: unknown, who: string): Reduction {
  if (r !== 'mean' && r !== 'sum') throw new AnvilError(`${who}: reduction must be 'mean' or 'sum' ('none' has no scalar to train on), got ${JSON.stringify(r)}`);
  return r;
}

/** A class-index target as the Int32Array the kernel reads (a view when it already is 32-bit). */
function asInt32(t: Int32Array | Uint32Array | ArrayLike<number>): Int32Array {
  if (t instanceof Int32Array) return t;
  if (t instanceof Uint32Array) return new Int32Array(t.buffer, t.byteOffset, t.length);
  return Int32Array.from(t);
}

export interface CrossEntropyLossOptions {
  weight?: ArrayLike<number> | null;
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
  lossWeight?: number;
}

export class CrossEntropyLoss extends Module {
  readonly ignoreIndex: number;
  readonly reduction: Reduction;
  readonly labelSmoothing: number;
  readonly lossWeight: number;
  /** Class weights (torch registers them as the buffer `weight`). */
  readonly weight: ModelBuffer | null = null;
  private readonly grad = new Workspace();

  constructor(options: CrossEntropyLossOptions = {}) {
    super();
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.reduction = checkReduction(options.reduction ?? 'mean', 'CrossEntropyLoss');
    this.labelSmoothing = options.labelSmoothing ?? 0;
    this.lossWeight = options.lossWeight ?? 1;
    if (!Number.isInteger(this.ignoreIndex)) throw new AnvilError(`CrossEntropyLoss: ignore_index must be an integer, got ${this.ignoreIndex}`);
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing <= 1)) throw new AnvilError(`CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got ${this.labelSmoothing}`);
    if (options.weight != null) {
      const w = Float32Array.from(options.weight);
      this.weight = this.registerBuffer('weight', new ModelBuffer([w.length]));
      this.weight.data.set(w);
    }
  }

  override get typeName(): string {
    return 'CrossEntropyLoss';
  }

  override attrs(): Record<string, unknown> {
    return { ignore_index: this.ignoreIndex, reduction: this.reduction, label_smoothing: this.labelSmoothing };
  }

  /** logits [N, C] or [N, C, d1, ...]; `target` holds N * d1 * ... class indices. */
  forwardBackward(logits: Tensor, target: Int32Array | Uint32Array | ArrayLike<number>, scale = 1): LossResult {
    if (logits.shape.length < 2) throw new AnvilError(`CrossEntropyLoss: expected logits [N, C, ...], got [${logits.shape.join(', ')}]`);
    const [batch, classes] = logits.shape;
    const spatial = shapeNumel(logits.shape.slice(2));
    if (this.weight && this.weight.numel !== classes) throw new AnvilError(`CrossEntropyLoss: weight holds ${this.weight.numel} values for ${classes} classes`);
    const grad = this.grad.get(logits.data.length);
    const loss = native.crossEntropyLoss(
      { batch, classes, spatial, ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing, reduction: this.reduction },
      logits.data, asInt32(target), (this.weight?.data as Float32Array | undefined) ?? null, scale * this.lossWeight, grad,
    );
    return { loss: loss * this.lossWeight, grad: { data: grad, shape: logits.shape } };
  }
}

export interface MSELossOptions {
  reduction?: Reduction;
  lossWeight?: number;
}

export class MSELoss extends Module {
  readonly reduction: Reduction;
  readonly lossWeight: number;
  private readonly grad = new Workspace();

  constructor(options: MSELossOptions = {}) {
    super();
    this.reduction = checkReduction(options.reduction ?? 'mean', 'MSELoss');
    this.lossWeight = options.lossWeight ?? 1;
  }

  override get typeName(): string {
    return 'MSELoss';
  }

  forwardBackward(input: Tensor, target: Float32Array, scale = 1): LossResult {
    const grad = this.grad.get(input.data.length);
    const loss = native.mseLoss(input.data, target, this.reduction, scale * this.lossWeight, grad);
    return { loss: loss * this.lossWeight, grad: { data: grad, shape: input.shape } };
  }
}

export interface BCEWithLogitsLossOptions {
  weight?: ArrayLike<number> | null;
  posWeight?: ArrayLike<number> | null;
  reduction?: Reduction;
  lossWeight?: number;
}

export class BCEWithLogitsLoss extends Module {
  readonly reduction: Reduction;
  readonly lossWeight: number;
  readonly weight: ModelBuffer | null = null;
  readonly posWeight: ModelBuffer | null = null;
  private readonly grad = new Workspace();

  constructor(options: BCEWithLogitsLossOptions = {}) {
    super();
    this.reduction = checkReduction(options.reduction ?? 'mean', 'BCEWithLogitsLoss');
    this.lossWeight = options.lossWeight ?? 1;
    const buffer = (name: string, v: ArrayLike<number>) => {
      const b = this.registerBuffer(name, new ModelBuffer([v.length]));
      b.data.set(Float32Array.from(v));
      return b;
    };
    if (options.weight != null) this.weight = buffer('weight', options.weight);
    if (options.posWeight != null) this.posWeight = buffer('pos_weight', options.posWeight);
  }

  override get typeName(): string {
    return 'BCEWithLogitsLoss';
  }

  /** `weight` and `pos_weight` broadcast along the last dimension. */
  forwardBackward(input: Tensor, target: Float32Array, scale = 1): LossResult {
    const grad = this.grad.get(input.data.length);
    const loss = native.bceWithLogitsLoss(input.data, target, (this.weight?.data as Float32Array | undefined) ?? null,
      (this.posWeight?.data as Float32Array | undefined) ?? null, this.reduction, scale * this.lossWeight, grad);
    return { loss: loss * this.lossWeight, grad: { data: grad, shape: input.shape } };
  }
}
