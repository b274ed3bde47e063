// Losses as modules (torch.nn.CrossEntropyLoss, MSELoss, BCEWithLogitsLoss): `forwardBackward`
// returns the loss and `scale * lossWeight * dloss/dinput` from one fused Rust call;
// CrossEntropyLoss also runs as forward/backward (reduction 'none': one loss per position).

import { AnvilError } from '../errors';
import { native } from '../native';
import type { CrossEntropyShape } from '../../native/index';
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

/** torch's reductions for CrossEntropyLoss: 'none' keeps one loss per position (forward/backward). */
export type CrossEntropyReduction = Reduction | 'none';

/**
 * Class indices, N * d1 * ... of them (Int32Array, Uint32Array or numbers), or class probabilities
 * shaped as the logits [N, C, d1, ...] given as a Float32Array (torch's soft targets).
 */
export type CrossEntropyTarget = Int32Array | Uint32Array | Float32Array | ArrayLike<number>;

export interface CrossEntropyLossOptions {
  weight?: ArrayLike<number> | null;
  /** Skips class-index targets equal to it (torch: not applied to probability targets). */
  ignoreIndex?: number;
  reduction?: CrossEntropyReduction;
  labelSmoothing?: number;
  lossWeight?: number;
  /**
   * OpenMMLab's mean (MMSeg's and MMPretrain's CrossEntropyLoss): the sum of the per-position
   * losses (class weights applied) divided by the number of positions: all of them (false, MMSeg's
   * default, which MMSeg's decode heads use), or the non-ignored ones (true). Unset: torch's mean
   * (divided by the summed weights of the non-ignored positions).
   */
  avgNonIgnore?: boolean;
  /** MMSeg's / MMPretrain's class weights: `weight` with OpenMMLab's mean (avgNonIgnore false unless set). */
  classWeight?: ArrayLike<number> | null;
  /** MMSeg's `use_sigmoid`: only false (softmax cross-entropy); binary cross-entropy is BCEWithLogitsLoss. */
  useSigmoid?: boolean;
  /** MMSeg's `loss_name`: the key of this loss in a model's losses (default 'loss_ce'). */
  lossName?: string;
}

interface CrossEntropyCall {
  shape: CrossEntropyShape;
  logits: Tensor;
  targets: Int32Array | null;
  probs: Float32Array | null;
}

export class CrossEntropyLoss extends Module {
  readonly ignoreIndex: number;
  readonly reduction: CrossEntropyReduction;
  readonly labelSmoothing: number;
  readonly lossWeight: number;
  /** OpenMMLab's mean over all positions (false) or the non-ignored ones (true); null: torch's mean. */
  readonly avgNonIgnore: boolean | null;
  readonly lossName: string;
  /** Class weights (torch registers them as the buffer `weight`). */
  readonly weight: ModelBuffer | null = null;
  private readonly grad = new Workspace();
  private readonly losses = new Workspace();
  private saved: CrossEntropyCall | null = null;

