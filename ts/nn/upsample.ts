// Upsample (torch.nn.Upsample) on NCHW tensors in 'nearest' mode (torch's default: source index
// floor(dst * in/out), or dst / scale_factor when one was given) or 'bilinear' (align_corners
// False, torch's default, or True), to a fixed size or by a scale factor.

import { AnvilError } from '../errors';
import { native } from '../native';
import type { UpsampleShape } from '../../native/index';
import { Layer, type Tensor, Workspace } from './tensor';

export type UpsampleMode = 'nearest' | 'bilinear';

export interface UpsampleOptions {
  size?: number | [number, number] | null;
  scaleFactor?: number | [number, number] | null;
  /** 'nearest' (torch's default) or 'bilinear'. */
  mode?: UpsampleMode;
  /** Bilinear only (torch refuses it with 'nearest'); false when left out. */
  alignCorners?: boolean | null;
}

export class Upsample extends Layer {
  readonly size: [number, number] | null;
  readonly scaleFactor: [number, number] | null;
  readonly mode: UpsampleMode;
  readonly alignCorners: boolean;
  private input: Tensor | null = null;
  private plan: UpsampleShape | null = null;
  private readonly output = new Workspace();
  private readonly inputGrad = new Workspace();

  constructor(options: UpsampleOptions = {}) {
    super();
    const mode = options.mode ?? 'nearest';
    if (mode !== 'nearest' && mode !== 'bilinear') throw new AnvilError(`Upsample: mode '${mode}' is not supported (expected 'nearest' or 'bilinear')`);
    if (mode === 'nearest' && options.alignCorners != null) {
      throw new AnvilError("Upsample: align_corners can only be set with mode 'bilinear' (torch refuses it with 'nearest')");
    }
    const two = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
    this.size = options.size == null ? null : two(options.size);
    this.scaleFactor = options.scaleFactor == null ? null : two(options.scaleFactor);
    if ((this.size === null) === (this.scaleFactor === null)) throw new AnvilError('Upsample: give exactly one of size and scale_factor');
    if (this.size && !this.size.every((v) => Number.isInteger(v) && v > 0)) throw new AnvilError(`Upsample: size must hold positive integers, got ${JSON.stringify(options.size)}`);
    if (this.scaleFactor && !this.scaleFactor.every((v) => v > 0)) throw new AnvilError(`Upsample: scale_factor must be positive, got ${JSON.stringify(options.scaleFactor)}`);
    this.mode = mode;
    this.alignCorners = options.alignCorners ?? false;
  }

  override get typeName(): string {
    return 'Upsample';
  }

  override attrs(): Record<string, unknown> {
    return { size: this.size, scale_factor: this.scaleFactor, mode: this.mode, align_corners: this.mode === 'nearest' ? null : this.alignCorners };
  }

  forward(x: Tensor): Tensor {
    this.expectRank(x, 4);
    const [, , h, w] = x.shape;
    const size: [number, number] = this.size ?? [Math.floor(h * this.scaleFactor![0]), Math.floor(w * this.scaleFactor![1])];
    return this.resizeTo(x, size, this.size ? null : this.scaleFactor);
  }

  /** Resizes `x` to `size` in this layer's mode, passing the user's `scale` to the kernel when given. */
  resizeTo(x: Tensor, size: [number, number], scale: [number, number] | null = null): Tensor {
    this.expectRank(x, 4);
    const [n, c, h, w] = x.shape;
    const plan: UpsampleShape = {
      planes: n * c, inH: h, inW: w, outH: size[0], outW: size[1], mode: this.mode, alignCorners: this.alignCorners,
      scaleH: scale?.[0], scaleW: scale?.[1],
    };
    const y = this.output.get(n * c * size[0] * size[1]);
    native.upsampleForward(plan, x.data, y);
    this.input = x;
    this.plan = plan;
    return { data: y, shape: [n, c, size[0], size[1]] };
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.saved(this.input);
    if (!needInputGrad) return null;
    const dx = this.inputGrad.get(x.data.length);
    native.upsampleBackward(this.saved(this.plan), dy.data, dx);
    return { data: dx, shape: x.shape };
  }
}
