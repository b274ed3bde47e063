// Conv2d (torch.nn.Conv2d) on NCHW tensors: stride, padding, dilation, groups (depthwise
// included), forward and backward in Rust (im2col + sgemm); torch's default initialisation.

import { AnvilError } from '../errors';
import { native } from '../native';
import type { Conv2dShape } from '../../native/index';
import { Parameter } from '../store/parameter';
import { globalRng } from '../util/random';
import type { Rng } from '../util/rng';
import { torchDefaultInit } from './init';
import { Layer, pair, type Tensor, Workspace } from './tensor';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number | [number, number];
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
  /** Only torch's default, 'zeros'. */
  paddingMode?: 'zeros';
  rng?: Rng;
}

export class Conv2d extends Layer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private input: Tensor | null = null;
  private shape: Conv2dShape | null = null;
  private readonly output = new Workspace();
  private readonly inputGrad = new Workspace();

  constructor(options: Conv2dOptions) {
    super();
    const { inChannels, outChannels, groups = 1 } = options;
    for (const [name, v] of [['in_channels', inChannels], ['out_channels', outChannels], ['groups', groups]] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new AnvilError(`Conv2d: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    if (inChannels % groups !== 0) throw new AnvilError('Conv2d: in_channels must be divisible by groups');
    if (outChannels % groups !== 0) throw new AnvilError('Conv2d: out_channels must be divisible by groups');
    if (options.paddingMode !== undefined && options.paddingMode !== 'zeros') {
      throw new AnvilError(`Conv2d: padding_mode '${String(options.paddingMode)}' is not supported (only 'zeros')`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.groups = groups;
    this.kernelSize = pair(options.kernelSize, 1, 'Conv2d: kernel_size');
    this.stride = pair(options.stride, 1, 'Conv2d: stride');
    this.padding = pair(options.padding, 0, 'Conv2d: padding');
    this.dilation = pair(options.dilation, 1, 'Conv2d: dilation');
    if ([...this.kernelSize, ...this.stride, ...this.dilation].some((v) => v === 0)) {
      throw new AnvilError('Conv2d: kernel_size, stride and dilation must be positive');
    }
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter('weight', new Parameter([outChannels, inChannels / groups, kh, kw]));
    this.bias = options.bias === false ? null : this.registerParameter('bias', new Parameter([outChannels]));
    // fan_in of torch's kaiming_uniform_(a=sqrt(5)): in_channels/groups * kernel area.
    torchDefaultInit(this.weight, this.bias, (inChannels / groups) * kh * kw, options.rng ?? globalRng());
  }

  override get typeName(): string {
    return 'Conv2d';
  }

  override attrs(): Record<string, unknown> {
    return {
      in_channels: this.inChannels,
      out_channels: this.outChannels,
      kernel_size: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      dilation: [...this.dilation],
      groups: this.groups,
    };
  }

  /** The native call's shape for input [N, C, H, W] and its output [N, outChannels, oh, ow]. */
  private plan(x: Tensor): { shape: Conv2dShape; out: number[] } {
    this.expectRank(x, 4);
    const [n, c, h, w] = x.shape;
    if (c !== this.inChannels) throw new AnvilError(`Conv2d: input has ${c} channels, in_channels is ${this.inChannels}`);
    const shape: Conv2dShape = {
      batch: n, inChannels: c, outChannels: this.outChannels, height: h, width: w,
      kernelH: this.kernelSize[0], kernelW: this.kernelSize[1],
      strideH: this.stride[0], strideW: this.stride[1],
      padH: this.padding[0], padW: this.padding[1],
      dilationH: this.dilation[0], dilationW: this.dilation[1],
      groups: this.groups,
    };
    const [oh, ow] = native.conv2dOutputSize(shape);
    return { shape, out: [n, this.outChannels, oh, ow] };
  }

  forward(x: Tensor): Tensor {
    const { shape, out } = this.plan(x);
    const y = this.output.get(out[0] * out[1] * out[2] * out[3]);
    native.conv2dForward(shape, x.data, this.weight.data, this.bias?.data ?? null, y);
    this.input = x;
    this.shape = shape;
    return { data: y, shape: out };
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.saved(this.input);
    const dx = needInputGrad ? this.inputGrad.get(x.data.length) : null;
    const db = this.bias ? this.bias.accumulateGrad() : null;
    native.conv2dBackward(this.saved(this.shape), x.data, this.weight.data, dy.data, this.weight.accumulateGrad(), db, dx);
    this.weight.gradReady();
    this.bias?.gradReady();
    return dx && { data: dx, shape: x.shape };
  }
}
