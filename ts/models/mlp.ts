// MLPClassifier: Linear -> ReLU -> ... -> Linear with softmax cross-entropy, forward and
// backward in Rust. The demo model and a reference for writing models against the contract.

import { AnvilError } from '../errors';
import type { ClassificationBatch, ClassificationOutput } from '../data/batch';
import { native } from '../native';
import { Linear } from '../nn/linear';
import { Sequential } from '../nn/container';
import { ReLU } from '../nn/relu';
import { BaseModel } from './base-model';

export interface MLPClassifierOptions {
  inFeatures: number;
  hiddenSizes?: number[];
  numClasses: number;
}

export class MLPClassifier extends BaseModel<ClassificationBatch, ClassificationOutput> {
  readonly numClasses: number;
  readonly inFeatures: number;
  private readonly layers: Array<Linear | ReLU>;
  private dlogits = new Float32Array(0);

  constructor(options: MLPClassifierOptions) {
    super();
    const { inFeatures, numClasses, hiddenSizes = [256] } = options;
    if (!Number.isInteger(inFeatures) || inFeatures <= 0) throw new AnvilError(`MLPClassifier: in_features must be a positive integer, got ${inFeatures}`);
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new AnvilError(`MLPClassifier: num_classes must be an integer >= 2, got ${numClasses}`);
    this.inFeatures = inFeatures;
    this.numClasses = numClasses;
    const sizes = [inFeatures, ...hiddenSizes, numClasses];
    this.layers = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      this.layers.push(new Linear({ inFeatures: sizes[i], outFeatures: sizes[i + 1] }));
      if (i + 2 < sizes.length) this.layers.push(new ReLU());
    }
    this.addModule('layers', new Sequential(this.layers));
  }

  private logits(batch: ClassificationBatch): Float32Array {
    if (batch.features !== this.inFeatures) {
      throw new AnvilError(`MLPClassifier: batch rows hold ${batch.features} features, the model expects ${this.inFeatures}`);
    }
    let h = batch.inputs;
    for (const layer of this.layers) h = layer instanceof Linear ? layer.forward(h, batch.size) : layer.forward(h);
    return h;
  }

  forwardBackward(batch: ClassificationBatch, gradScale: number): Record<string, number> {
    const logits = this.logits(batch);
    const bad = batch.labels.find((l) => l >= this.numClasses);
    if (bad !== undefined) throw new AnvilError(`MLPClassifier: label ${bad} is out of range for num_classes=${this.numClasses}`);
    if (this.dlogits.length !== logits.length) this.dlogits = new Float32Array(logits.length);
    const loss = native.softmaxCrossEntropy(logits, batch.labels, this.numClasses, gradScale, this.dlogits);
    let grad: Float32Array | null = this.dlogits;
    for (let i = this.layers.length - 1; i >= 0 && grad; i--) {
      const layer = this.layers[i];
      grad = layer instanceof Linear ? layer.backward(grad, batch.size, i > 0) : layer.backward(grad);
    }
    return { loss };
  }

  predict(batch: ClassificationBatch): ClassificationOutput[] {
    const logits = this.logits(batch);
    const out: ClassificationOutput[] = new Array(batch.size);
    const c = this.numClasses;
    for (let r = 0; r < batch.size; r++) {
      let best = 0;
      for (let k = 1; k < c; k++) if (logits[r * c + k] > logits[r * c + best]) best = k;
      out[r] = { predLabel: best, gtLabel: batch.labels[r] };
    }
    return out;
  }
}
