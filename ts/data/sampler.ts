// Samplers: the order in which a dataloader visits a dataset. DefaultSampler (MMEngine's)
// shuffles with `seed + epoch`, so every epoch differs yet a run is reproducible and resumable,
// and in a distributed run each rank takes its shard of that order (`shardIndices`).

import { getDistInfo } from '../dist/context';
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
  /** How many indices `indices(length)` returns (this rank's shard; `length` when absent). */
  numSamples?(length: number): number;
}

export interface ShardOptions {
  /** Pad by repeating the order to a multiple of the world size (torch's drop_last=False; MMEngine's round_up). Default true. */
  roundUp?: boolean;
  /** Drop the tail that does not fill a multiple of the world size (torch's drop_last=True); wins over roundUp. */
  dropLast?: boolean;
}

/** The shard size of rank `rank` (torch's DistributedSampler `num_samples`; MMEngine's without round_up). */
export function shardSize(length: number, rank: number, worldSize: number, options: ShardOptions = {}): number {
  if (options.dropLast && length % worldSize !== 0) return Math.ceil((length - worldSize) / worldSize);
  if (options.dropLast || (options.roundUp ?? true)) return Math.ceil(length / worldSize);
  return Math.max(0, Math.ceil((length - rank) / worldSize));
}

/**
 * Rank `rank`'s share of an epoch's order, as torch's DistributedSampler takes it: the order
 * padded by repeating it from the start to a multiple of the world size (or cut, with dropLast),
 * then every `worldSize`-th index from position `rank`. The shards are disjoint and together
 * cover the order (plus the padding).
 */
export function shardIndices(order: readonly number[], rank: number, worldSize: number, options: ShardOptions = {}): number[] {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new AnvilError(`sampler: world size must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new AnvilError(`sampler: rank must be an integer in [0, ${worldSize}), got ${rank}`);
  const per = shardSize(order.length, rank, worldSize, options);
  const pad = options.dropLast || (options.roundUp ?? true);
  const total = pad ? per * worldSize : order.length;
  const out: number[] = [];
  if (order.length === 0) return out;
  for (let i = rank; i < total; i += worldSize) out.push(order[i % order.length]);
  return out;
}

export interface DefaultSamplerOptions {
  shuffle?: boolean;
  seed?: number;
  /** Distributed runs: pad every rank's shard to the same size by repeating indices. Default true. */
  roundUp?: boolean;
  /** This process's rank and the world size (default: the process group's, as MMEngine's get_dist_info). */
  rank?: number;
  worldSize?: number;
}

export class DefaultSampler implements Sampler {
  readonly shuffle: boolean;
  /** The shuffle seed (a resumed run takes the checkpoint's). */
  seed: number;
  readonly roundUp: boolean;
  readonly rank: number;
  readonly worldSize: number;
  private epoch = 0;
  /** Added to the loop's epoch numbers after a resume (see `resumeAt`). */
  private shift = 0;

  constructor(options: DefaultSamplerOptions = {}) {
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.roundUp = options.roundUp ?? true;
    if (typeof this.roundUp !== 'boolean') throw new AnvilError(`DefaultSampler: round_up must be True or False, got ${JSON.stringify(options.roundUp)}`);
    const dist = getDistInfo();
    this.rank = options.rank ?? dist.rank;
    this.worldSize = options.worldSize ?? dist.worldSize;
    shardIndices([], this.rank, this.worldSize);
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

  /** The epoch's order (shuffled with `seed + epoch`), and in a distributed run this rank's shard of it. */
  indices(length: number): number[] {
    const order = Array.from({ length }, (_, i) => i);
    const shuffled = this.shuffle ? new Rng(this.seed + this.currentEpoch).shuffle(order) : order;
    return this.worldSize === 1 ? shuffled : shardIndices(shuffled, this.rank, this.worldSize, { roundUp: this.roundUp });
  }

  numSamples(length: number): number {
    return this.worldSize === 1 ? length : shardSize(length, this.rank, this.worldSize, { roundUp: this.roundUp });
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