  constructor(options: CrossEntropyLossOptions = {}) {
    super();
    this.ignoreIndex = options.ignoreIndex ?? -100;
    const reduction = options.reduction ?? 'mean';
    if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
      throw new AnvilError(`CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
    }
    this.reduction = reduction;
    this.labelSmoothing = options.labelSmoothing ?? 0;
    this.lossWeight = options.lossWeight ?? 1;
    if (!Number.isInteger(this.ignoreIndex)) throw new AnvilError(`CrossEntropyLoss: ignore_index must be an integer, got ${this.ignoreIndex}`);
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing <= 1)) throw new AnvilError(`CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got ${this.labelSmoothing}`);
    if (options.useSigmoid) throw new AnvilError('CrossEntropyLoss: use_sigmoid=True (binary cross-entropy) is not supported; use BCEWithLogitsLoss');
    if (options.weight != null && options.classWeight != null) throw new AnvilError('CrossEntropyLoss: give weight (torch) or class_weight (OpenMMLab), not both');
    if (options.avgNonIgnore !== undefined && typeof options.avgNonIgnore !== 'boolean') {
      throw new AnvilError(`CrossEntropyLoss: avg_non_ignore must be True or False, got ${JSON.stringify(options.avgNonIgnore)}`);
    }
    this.avgNonIgnore = options.avgNonIgnore ?? (options.classWeight != null ? false : null);
    this.lossName = options.lossName ?? 'loss_ce';
    if (typeof this.lossName !== 'string' || !this.lossName.startsWith('loss')) {
      throw new AnvilError(`CrossEntropyLoss: loss_name must be a string starting with 'loss' (a model's losses are the keys containing 'loss'), got ${JSON.stringify(options.lossName)}`);
    }
    const weights = options.weight ?? options.classWeight;
    if (weights != null) {
      if (typeof weights === 'string') throw new AnvilError(`CrossEntropyLoss: class weights must be a list of numbers (a weights file is not read), got ${JSON.stringify(weights)}`);
      const w = Float32Array.from(weights);
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

  private weightData(): Float32Array | null {
    return (this.weight?.data as Float32Array | undefined) ?? null;
  }

  /**
   * The kernel's reduction and what divides its result: OpenMMLab's mean is the kernel's sum over
   * the positions' count (with avg_non_ignore, over the non-ignored ones plus float32's epsilon, as
   * MMSeg's `weight_reduce_loss` divides by `avg_factor + eps`).
   */
  private reduced(c: CrossEntropyCall): { reduction: Reduction; divisor: number } {
    if (this.reduction !== 'mean' || this.avgNonIgnore === null) return { reduction: this.reduction as Reduction, divisor: 1 };
    const positions = c.shape.batch * c.shape.spatial;
    if (!this.avgNonIgnore) return { reduction: 'sum', divisor: positions };
    let kept = positions;
    if (c.targets) for (let i = 0; i < c.targets.length; i++) if (c.targets[i] === this.ignoreIndex) kept--;
    return { reduction: 'sum', divisor: kept + 2 ** -23 };
  }

  /** Checks the shapes and tells class indices from probabilities. */
  private prepare(logits: Tensor, target: CrossEntropyTarget): CrossEntropyCall {
    if (logits.shape.length < 2) throw new AnvilError(`CrossEntropyLoss: expected logits [N, C, ...], got [${logits.shape.join(', ')}]`);
    const [batch, classes] = logits.shape;
    const spatial = shapeNumel(logits.shape.slice(2));
    if (this.weight && this.weight.numel !== classes) throw new AnvilError(`CrossEntropyLoss: weight holds ${this.weight.numel} values for ${classes} classes`);
    const shape = { batch, classes, spatial, ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing };
    if (target instanceof Float32Array) {
      if (target.length !== logits.data.length) {
        throw new AnvilError(`CrossEntropyLoss: probability targets (a Float32Array) must be shaped as the logits [${logits.shape.join(', ')}], `
          + `got ${target.length} values; class indices go in an Int32Array, Uint32Array or number array`);
      }
      return { shape, logits, targets: null, probs: target };
    }
    const targets = asInt32(target);
    if (targets.length !== batch * spatial) {
      throw new AnvilError(`CrossEntropyLoss: expected ${batch * spatial} class-index targets for logits [${logits.shape.join(', ')}], got ${targets.length}`);
    }
    return { shape, logits, targets, probs: null };
  }

  /**
   * Reduced loss ('mean' or 'sum') and `scale * lossWeight * dloss/dlogits` in one fused call.
   * logits [N, C] or [N, C, d1, ...]; see CrossEntropyTarget for the two kinds of target.
   */
  forwardBackward(logits: Tensor, target: CrossEntropyTarget, scale = 1): LossResult {
    if (this.reduction === 'none') {
      throw new AnvilError("CrossEntropyLoss: reduction 'none' gives one loss per position; call forward(logits, target), then backward(dLoss)");
    }
    const c = this.prepare(logits, target);
    const grad = this.grad.get(logits.data.length);
    const { reduction, divisor } = this.reduced(c);
    const loss = native.crossEntropyLoss(c.shape, reduction, logits.data, c.targets, c.probs, this.weightData(), (scale * this.lossWeight) / divisor, grad);
    return { loss: (loss / divisor) * this.lossWeight, grad: { data: grad, shape: logits.shape } };
  }

  /**
   * torch's `loss(logits, target)`: with reduction 'none' the losses [N, d1, ...] (zero where the
   * target is ignored), else the reduced loss as a tensor of shape []; times `lossWeight`.
   * Keeps its inputs for `backward` (which reads them, so leave them unchanged until then).
   */
  forward(logits: Tensor, target: CrossEntropyTarget): Tensor {
    const c = this.prepare(logits, target);
    this.saved = c;
    if (this.reduction !== 'none') {
      const grad = this.grad.get(logits.data.length);
      const { reduction, divisor } = this.reduced(c);
      const loss = native.crossEntropyLoss(c.shape, reduction, logits.data, c.targets, c.probs, this.weightData(), 0, grad);
      return { data: Float32Array.of((loss / divisor) * this.lossWeight), shape: [] };
    }
    const losses = this.losses.get(c.shape.batch * c.shape.spatial);
    native.crossEntropyLossNone(c.shape, logits.data, c.targets, c.probs, this.weightData(), losses);
    if (this.lossWeight !== 1) for (let i = 0; i < losses.length; i++) losses[i] *= this.lossWeight;
    return { data: losses, shape: [logits.shape[0], ...logits.shape.slice(2)] };
  }

  /** dLoss/dlogits of the last `forward`, given the upstream gradient of its output (same shape). */
  backward(dLoss: Tensor): Tensor {
    const c = this.saved;
    if (c === null) throw new AnvilError('CrossEntropyLoss: backward called before forward');
    const grad = this.grad.get(c.logits.data.length);
    const want = this.reduction === 'none' ? c.shape.batch * c.shape.spatial : 1;
    if (dLoss.data.length !== want) throw new AnvilError(`CrossEntropyLoss: backward expected ${want} upstream gradient values (the forward output's shape), got ${dLoss.data.length}`);
    if (this.reduction !== 'none') {
      const { reduction, divisor } = this.reduced(c);
      native.crossEntropyLoss(c.shape, reduction, c.logits.data, c.targets, c.probs, this.weightData(), (dLoss.data[0] * this.lossWeight) / divisor, grad);
    } else {
      let upstream = dLoss.data;
      if (this.lossWeight !== 1) upstream = upstream.map((v) => v * this.lossWeight);
      native.crossEntropyLossNoneBackward(c.shape, c.logits.data, c.targets, c.probs, this.weightData(), upstream, grad);
    }
    return { data: grad, shape: c.logits.shape };
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
