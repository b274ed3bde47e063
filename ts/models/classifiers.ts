// Classifiers built from layers: `Sequential` (torch.nn.Sequential's naming plus a loss) and
// `ImageClassifier` (MMPretrain's backbone -> neck -> LinearClsHead), on ImageBatch or row batches.

import { AnvilError } from '../errors';
import { imageShape, type ClassificationBatch, type ClassificationOutput } from '../data/batch';
import { buildLayers } from '../nn';
import type { ChildLayer } from '../nn/container';
import { Sequential as SequentialLayer } from '../nn/container';
import { CrossEntropyLoss } from '../nn/loss';
import type { Tensor } from '../nn/tensor';
import { LAYERS } from '../registry';
import { BaseModel } from './base-model';
import { GlobalAveragePooling, LinearClsHead, type LinearClsHeadOptions } from './heads';

type Cfg = Record<string, unknown>;

/** The batch as a tensor: NCHW when it carries a shape, else `inputShape` per sample, else rows. */
export function batchTensor(batch: ClassificationBatch, inputShape?: readonly number[] | null): Tensor {
  const shape = imageShape(batch);
  if (shape) return { data: batch.inputs, shape };
  if (inputShape) {
    const per = inputShape.reduce((a, b) => a * b, 1);
    if (per !== batch.features) throw new AnvilError(`input_shape [${inputShape.join(', ')}] holds ${per} values, batch rows hold ${batch.features}`);
    return { data: batch.inputs, shape: [batch.size, ...inputShape] };
  }
  return { data: batch.inputs, shape: [batch.size, batch.features] };
}

/** Argmax of each row of logits [N, C]. */
export function predictLabels(logits: Tensor, labels: Uint32Array): ClassificationOutput[] {
  const [n, c] = logits.shape;
  if (logits.shape.length !== 2) throw new AnvilError(`classifier: expected logits [N, classes], got [${logits.shape.join(', ')}]`);
  const z = logits.data;
  const out: ClassificationOutput[] = new Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (z[r * c + k] > z[r * c + best]) best = k;
    out[r] = { predLabel: best, gtLabel: labels[r] };
  }
  return out;
}

function layer(v: unknown, where: string): ChildLayer {
  if (Array.isArray(v)) return new SequentialLayer(buildLayers(v, where));
  if (v && typeof v === 'object' && typeof (v as ChildLayer).forward === 'function') return v as ChildLayer;
  const built = LAYERS.build(v, where) as unknown as ChildLayer;
  if (typeof built.forward !== 'function') throw new AnvilError(`${where}: ${built.typeName} is not a layer`);
  return built;
}

export interface SequentialModelOptions {
  /** Layer instances, or config dicts built through LAYERS. */
  layers: Array<ChildLayer | Cfg>;
  /** Defaults to CrossEntropyLoss(). */
  loss?: CrossEntropyLoss | Cfg;
  /** Per-sample shape for batches that carry plain rows (e.g. [1, 28, 28]). */
  inputShape?: number[] | null;
}

/**
 * `model = dict(type='Sequential', layers=[...], loss=dict(type='CrossEntropyLoss'))`: describes
 * itself as torch.nn.Sequential (parameters '0.weight', ...); the loss is kept off the module tree
 * as in a torch training script.
 */
export class SequentialModel extends BaseModel<ClassificationBatch, ClassificationOutput> {
  readonly body: SequentialLayer;
  readonly loss: CrossEntropyLoss;
  readonly inputShape: number[] | null;

  constructor(options: SequentialModelOptions) {
    super();
    const layers = (options.layers ?? []).map((l, i) => layer(l, `layers[${i}]`));
    if (!layers.length) throw new AnvilError('Sequential: layers must hold at least one layer');
    this.body = new SequentialLayer(layers);
    layers.forEach((l, i) => this.addModule(String(i), l));
    const loss = options.loss ?? { type: 'CrossEntropyLoss' };
    this.loss = loss instanceof CrossEntropyLoss ? loss : (LAYERS.build(loss, 'loss') as CrossEntropyLoss);
    if (!(this.loss instanceof CrossEntropyLoss)) throw new AnvilError('Sequential: loss must be a CrossEntropyLoss');
    this.inputShape = options.inputShape ?? null;
  }

