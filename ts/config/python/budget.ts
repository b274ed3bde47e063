// Bounds on the work one config load may do: a shared step budget (statements, loop turns,
// built items) and a largest sequence, so no input can hang the loader or exhaust memory.

import { pyError } from '../errors';

/** Largest sequence or string a config may build; real configs stay far below. */
export const MAX_SEQUENCE = 1_000_000;
/** Steps one top-level load may take, nested loads (Config.fromfile in a config) included. */
const MAX_WORK = 10_000_000;

let left = Infinity;

/** Runs `fn` with a fresh budget, or within the current one when a load is already running. */
export function withBudget<T>(fn: () => T): T {
  if (left !== Infinity) return fn();
  left = MAX_WORK;
  try {
    return fn();
  } finally {
    left = Infinity;
  }
}

/** Spends `n` steps of the budget. */
export function charge(n: number): void {
  left -= n;
  if (left < 0) pyError('RuntimeError', `config evaluation did not finish within ${MAX_WORK} steps (an endless loop?)`);
}

/** Checks the size of a sequence about to be built and charges for building it. */
export function checkLength(n: number): void {
  if (n > MAX_SEQUENCE) pyError('MemoryError', `a sequence of ${n} items is too large for a config`);
  charge(n);
}
