// Schedulers that anneal towards a floor: CosineAnnealing (eta_min or eta_min_ratio), CosineRestart
// (warm restarts with per-period weights) and Poly, in closed form and as MMEngine's updates.

import { AnvilError } from '../../errors';
import { BaseParamScheduler, INF, type MomentumOption, type ParamSchedulerOptions, type Schedule } from './param-scheduler';

type Options = ParamSchedulerOptions & MomentumOption;

/** The floor: `etaMin`, or `base * etaMinRatio`; exactly one of them (both absent: eta_min 0). */
function floorOf(who: string, etaMin: number | null | undefined, ratio: number | null | undefined, defaultZero: boolean): (base: number) => number {
  const hasMin = etaMin !== undefined && etaMin !== null;
  const hasRatio = ratio !== undefined && ratio !== null;
  if (!hasMin && !hasRatio && defaultZero) return () => 0;
  if (hasMin === hasRatio) throw new AnvilError(`${who}: Either \`eta_min\` or \`eta_min_ratio\` should be specified (exactly one of them)`);
  return hasMin ? () => etaMin : (base) => base * ratio!;
}

export interface CosineAnnealingOptions extends Options {
  /** Half-period in steps; default `end - begin`. */
  TMax?: number | null;
  etaMin?: number | null;
  etaMinRatio?: number | null;
}

/**
 * Cosine from the value at `begin` down to the floor over `TMax` steps. Past `TMax` the cosine
 * continues with amplitude `base - floor` (MMEngine restarts its recursion from the base value at
 * each trough), so the closed form switches amplitude there.
 */
export class CosineAnnealingParamScheduler extends BaseParamScheduler {
  readonly TMax: number;

  constructor(options: CosineAnnealingOptions) {
    const who = new.target.name;
    const floor = floorOf(who, options.etaMin, options.etaMinRatio, true);
    const T = options.TMax || (options.end ?? INF) - (options.begin ?? 0);
    if (!Number.isFinite(T) || T <= 0) throw new AnvilError(`${who}: T_max must be a positive number, got ${JSON.stringify(options.TMax)}`);
    const shape = (k: number) => (1 + Math.cos((Math.PI * k) / T)) / 2;
    const schedule: Schedule = {
      value: (k, start, base) => floor(base) + ((k <= T ? start : base) - floor(base)) * shape(k),
      next: (k, cur, base) => {
        const e = floor(base);
        if (k === 0) return cur;
        if ((k - 1 - T) % (2 * T) === 0) return cur + ((base - e) * (1 - Math.cos(Math.PI / T))) / 2;
        return ((1 + Math.cos((Math.PI * k) / T)) / (1 + Math.cos((Math.PI * (k - 1)) / T))) * (cur - e) + e;
      },
    };
    super(options, schedule);
    this.TMax = T;
  }
}

export interface CosineRestartOptions extends Options {
  periods: number[];
  restartWeights?: number[];
  etaMin?: number | null;
  etaMinRatio?: number | null;
}

/** Cosine annealing restarted at the start of each period from `base * restartWeights[i]`; holds after the last period. */
export class CosineRestartParamScheduler extends BaseParamScheduler {
  readonly periods: readonly number[];
  readonly restartWeights: readonly number[];
  readonly cumulativePeriods: readonly number[];

  constructor(options: CosineRestartOptions) {
    const who = new.target.name;
    const floor = floorOf(who, options.etaMin, options.etaMinRatio, false);
    const periods = options.periods;
    const weights = options.restartWeights ?? [1];
    if (!Array.isArray(periods) || !periods.every((p) => typeof p === 'number' && p > 0)) {
      throw new AnvilError(`${who}: periods must be a list of positive numbers, got ${JSON.stringify(periods)}`);
    }
    if (!Array.isArray(weights) || weights.length !== periods.length) {
      throw new AnvilError(`${who}: periods and restart_weights should have the same length (${periods.length} and ${JSON.stringify(weights)})`);
    }
    const cumulative = periods.map((_, i) => periods.slice(0, i + 1).reduce((a, b) => a + b, 0));
    /** The period holding local step k: [index, its first step], or null past the last one. */
    const position = (k: number): [number, number] | null => {
      const i = cumulative.findIndex((c) => k < c);
      return i === -1 ? null : [i, i === 0 ? 0 : cumulative[i - 1]];
    };
    const inPeriod = (k: number, base: number): number => {
      const [i, restart] = position(k)!;
      const e = floor(base);
      return e + (base * weights[i] - e) * ((1 + Math.cos((Math.PI * (k - restart)) / periods[i])) / 2);
    };
    const schedule: Schedule = {
      value: (k, start, base) => {
        if (position(k)) return inPeriod(k, base);
        return cumulative.length ? inPeriod(cumulative[cumulative.length - 1] - 1, base) : start;
      },
      next: (k, cur, base) => {
        const at = position(k);
        if (!at) return cur;
        const [i, restart] = at;
        const s = k - restart;
        const e = floor(base);
        if (s === 0) return base * weights[i];
        return ((1 + Math.cos((Math.PI * s) / periods[i])) / (1 + Math.cos((Math.PI * (s - 1)) / periods[i]))) * (cur - e) + e;
      },
    };
    super(options, schedule);
    this.periods = [...periods];
    this.restartWeights = [...weights];
    this.cumulativePeriods = cumulative;
  }
}

export interface PolyOptions extends Options {
  etaMin?: number;
  power?: number;
}

/** Polynomial decay from the value at `begin` to `etaMin`, reached at `end - 1`. */
export class PolyParamScheduler extends BaseParamScheduler {
  readonly etaMin: number;
  readonly power: number;

  constructor(options: PolyOptions) {
    const etaMin = options.etaMin ?? 0;
    const power = options.power ?? 1;
    const T = (options.end ?? INF) - (options.begin ?? 0) - 1;
    const schedule: Schedule = {
      value: (k, start) => (T === 0 ? start : etaMin + (start - etaMin) * (1 - k / T) ** power),
      next: (k, cur) => (k === 0 ? cur : (cur - etaMin) * (1 - 1 / (T - k + 1)) ** power + etaMin),
    };
    super(options, schedule);
    this.etaMin = etaMin;
    this.power = power;
  }
}
