// Accuracy: the fraction of samples whose predicted label equals the ground truth.

import { AnvilError } from '../errors';
import type { ClassificationOutput } from '../data/batch';
import type { Metric } from './metric';

export class Accuracy implements Metric {
  private correct = 0;
  private total = 0;

  process(_batch: unknown, outputs: readonly unknown[]): void {
    for (const o of outputs as ClassificationOutput[]) {
      if (typeof o?.predLabel !== 'number' || typeof o?.gtLabel !== 'number') {
        throw new AnvilError('Accuracy: model outputs must carry numeric predLabel and gtLabel');
      }
      this.total += 1;
      if (o.predLabel === o.gtLabel) this.correct += 1;
    }
  }

  evaluate(_size: number): Record<string, number> {
    const accuracy = this.total === 0 ? 0 : this.correct / this.total;
    this.correct = 0;
    this.total = 0;
    return { accuracy };
  }
}
