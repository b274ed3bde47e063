// torch.optim's constructor checks with torch's wording ("Invalid learning rate: -1"), shared by
// the optimizer classes; each throws an AnvilError naming the optimizer.

import { AnvilError } from '../errors';
import { num, pair, type ParamGroup } from './optimizer';

/** `key` must be >= 0: torch's `if not 0.0 <= value: raise ValueError(f"Invalid {what}: {value}")`. */
export function nonNegative(g: ParamGroup, key: string, what: string, type: string): number {
  const v = num(g, key, type);
  if (!(v >= 0)) throw new AnvilError(`${type}: Invalid ${what}: ${v}`);
  return v;
}

/** Adam-style `betas`, each in [0, 1). */
export function betas(g: ParamGroup, type: string): [number, number] {
  const b = pair(g, 'betas', type);
  b.forEach((beta, i) => {
    if (!(beta >= 0 && beta < 1)) throw new AnvilError(`${type}: Invalid beta parameter at index ${i}: ${beta}`);
  });
  return b;
}

/** The checks torch's Adam family shares: lr, eps, betas, weight_decay. */
export function adamChecks(g: ParamGroup, type: string): void {
  nonNegative(g, 'lr', 'learning rate', type);
  nonNegative(g, 'eps', 'epsilon value', type);
  betas(g, type);
  nonNegative(g, 'weight_decay', 'weight_decay value', type);
}
