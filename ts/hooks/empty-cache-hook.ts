// EmptyCacheHook (MMEngine's, NORMAL): releases the cached memory of device backends before
// and/or after epochs and after iterations: with `device='cuda'` the free memory of the GPU's
// pool (torch's `cuda.empty_cache`). Host (CPU) memory has no such cache: there it does nothing.

import { AnvilError } from '../errors';
import { Hook } from './hook';

export interface EmptyCacheHookOptions {
  /** Release before each epoch (train, val, test). Default false. */
  beforeEpoch?: boolean;
  /** Release after each epoch. Default true. */
  afterEpoch?: boolean;
  /** Release after each iteration. Default false. */
  afterIter?: boolean;
}

/** Device backends with a memory cache register how to release it (torch's `cuda.empty_cache`). */
const caches = new Map<string, () => void>();

/** Registers (or with null, removes) a backend's cache release under its name, e.g. 'cuda'. */
export function registerDeviceCache(name: string, release: (() => void) | null): void {
  if (release) caches.set(name, release);
  else caches.delete(name);
}

/** Releases every registered backend's cached memory; none are registered on a CPU-only run. */
export function emptyDeviceCaches(): void {
  for (const release of caches.values()) release();
}

export class EmptyCacheHook extends Hook {
  readonly doBeforeEpoch: boolean;
  readonly doAfterEpoch: boolean;
  readonly doAfterIter: boolean;

  constructor(options: EmptyCacheHookOptions = {}) {
    super();
    const { beforeEpoch = false, afterEpoch = true, afterIter = false } = options;
    for (const [name, v] of Object.entries({ before_epoch: beforeEpoch, after_epoch: afterEpoch, after_iter: afterIter })) {
      if (typeof v !== 'boolean') throw new AnvilError(`EmptyCacheHook: ${name} must be true or false, got ${JSON.stringify(v)}`);
    }
    this.doBeforeEpoch = beforeEpoch;
    this.doAfterEpoch = afterEpoch;
    this.doAfterIter = afterIter;
  }

  protected override beforeEpoch(): void {
    if (this.doBeforeEpoch) emptyDeviceCaches();
  }

  protected override afterEpoch(): void {
    if (this.doAfterEpoch) emptyDeviceCaches();
  }

  protected override afterIter(): void {
    if (this.doAfterIter) emptyDeviceCaches();
  }
}
