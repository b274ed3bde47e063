// MMEngine's `BaseModel.parse_losses`: sums every entry whose key contains 'loss' into the
// total loss and returns all entries (lists summed) as log variables.

import { AnvilError } from '../errors';

export type LossValue = number | readonly number[];

export interface ParsedLosses {
  loss: number;
  logVars: Record<string, number>;
}

export function parseLosses(losses: Record<string, LossValue>): ParsedLosses {
  const logVars: Record<string, number> = {};
  for (const [name, value] of Object.entries(losses)) {
    if (typeof value === 'number') logVars[name] = value;
    else if (Array.isArray(value)) logVars[name] = value.reduce((a: number, b: number) => a + b, 0);
    else throw new AnvilError(`parse_losses: ${name} is not a number or a list of numbers`);
  }
  const loss = Object.entries(logVars)
    .filter(([name]) => name.includes('loss'))
    .reduce((a, [, v]) => a + v, 0);
  return { loss, logVars: { loss, ...logVars } };
}
