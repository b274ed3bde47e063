// The native kernels' worker threads: large buckets are split across them (one per core by
// default, `ANVIL_NUM_THREADS` at start-up); results are bit-identical for any thread count.

import { AnvilError } from './errors';
import { native } from './native';

export function numThreads(): number {
  return native.numThreads();
}

/** Sets the thread count for the next steps; 0 means one per core. */
export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 0) throw new AnvilError(`setNumThreads: expected a non-negative integer, got ${threads}`);
  native.setNumThreads(threads);
}
