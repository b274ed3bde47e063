// Samplers: the order in which a dataloader visits a dataset. DefaultSampler (MMEngine's)
// shuffles with `seed + epoch`, so every epoch differs yet a run is reproducible and resumable.

import { AnvilError } from '../errors';
import { Rng } from '../util/rng';

export interface Sampler {
  /** Indices for the current epoch. */
  indices(length: number): number[];
  setEpoch(epoch: number): void;
  /** The epoch whose order `indices` gives now (for checkpoints). */
  readonly currentEpoch?: number;
  /**
   * Resuming: the pass that starts next is epoch `epoch`, and later passes follow on from it,
   * whatever epoch numbers the loop counts with (an iteration-based loop restarts from 0).
   */
  resumeAt?(epoch: number): void;
  stateDict?(): Record<string, unknown>;
  loadStateDict?(state: Record<string, unknown>): void;
}

export interface DefaultSamplerOptions {
  shuffle?: boolean;
  seed?: number;
  roundUp?: boolean;
}

export class DefaultSampler implements Sampler {
  readonly shuffle: boolean;
  /** The shuffle seed (a resumed run takes the checkpoint's). */
  seed: number;
  private epoch = 0;
  /** Added to the loop's epoch numbers after a resume (see `resumeAt`). */
  private shift = 0;

  constructor(options: DefaultSamplerOptions = {}) {
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
  }

  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  get currentEpoch(): number {
    return this.epoch + this.shift;
  }

  resumeAt(epoch: number): void {
    this.shift = epoch - this.epoch;
  }

  indices(length: number): number[] {
    const order = Array.from({ length }, (_, i) => i);
    return this.shuffle ? new Rng(this.seed + this.currentEpoch).shuffle(order) : order;
  }

  /** `{seed, epoch, shuffle}`: what the order of the current epoch depends on. */
  stateDict(): Record<string, unknown> {
    return { seed: this.seed, epoch: this.currentEpoch, shuffle: this.shuffle };
  }

  /** Takes the saved seed (the order must not change on resume); the epoch comes from `resumeAt`. */
  loadStateDict(state: Record<string, unknown>): void {
    if (!Number.isInteger(state?.seed)) throw new AnvilError(`DefaultSampler.loadStateDict: 'seed' must be an integer, got ${JSON.stringify(state?.seed)}`);
    if (state.shuffle !== undefined && state.shuffle !== this.shuffle) {
      throw new AnvilError(`DefaultSampler.loadStateDict: the checkpoint's sampler had shuffle=${String(state.shuffle)}, this one shuffle=${String(this.shuffle)}; the data order would not resume`);
    }
    this.seed = state.seed as number;
  }
}
