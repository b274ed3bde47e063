// Evaluation across ranks, as MMEngine's `collect_results`: each rank evaluates its shard of the
// dataset (the distributed sampler pads it to equal shards), the per-sample outputs of all ranks
// are gathered (serialized with v8's structured clone, so typed arrays survive), put back in
// dataset order by interleaving the ranks, cut to the dataset's size (dropping the padding), and
// the metrics compute on the whole set, identically on every rank.

import * as v8 from 'node:v8';

import { Evaluator, type Metric } from '../evaluation/metric';
import type { Collective } from './collective';

/** MMEngine's ordering: rank r's i-th sample is sample i * world + r; padding past `size` dropped. */
export function collectResults<T>(parts: readonly (readonly T[])[], size: number): T[] {
  const ordered: T[] = [];
  const longest = Math.max(0, ...parts.map((p) => p.length));
  for (let i = 0; i < longest && ordered.length < size; i++) {
    for (const part of parts) {
      if (i < part.length && ordered.length < size) ordered.push(part[i]);
    }
  }
  return ordered;
}

/**
 * Wraps an evaluator for a distributed run: `process` keeps this rank's outputs, `evaluate`
 * gathers every rank's and hands them to the metrics in dataset order (with a null batch:
 * metrics read the outputs, which carry their ground truth).
 */
export class DistEvaluator extends Evaluator {
  private outputs: unknown[] = [];

  constructor(
    readonly inner: Evaluator,
    private readonly group: Collective,
  ) {
    super(inner.metrics as Metric[]);
  }

  override process(_batch: unknown, outputs: readonly unknown[]): void {
    this.outputs.push(...outputs);
  }

  override evaluate(size: number): Record<string, number> {
    const mine = this.outputs;
    this.outputs = [];
    const parts = this.group.allGatherBytes(new Uint8Array(v8.serialize(mine))).map((b) => v8.deserialize(b) as unknown[]);
    this.inner.process(null, collectResults(parts, size));
    return this.inner.evaluate(size);
  }
}
