// The process-wide seeded generator (MMEngine's `set_random_seed`): the runner seeds it from
// `randomness.seed` before building the model, so initialisations are reproducible.

import { Rng } from './rng';

let current = new Rng(0);

export function setRandomSeed(seed: number): void {
  current = new Rng(seed);
}

export function globalRng(): Rng {
  return current;
}
