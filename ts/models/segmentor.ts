// EncoderDecoder (MMSeg's segmentor): backbone -> optional neck -> FCNHead, per-pixel
// cross-entropy at the label resolution, prediction by per-pixel argmax of the resized logits.

import { AnvilError } from '../errors';
import type { SegmentationBatch, SegmentationOutput } from '../data/batch';
import { buildLayers } from '../nn';
import { Sequential, type ChildLayer } from '../nn/container';
import type { Tensor } from '../nn/tensor';
import { LAYERS } from '../registry';
import { camelizeKeys } from '../util/names';
import { BaseModel } from './base-model';
import { FCNHead, type FCNHeadOptions } from './heads';

type Cfg = Record<string, unknown>;

export interface EncoderDecoderOptions {
  backbone: ChildLayer | Cfg | Cfg[];
  neck?: ChildLayer | Cfg | null;
  decodeHead: FCNHead | (Cfg & { type?: string });
}

function layer(v: unknown, where: string): ChildLayer {
  if (Array.isArray(v)) return new Sequential(buildLayers(v, where));
  if (v && typeof v === 'object' && typeof (v as ChildLayer).forward === 'function') return v as ChildLayer;
  return LAYERS.build(v, where) as unknown as ChildLayer;
}

const HEAD_KEYS = ['in_channels', 'channels', 'num_classes', 'num_convs', 'kernel_size', 'dilation', 'concat_input', 'dropout_ratio',
  'norm_cfg', 'act_cfg', 'align_corners', 'ignore_index', 'loss_decode'];

function buildHead(cfg: Cfg & { type?: string }): FCNHead {
  const { type, ...args } = cfg;
  if (type !== 'FCNHead') throw new AnvilError(`decode_head.type: only 'FCNHead' is available, got ${JSON.stringify(type)}`);
  const bad = Object.keys(args).find((k) => !HEAD_KEYS.includes(k));
  if (bad) throw new AnvilError(`decode_head.${bad}: unexpected argument for FCNHead (accepted: ${HEAD_KEYS.join(', ')})`);
  return new FCNHead(camelizeKeys(args) as unknown as FCNHeadOptions);
}

export class EncoderDecoder extends BaseModel<SegmentationBatch, SegmentationOutput> {
  readonly backbone: ChildLayer;
  readonly neck: ChildLayer | null;
  readonly decodeHead: FCNHead;

  constructor(options: EncoderDecoderOptions) {
    super();
    this.backbone = this.addModule('backbone', layer(options.backbone, 'backbone'));
    this.neck = options.neck ? this.addModule('neck', layer(options.neck, 'neck')) : null;
    const head = options.decodeHead;
    this.decodeHead = this.addModule('decode_head', head instanceof FCNHead ? head : buildHead(head));
  }

  override get typeName(): string {
    return 'EncoderDecoder';
  }

  private logits(batch: SegmentationBatch): Tensor {
    if (!Array.isArray(batch.shape) || batch.shape.length !== 4) throw new AnvilError('EncoderDecoder: batches must carry an NCHW shape');
    let f = this.backbone.forward({ data: batch.inputs, shape: batch.shape });
    if (this.neck) f = this.neck.forward(f);
    return this.decodeHead.forward(f);
  }

  forwardBackward(batch: SegmentationBatch, gradScale: number): Record<string, number> {
    const [n, , h, w] = batch.shape;
    if (batch.labels.length !== n * h * w) throw new AnvilError(`EncoderDecoder: labels hold ${batch.labels.length} values, the images ${n}x${h}x${w} pixels`);
    const logits = this.logits(batch);
    const { loss, grad } = this.decodeHead.loss(logits, batch.labels, [h, w], gradScale);
    let g = this.decodeHead.backward(grad, true);
    if (g && this.neck) g = this.neck.backward(g, true);
    if (g) this.backbone.backward(g, false);
    return { [this.decodeHead.lossDecode.lossName]: loss };
  }

  predict(batch: SegmentationBatch): SegmentationOutput[] {
    const was = this.training;
    this.eval();
    try {
      const [n, ch, h, w] = batch.shape;
      const up = this.decodeHead.resized(this.logits(batch), [h, w]);
      const k = up.shape[1];
      const hw = h * w;
      const out: SegmentationOutput[] = [];
      for (let i = 0; i < n; i++) {
        const pred = new Int32Array(hw);
        const base = i * k * hw;
        for (let p = 0; p < hw; p++) {
          let best = 0;
          for (let c = 1; c < k; c++) if (up.data[base + c * hw + p] > up.data[base + best * hw + p]) best = c;
          pred[p] = best;
        }
        // The image to draw the masks over: the raw pixels when the dataset kept them.
        const pixels = batch.rawInputs?.length === n * ch * hw ? batch.rawInputs : batch.inputs;
        const img = { data: pixels.subarray(i * ch * hw, (i + 1) * ch * hw), channels: ch, height: h, width: w };
        out.push({ predSeg: pred, gtSeg: batch.labels.subarray(i * hw, (i + 1) * hw), img });
      }
      return out;
    } finally {
      this.train(was);
    }
  }
}
