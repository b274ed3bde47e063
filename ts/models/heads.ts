// MMPretrain / MMSeg building blocks named as there (GlobalAveragePooling neck, LinearClsHead,
// FCNHead), so paramwise_cfg keys match; heads own their loss and return the feature gradient.

import { AnvilError } from '../errors';
import { Linear } from '../nn/linear';
import { Conv2d } from '../nn/conv';
import { ConvModule } from '../nn/conv-module';
import { Sequential, type ChildLayer } from '../nn/container';
import { Dropout } from '../nn/dropout';
import { CrossEntropyLoss, type LossResult } from '../nn/loss';
import { normal_ } from '../nn/init';
import { Module } from '../nn/module';
import { AdaptiveAvgPool2d } from '../nn/pooling';
import { Layer, shapeNumel, type Tensor } from '../nn/tensor';
import { Upsample } from '../nn/upsample';
import { LAYERS } from '../registry';
import { globalRng } from '../util/random';

type Cfg = Record<string, unknown>;

/** A loss given as an instance or a config dict (built through LAYERS). */
function buildLoss(loss: CrossEntropyLoss | Cfg | undefined, where: string, extra: Cfg = {}): CrossEntropyLoss {
  if (loss instanceof CrossEntropyLoss) return loss;
  const built = LAYERS.build(loss ?? { type: 'CrossEntropyLoss' }, where, extra);
  if (!(built instanceof CrossEntropyLoss)) throw new AnvilError(`${where}: only CrossEntropyLoss is supported here, got ${built.typeName}`);
  return built;
}

/** MMPretrain's GlobalAveragePooling neck: [N, C, H, W] -> [N, C]. */
export class GlobalAveragePooling extends Layer {
  readonly gap = this.addModule('gap', new AdaptiveAvgPool2d({ outputSize: [1, 1] }));

  override get typeName(): string {
    return 'GlobalAveragePooling';
  }

  forward(x: Tensor): Tensor {
    const y = this.gap.forward(x);
    return { data: y.data, shape: [x.shape[0], x.shape[1]] };
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    return this.gap.backward({ data: dy.data, shape: [dy.shape[0], dy.shape[1], 1, 1] }, needInputGrad);
  }
}

export interface LinearClsHeadOptions {
  numClasses: number;
  inChannels: number;
  loss?: CrossEntropyLoss | Cfg;
}

/** MMPretrain's LinearClsHead: `fc` on the (flattened) features, softmax cross-entropy. */
export class LinearClsHead extends Module {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly lossModule: CrossEntropyLoss;
  readonly fc: Linear;
  private featShape: readonly number[] | null = null;

  constructor(options: LinearClsHeadOptions) {
    super();
    this.numClasses = options.numClasses;
    this.inChannels = options.inChannels;
    this.lossModule = this.addModule('loss_module', buildLoss(options.loss, 'head.loss'));
    this.fc = this.addModule('fc', new Linear({ inFeatures: options.inChannels, outFeatures: options.numClasses }));
  }

  override get typeName(): string {
    return 'LinearClsHead';
  }

  /** Logits [N, numClasses] from features [N, ...] holding inChannels values per sample. */
  forward(feats: Tensor): Tensor {
    const n = feats.shape[0];
    if (shapeNumel(feats.shape) !== n * this.inChannels) {
      throw new AnvilError(`LinearClsHead: features [${feats.shape.join(', ')}] do not hold in_channels=${this.inChannels} values per sample`);
    }
    this.featShape = feats.shape;
    return this.fc.forward({ data: feats.data, shape: [n, this.inChannels] });
  }

  loss(logits: Tensor, labels: Uint32Array, scale: number): LossResult {
    return this.lossModule.forwardBackward(logits, labels, scale);
  }

  /** Gradient of the features (shaped as they came) from the logits' gradient. */
  backward(dlogits: Tensor, needInputGrad: boolean): Tensor | null {
    const g = this.fc.backward(dlogits, needInputGrad);
    return g && { data: g.data, shape: this.featShape ?? g.shape };
  }
}

export interface FCNHeadOptions {
  inChannels: number;
  channels: number;
  numClasses: number;
  numConvs?: number;
  kernelSize?: number;
  dilation?: number;
  concatInput?: boolean;
  dropoutRatio?: number;
  normCfg?: Cfg | null;
  actCfg?: Cfg | null;
  alignCorners?: boolean;
  /** Label value the loss skips. Default 255; it overrides the loss's own (MMSeg passes the head's to the loss). */
  ignoreIndex?: number;
  lossDecode?: CrossEntropyLoss | Cfg;
}

