// LayerNorm and GroupNorm (torch.nn.LayerNorm / GroupNorm): statistics per row (the trailing
// normalized_shape) or per (sample, group of channels), elementwise affine; math in Rust.

import { AnvilError } from '../errors';
import { native } from '../native';
import type { NormShape } from '../../native/index';
import { Parameter } from '../store/parameter';
import { Layer, shapeNumel, type Tensor, Workspace } from './tensor';

/** Saved statistics and buffers shared by both layers. */
abstract class RowNorm extends Layer {
  readonly weight: Parameter | null = null;
  readonly bias: Parameter | null = null;
  private input: Tensor | null = null;
  private norm: NormShape | null = null;
  private readonly output = new Workspace();
  private readonly inputGrad = new Workspace();
  private readonly mean = new Workspace();
  private readonly rstd = new Workspace();
  protected abstract readonly grouped: boolean;

  protected initAffine(shape: number[], weight: boolean, bias: boolean): void {
    const n = shapeNumel(shape);
    if (weight) (this as { weight: Parameter | null }).weight = this.registerParameter('weight', new Parameter(shape, { data: new Float32Array(n).fill(1) }));
    if (bias) (this as { bias: Parameter | null }).bias = this.registerParameter('bias', new Parameter(shape));
  }

  /** The native shape for `x` and the number of saved statistics. */
  protected abstract plan(x: Tensor): { shape: NormShape; stats: number };

  forward(x: Tensor): Tensor {
    const { shape, stats } = this.plan(x);
    const y = this.output.get(x.data.length);
    native.normForward(shape, this.grouped, x.data, this.weight?.data ?? null, this.bias?.data ?? null, y, this.mean.get(stats), this.rstd.get(stats));
    this.input = x;
    this.norm = shape;
    return { data: y, shape: x.shape };
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.saved(this.input);
    const shape = this.saved(this.norm);
    const stats = this.grouped ? shape.batch * (shape.groups ?? 1) : shape.batch;
    const dx = needInputGrad ? this.inputGrad.get(x.data.length) : null;
    native.normBackward(shape, this.grouped, x.data, dy.data, this.weight?.data ?? null, this.mean.get(stats), this.rstd.get(stats),
      this.weight?.accumulateGrad() ?? null, this.bias?.accumulateGrad() ?? null, dx);
    this.weight?.gradReady();
    this.bias?.gradReady();
    return dx && { data: dx, shape: x.shape };
  }
}

export interface LayerNormOptions {
  normalizedShape: number | number[];
  eps?: number;
  elementwiseAffine?: boolean;
  /** torch >= 2.1: whether the affine part has a bias. */
  bias?: boolean;
}

export class LayerNorm extends RowNorm {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  protected readonly grouped = false;

  constructor(options: LayerNormOptions) {
    super();
    const ns = typeof options.normalizedShape === 'number' ? [options.normalizedShape] : [...options.normalizedShape];
    if (!ns.length || !ns.every((d) => Number.isInteger(d) && d > 0)) {
      throw new AnvilError(`LayerNorm: normalized_shape must hold positive integers, got ${JSON.stringify(options.normalizedShape)}`);
    }
    this.normalizedShape = ns;
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.initAffine(ns, this.elementwiseAffine, this.elementwiseAffine && options.bias !== false);
  }

  override get typeName(): string {
    return 'LayerNorm';
  }

  override attrs(): Record<string, unknown> {
    return { normalized_shape: [...this.normalizedShape], eps: this.eps, elementwise_affine: this.elementwiseAffine };
  }

  protected plan(x: Tensor): { shape: NormShape; stats: number } {
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.shape.length - k);
    if (x.shape.length < k || tail.some((d, i) => d !== this.normalizedShape[i])) {
      throw new AnvilError(`LayerNorm: input shape [${x.shape.join(', ')}] does not end in normalized_shape [${this.normalizedShape.join(', ')}]`);
    }
    const features = shapeNumel(this.normalizedShape);
    const rows = x.data.length / features;
    return { shape: { batch: rows, channels: features, spatial: 1, eps: this.eps }, stats: rows };
  }
}

export interface GroupNormOptions {
  numGroups: number;
  numChannels: number;
  eps?: number;
  affine?: boolean;
}

export class GroupNorm extends RowNorm {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  protected readonly grouped = true;

  constructor(options: GroupNormOptions) {
    super();
    const { numGroups, numChannels } = options;
    if (!(Number.isInteger(numGroups) && numGroups > 0 && Number.isInteger(numChannels) && numChannels > 0)) {
      throw new AnvilError(`GroupNorm: num_groups and num_channels must be positive integers, got ${numGroups} and ${numChannels}`);
    }
    if (numChannels % numGroups !== 0) throw new AnvilError('GroupNorm: num_channels must be divisible by num_groups');
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    this.initAffine([numChannels], this.affine, this.affine);
  }

  override get typeName(): string {
    return 'GroupNorm';
  }

  override attrs(): Record<string, unknown> {
    return { num_groups: this.numGroups, num_channels: this.numChannels, eps: this.eps, affine: this.affine };
  }

  protected plan(x: Tensor): { shape: NormShape; stats: number } {
    if (x.shape.length < 2 || x.shape[1] !== this.numChannels) {
      throw new AnvilError(`GroupNorm: expected input [N, ${this.numChannels}, ...], got [${x.shape.join(', ')}]`);
    }
    const [n, c] = x.shape;
    const spatial = shapeNumel(x.shape.slice(2));
    return { shape: { batch: n, channels: c, spatial, groups: this.numGroups, eps: this.eps }, stats: n * this.numGroups };
  }
}
