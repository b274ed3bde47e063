// Samplers: the order in which a dataloader visits a dataset. DefaultSampler (MMEngine's)
// shuffles with `seed + epoch`, so every epoch differs yet a run is reproducible.

import { Rng } from '../util/rng';

export interface Sampler {
  /** Indices for the current epoch. */
  indices(length: number): number[];
  setEpoch(epoch: number): void;
}

export interface DefaultSamplerOptions {
  shuffle?: boolean;
  seed?: number;
  roundUp?: boolean;
}

export class DefaultSampler implements Sampler {
  readonly shuffle: boolean;
  readonly seed: number;
  private epoch = 0;

  constructor(options: DefaultSamplerOptions = {}) {
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
  }

  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  indices(length: number): number[] {
    const order = Array.from({ length }, (_, i) => i);
    return this.shuffle ? new Rng(this.seed + this.epoch).shuffle(order) : order;
  }
}
