// Hook priorities: MMEngine's nine named levels and the rules for reading a priority from a
// config (a name or an int in [0, 100]).

import { AnvilError } from '../errors';

export const PRIORITY = {
  HIGHEST: 0,
  VERY_HIGH: 10,
  HIGH: 30,
  ABOVE_NORMAL: 40,
  NORMAL: 50,
  BELOW_NORMAL: 60,
  LOW: 70,
  VERY_LOW: 90,
  LOWEST: 100,
} as const;

export type PriorityName = keyof typeof PRIORITY;

/** A priority as an int; `where` names the config key for errors. */
export function getPriority(value: unknown, where = 'priority'): number {
  if (typeof value === 'number') {
    // a float is not an int to MMEngine (TypeError), an int out of range a ValueError
    if (!Number.isInteger(value)) throw new AnvilError(`${where}: priority must be an integer or Priority enum value, got ${value}`);
    if (value < 0 || value > 100) throw new AnvilError(`${where}: priority must be between 0 and 100, got ${value}`);
    return value;
  }
  if (typeof value === 'string') {
    const v = PRIORITY[value.toUpperCase() as PriorityName];
    if (v === undefined) throw new AnvilError(`${where}: unknown priority '${value}' (one of ${Object.keys(PRIORITY).join(', ')})`);
    return v;
  }
  throw new AnvilError(`${where}: priority must be an integer or a priority name, got ${JSON.stringify(value)}`);
}

/** The level's name for an int, or the int itself when it is not a named level. */
export function priorityName(value: number): string {
  const entry = Object.entries(PRIORITY).find(([, v]) => v === value);
  return entry ? entry[0] : String(value);
}
