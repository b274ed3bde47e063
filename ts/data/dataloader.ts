// DataLoader: batches of a dataset in the sampler's order, one epoch per iteration, with its
// position (epoch, batches consumed) saved in checkpoints and resumed without replaying batches.

import { AnvilError } from '../errors';
import type { Dataset } from './dataset';
import type { Sampler } from './sampler';

export interface DataLoaderOptions<Batch> {
  dataset: Dataset<Batch>;
  batchSize: number;
  sampler: Sampler;
  dropLast?: boolean;
}

/** Where a dataloader is: the sampler epoch of the current pass and the batches it has yielded. */
export interface DataLoaderStateDict {
  epoch: number;
  consumed: number;
  sampler?: Record<string, unknown>;
}

export class DataLoader<Batch = unknown> implements Iterable<Batch> {
  readonly dataset: Dataset<Batch>;
  readonly batchSize: number;
  readonly sampler: Sampler;
  readonly dropLast: boolean;
  private position = { epoch: 0, consumed: 0 };
  /** Set by `loadStateDict`: the next pass starts at this epoch, this many batches in. */
  private pending: { epoch: number; skip: number } | null = null;

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
    // A distributed sampler hands this rank only its shard.
    const n = (this.sampler.numSamples?.(this.dataset.length) ?? this.dataset.length) / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /**
   * The index of the first batch the next pass yields: after a resume, the batches the epoch had
   * already consumed, else 0. Epoch-based loops number the pass's batches from it.
   */
  get nextPassStart(): number {
    return this.pending?.skip ?? 0;
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const resume = this.pending;
    this.pending = null;
    if (resume) this.sampler.resumeAt?.(resume.epoch);
    const order = this.sampler.indices(this.dataset.length);
    const epoch = this.sampler.currentEpoch ?? 0;
    // Skipped batches are never built: their indices are just passed over.
    for (let b = resume?.skip ?? 0; b < this.length; b++) {
      this.position = { epoch, consumed: b + 1 };
      yield this.dataset.getBatch(order.slice(b * this.batchSize, (b + 1) * this.batchSize));
    }
  }

  /**
   * The position after the last batch handed out (a finished pass counts as the start of the
   * next epoch) and the sampler's state.
   */
  stateDict(): DataLoaderStateDict {
    const { epoch, consumed } = this.position;
    const done = consumed >= this.length;
    return { epoch: done ? epoch + 1 : epoch, consumed: done ? 0 : consumed, sampler: this.sampler.stateDict?.() };
  }

  /**
   * Resumes at a saved position: the next pass is the saved epoch, starting after its consumed
   * batches. Needs a sampler that can resume (`resumeAt`, as DefaultSampler) unless the
   * position is the very start.
   */
  loadStateDict(state: DataLoaderStateDict): void {
    const { epoch, consumed, sampler } = state ?? ({} as DataLoaderStateDict);
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(consumed) || consumed < 0) {
      throw new AnvilError(`DataLoader.loadStateDict: expected non-negative integers epoch and consumed, got ${JSON.stringify({ epoch, consumed })}`);
    }
    if (consumed > 0 && consumed >= this.length) {
      throw new AnvilError(`DataLoader.loadStateDict: ${consumed} batches of the epoch were consumed, but an epoch has only ${this.length} (batch size or dataset changed?)`);
    }
    if (!this.sampler.resumeAt && (epoch !== 0 || consumed !== 0)) {
      throw new AnvilError('DataLoader.loadStateDict: this sampler cannot resume at an epoch (it has no resumeAt)');
    }
    if (sampler && this.sampler.loadStateDict) this.sampler.loadStateDict(sampler);
    this.pending = { epoch, skip: consumed };
    this.position = { epoch, consumed };
  }
}
