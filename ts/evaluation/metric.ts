// Metrics and the Evaluator (MMEngine's): metrics see every batch's outputs, then compute
// their results once per evaluation; the evaluator merges them into one dict.

import { AnvilError } from '../errors';

export interface Metric {
  /** The evaluated dataset's metainfo (classes, palette, ...), for metrics that need it (MMEngine's `dataset_meta`). */
  datasetMeta?: Record<string, unknown> | null;
  process(batch: unknown, outputs: readonly unknown[]): void;
  /** Computes the results from what was processed, then forgets it. */
  evaluate(size: number): Record<string, number>;
}

export class Evaluator {
  private meta: Record<string, unknown> | null = null;

  constructor(readonly metrics: Metric[]) {}

  /** MMEngine's `Evaluator.dataset_meta`: setting it hands the metainfo to every metric. */
  get datasetMeta(): Record<string, unknown> | null {
    return this.meta;
  }

  set datasetMeta(meta: Record<string, unknown> | null) {
    this.meta = meta;
    for (const m of this.metrics) m.datasetMeta = meta;
  }

  process(batch: unknown, outputs: readonly unknown[]): void {
    for (const m of this.metrics) m.process(batch, outputs);
  }

  evaluate(size: number): Record<string, number> {
    const results: Record<string, number> = {};
    for (const m of this.metrics) {
      for (const [k, v] of Object.entries(m.evaluate(size))) {
        if (k in results) throw new AnvilError(`Evaluator: two metrics both report '${k}'`);
        results[k] = v;
      }
    }
    return results;
  }
}
