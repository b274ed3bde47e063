// DataLoader: batches of a dataset in the sampler's order, one epoch per iteration.

import { AnvilError } from '../errors';
import type { Dataset } from './dataset';
import type { Sampler } from './sampler';

export interface DataLoaderOptions<Batch> {
  dataset: Dataset<Batch>;
  batchSize: number;
  sampler: Sampler;
  dropLast?: boolean;
}

export class DataLoader<Batch = unknown> implements Iterable<Batch> {
  readonly dataset: Dataset<Batch>;
  readonly batchSize: number;
  readonly sampler: Sampler;
  readonly dropLast: boolean;

  constructor(options: DataLoaderOptions<Batch>) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new AnvilError(`dataloader: batch_size must be a positive integer, got ${JSON.stringify(options.batchSize)}`);
    }
    this.dataset = options.dataset;
    this.batchSize = options.batchSize;
    this.sampler = options.sampler;
    this.dropLast = options.dropLast ?? false;
  }

  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const order = this.sampler.indices(this.dataset.length);
    for (let b = 0; b < this.length; b++) {
      yield this.dataset.getBatch(order.slice(b * this.batchSize, (b + 1) * this.batchSize));
    }
  }
}
