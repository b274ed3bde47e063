// Pooling on NCHW tensors (torch.nn.MaxPool2d, AvgPool2d, AdaptiveAvgPool2d) with torch's
// output-size rules (padding, dilation, ceil_mode, count_include_pad); math in Rust.

import { AnvilError } from '../errors';
import { native } from '../native';
import type { PoolShape } from '../../native/index';
import { IndexWorkspace, Layer, pair, type Tensor, Workspace } from './tensor';

type Pair = number | [number, number];

export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Defaults to kernel_size, as torch. */
  stride?: Pair | null;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
  returnIndices?: boolean;
}

/** Window parameters shared by MaxPool2d and AvgPool2d. */
abstract class Pool2d extends Layer {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;
  protected input: Tensor | null = null;
  protected pool: PoolShape | null = null;
  protected readonly output = new Workspace();
  protected readonly inputGrad = new Workspace();

  constructor(o: { kernelSize: Pair; stride?: Pair | null; padding?: Pair; dilation?: Pair; ceilMode?: boolean }, name: string) {
    super();
    this.kernelSize = pair(o.kernelSize, 1, `${name}: kernel_size`);
    this.stride = o.stride === undefined || o.stride === null ? this.kernelSize : pair(o.stride, 1, `${name}: stride`);
    this.padding = pair(o.padding, 0, `${name}: padding`);
    this.dilation = pair(o.dilation, 1, `${name}: dilation`);
    this.ceilMode = o.ceilMode ?? false;
  }

  /** The native shape for x [N, C, H, W] and the output shape. */
  protected plan(x: Tensor): { shape: PoolShape; out: number[] } {
    this.expectRank(x, 4);
    const [n, c, h, w] = x.shape;
    const shape: PoolShape = {
      planes: n * c, height: h, width: w,
      kernelH: this.kernelSize[0], kernelW: this.kernelSize[1],
      strideH: this.stride[0], strideW: this.stride[1],
      padH: this.padding[0], padW: this.padding[1],
      dilationH: this.dilation[0], dilationW: this.dilation[1],
      ceilMode: this.ceilMode,
    };
    const [oh, ow] = native.pool2dOutputSize(shape);
    return { shape, out: [n, c, oh, ow] };
  }
}

export class MaxPool2d extends Pool2d {
  private readonly argmax = new IndexWorkspace();

  constructor(options: MaxPool2dOptions) {
    super(options, 'MaxPool2d');
    if (options.returnIndices) throw new AnvilError('MaxPool2d: return_indices=True is not supported');
  }

  override get typeName(): string {
    return 'MaxPool2d';
  }

  override attrs(): Record<string, unknown> {
    return { kernel_size: [...this.kernelSize], stride: [...this.stride], padding: [...this.padding], dilation: [...this.dilation], ceil_mode: this.ceilMode };
  }

  forward(x: Tensor): Tensor {
    const { shape, out } = this.plan(x);
    const n = out[0] * out[1] * out[2] * out[3];
    const y = this.output.get(n);
    native.maxPool2dForward(shape, x.data, y, this.argmax.get(n));
    this.input = x;
    this.pool = shape;
    return { data: y, shape: out };
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.saved(this.input);
    if (!needInputGrad) return null;
    const dx = this.inputGrad.get(x.data.length);
    native.maxPool2dBackward(this.saved(this.pool), dy.data, this.argmax.get(dy.data.length), dx);
    return { data: dx, shape: x.shape };
  }
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  stride?: Pair | null;
  padding?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

export class AvgPool2d extends Pool2d {
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(options: AvgPool2dOptions) {
    super({ ...options, dilation: 1 }, 'AvgPool2d');
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride ?? null;
  }

  override get typeName(): string {
    return 'AvgPool2d';
  }

  override attrs(): Record<string, unknown> {
    return { kernel_size: [...this.kernelSize], stride: [...this.stride], padding: [...this.padding], ceil_mode: this.ceilMode, count_include_pad: this.countIncludePad };
  }

  forward(x: Tensor): Tensor {
    const { shape, out } = this.plan(x);
    const y = this.output.get(out[0] * out[1] * out[2] * out[3]);
    native.avgPool2dForward(shape, this.countIncludePad, this.divisorOverride, x.data, y);
    this.input = x;
    this.pool = shape;
    return { data: y, shape: out };
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.saved(this.input);
    if (!needInputGrad) return null;
    const dx = this.inputGrad.get(x.data.length);
    native.avgPool2dBackward(this.saved(this.pool), this.countIncludePad, this.divisorOverride, dy.data, dx);
    return { data: dx, shape: x.shape };
  }
}

export interface AdaptiveAvgPool2dOptions {
  /** An int, or [h, w] where null keeps the input's size. */
  outputSize: number | [number | null, number | null];
}

export class AdaptiveAvgPool2d extends Layer {
  readonly outputSize: number | [number | null, number | null];
  private input: Tensor | null = null;
  private out: [number, number] = [1, 1];
  private readonly output = new Workspace();
  private readonly inputGrad = new Workspace();

  constructor(options: AdaptiveAvgPool2dOptions) {
    super();
    const o = options.outputSize;
    const ok = (v: unknown) => v === null || (Number.isInteger(v) && (v as number) > 0);
    if (!(typeof o === 'number' ? ok(o) && o !== null : Array.isArray(o) && o.length === 2 && o.every(ok))) {
      throw new AnvilError(`AdaptiveAvgPool2d: output_size must be a positive integer or a pair of them (or None), got ${JSON.stringify(o)}`);
    }
    this.outputSize = typeof o === 'number' ? o : [o[0], o[1]];
  }

  override get typeName(): string {
    return 'AdaptiveAvgPool2d';
  }

  override attrs(): Record<string, unknown> {
    return { output_size: this.outputSize };
  }

  forward(x: Tensor): Tensor {
    this.expectRank(x, 4);
    const [n, c, h, w] = x.shape;
    const o = this.outputSize;
    this.out = typeof o === 'number' ? [o, o] : [o[0] ?? h, o[1] ?? w];
    const y = this.output.get(n * c * this.out[0] * this.out[1]);
    native.adaptiveAvgPool2dForward(n * c, h, w, this.out[0], this.out[1], x.data, y);
    this.input = x;
    return { data: y, shape: [n, c, ...this.out] };
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.saved(this.input);
    if (!needInputGrad) return null;
    const [n, c, h, w] = x.shape;
    const dx = this.inputGrad.get(x.data.length);
    native.adaptiveAvgPool2dBackward(n * c, h, w, this.out[0], this.out[1], dy.data, dx);
    return { data: dx, shape: x.shape };
  }
}