/**
 * MMSeg's FCNHead: `convs` (ConvModules), dropout, `conv_seg` (1x1 to classes); the loss resizes
 * the logits to the label size (bilinear) before cross-entropy with ignore_index, as MMSeg does.
 */
export class FCNHead extends Module {
  readonly numClasses: number;
  readonly alignCorners: boolean;
  readonly lossDecode: CrossEntropyLoss;
  readonly convSeg: Conv2d;
  readonly dropout: Dropout | null;
  readonly convs: Sequential;
  private readonly resize: Upsample;
  private order: ChildLayer[];

  constructor(o: FCNHeadOptions) {
    super();
    if (o.concatInput) throw new AnvilError('FCNHead: concat_input=True is not supported');
    const numConvs = o.numConvs ?? 2;
    const k = o.kernelSize ?? 3;
    const dilation = o.dilation ?? 1;
    this.numClasses = o.numClasses;
    this.alignCorners = o.alignCorners ?? false;
    // MMSeg's CrossEntropyLoss averages over every pixel, ignored ones included (avg_non_ignore=False).
    const given = o.lossDecode ?? { type: 'CrossEntropyLoss' };
    const lossCfg = !(given instanceof CrossEntropyLoss) && given.type === 'CrossEntropyLoss' ? { avg_non_ignore: false, ...given } : given;
    this.lossDecode = this.addModule('loss_decode', buildLoss(lossCfg, 'decode_head.loss_decode', { ignore_index: o.ignoreIndex ?? 255 }));
    this.convSeg = this.addModule('conv_seg', new Conv2d({ inChannels: numConvs > 0 ? o.channels : o.inChannels, outChannels: o.numClasses, kernelSize: 1 }));
    // MMSeg's BaseDecodeHead.init_weights: conv_seg ~ N(0, 0.01), bias 0.
    normal_(this.convSeg.weight, 0, 0.01, globalRng());
    this.convSeg.bias!.data.fill(0);
    const ratio = o.dropoutRatio ?? 0.1;
    this.dropout = ratio > 0 ? this.addModule('dropout', new Dropout({ p: ratio })) : null;
    const convs: ChildLayer[] = [];
    for (let i = 0; i < numConvs; i++) {
      convs.push(new ConvModule({
        inChannels: i === 0 ? o.inChannels : o.channels, outChannels: o.channels, kernelSize: k,
        padding: Math.floor(k / 2) * dilation, dilation, normCfg: o.normCfg ?? null, actCfg: o.actCfg === undefined ? { type: 'ReLU' } : o.actCfg,
      }));
    }
    this.convs = this.addModule('convs', new Sequential(convs));
    this.resize = new Upsample({ size: 1, mode: 'bilinear', alignCorners: this.alignCorners });
    this.order = [this.convs, ...(this.dropout ? [this.dropout] : []), this.convSeg];
  }

  override get typeName(): string {
    return 'FCNHead';
  }

  /** Logits at the feature resolution. */
  forward(feats: Tensor): Tensor {
    let h = feats;
    for (const l of this.order) h = l.forward(h);
    return h;
  }

  /** Logits resized to [h, w] (MMSeg's `resize` before the loss and for prediction). */
  resized(logits: Tensor, size: [number, number]): Tensor {
    return logits.shape[2] === size[0] && logits.shape[3] === size[1] ? logits : this.resize.resizeTo(logits, size);
  }

  /** Loss against labels [N, H, W]; returns the loss and the gradient of the low-res logits. */
  loss(logits: Tensor, labels: Int32Array, size: [number, number], scale: number): LossResult {
    const up = this.resized(logits, size);
    const { loss, grad } = this.lossDecode.forwardBackward(up, labels, scale);
    const g = up === logits ? grad : this.resize.backward(grad, true)!;
    return { loss, grad: g };
  }

  backward(dlogits: Tensor, needInputGrad: boolean): Tensor | null {
    let g: Tensor | null = dlogits;
    for (let i = this.order.length - 1; i >= 0 && g; i--) g = this.order[i].backward(g, i > 0 || needInputGrad);
    return g;
  }
}