  override get typeName(): string {
    return 'Sequential';
  }

  forwardBackward(batch: ClassificationBatch, gradScale: number): Record<string, number> {
    const logits = this.body.forward(batchTensor(batch, this.inputShape));
    const { loss, grad } = this.loss.forwardBackward(logits, batch.labels, gradScale);
    this.body.backward(grad, false);
    return { loss };
  }

  predict(batch: ClassificationBatch): ClassificationOutput[] {
    return this.withEval(() => predictLabels(this.body.forward(batchTensor(batch, this.inputShape)), batch.labels));
  }

  /** Runs `fn` in eval mode (BN running statistics, no dropout), restoring the mode after. */
  protected withEval<T>(fn: () => T): T {
    const was = this.training;
    this.eval();
    try {
      return fn();
    } finally {
      this.train(was);
    }
  }
}

export interface ImageClassifierOptions {
  /** A layer, a list of layer dicts (a Sequential), or one layer dict (e.g. type='Sequential'). */
  backbone: ChildLayer | Cfg | Cfg[];
  /** Optional, e.g. dict(type='GlobalAveragePooling') or dict(type='Flatten'). */
  neck?: ChildLayer | Cfg | null;
  head: LinearClsHead | (Cfg & { type?: string });
  /** Per-sample shape for batches that carry plain rows. */
  inputShape?: number[] | null;
}

/** MMPretrain's ImageClassifier: backbone -> neck -> LinearClsHead (children named so). */
export class ImageClassifier extends BaseModel<ClassificationBatch, ClassificationOutput> {
  readonly backbone: ChildLayer;
  readonly neck: ChildLayer | null;
  readonly head: LinearClsHead;
  readonly inputShape: number[] | null;

  constructor(options: ImageClassifierOptions) {
    super();
    this.backbone = this.addModule('backbone', layer(options.backbone, 'backbone'));
    this.neck = options.neck ? this.addModule('neck', layer(options.neck, 'neck')) : null;
    this.head = this.addModule('head', options.head instanceof LinearClsHead ? options.head : buildHead(options.head));
    this.inputShape = options.inputShape ?? null;
  }

  override get typeName(): string {
    return 'ImageClassifier';
  }

  private features(batch: ClassificationBatch): Tensor {
    const f = this.backbone.forward(batchTensor(batch, this.inputShape));
    return this.neck ? this.neck.forward(f) : f;
  }

  forwardBackward(batch: ClassificationBatch, gradScale: number): Record<string, number> {
    const logits = this.head.forward(this.features(batch));
    const { loss, grad } = this.head.loss(logits, batch.labels, gradScale);
    let g = this.head.backward(grad, true);
    if (g && this.neck) g = this.neck.backward(g, true);
    if (g) this.backbone.backward(g, false);
    return { loss };
  }

  predict(batch: ClassificationBatch): ClassificationOutput[] {
    const was = this.training;
    this.eval();
    try {
      return predictLabels(this.head.forward(this.features(batch)), batch.labels);
    } finally {
      this.train(was);
    }
  }
}

function buildHead(cfg: Cfg & { type?: string }): LinearClsHead {
  const { type, num_classes, in_channels, loss, ...rest } = cfg;
  if (type !== 'LinearClsHead') throw new AnvilError(`head.type: only 'LinearClsHead' is available, got ${JSON.stringify(type)}`);
  const extra = Object.keys(rest);
  if (extra.length) throw new AnvilError(`head.${extra[0]}: unexpected argument for LinearClsHead (accepted: num_classes, in_channels, loss)`);
  return new LinearClsHead({ numClasses: num_classes, inChannels: in_channels, loss } as LinearClsHeadOptions);
}

export { GlobalAveragePooling };
