// Schedulers that scale the value they find: Linear (warmup), Constant, Step, MultiStep and
// Exponential, each a closed form `start * factor(k)` and MMEngine's per-step multiplier.

import { AnvilError } from '../../errors';
import { BaseParamScheduler, INF, type MomentumOption, type ParamSchedulerOptions, type Schedule } from './param-scheduler';

type Options = ParamSchedulerOptions & MomentumOption;

/** Local steps in the window minus one: MMEngine's `total_iters = end - begin - 1`. */
function totalIters(o: ParamSchedulerOptions): number {
  return (o.end ?? INF) - (o.begin ?? 0) - 1;
}

function factorIn01(value: number, what: string, who: string): number {
  if (typeof value !== 'number' || value > 1 || value < 0) throw new AnvilError(`${who}: ${what} multiplicative factor should between 0 and 1, got ${value}`);
  return value;
}

export interface LinearOptions extends Options {
  startFactor?: number;
  endFactor?: number;
}

/** Scales linearly from `startFactor` at `begin` to `endFactor` at `end - 1`, then holds. */
export class LinearParamScheduler extends BaseParamScheduler {
  readonly startFactor: number;
  readonly endFactor: number;

  constructor(options: LinearOptions) {
    const who = new.target.name;
    const sf = factorIn01(options.startFactor ?? 1 / 3, 'Starting', who);
    const ef = factorIn01(options.endFactor ?? 1, 'Ending', who);
    const T = totalIters(options);
    if (sf === 0 && T > 0) {
      throw new AnvilError(`${who}: start_factor=0 makes MMEngine's update divide by zero at the second step; use a small positive factor such as 1e-6`);
    }
    const schedule: Schedule = {
      value: (k, start) => start * (T === 0 ? sf : sf + ((ef - sf) * k) / T),
      next: (k, cur) => (k === 0 ? cur * sf : cur * (1 + (ef - sf) / (T * sf + (k - 1) * (ef - sf)))),
    };
    super(options, schedule);
    this.startFactor = sf;
    this.endFactor = ef;
  }
}

export interface ConstantOptions extends Options {
  factor?: number;
}

/**
 * Scales by `factor` from `begin` and restores the value at `end - 1` (MMEngine restores one
 * step before `end`, unlike torch's ConstantLR).
 */
export class ConstantParamScheduler extends BaseParamScheduler {
  readonly factor: number;

  constructor(options: ConstantOptions) {
    const who = new.target.name;
    const factor = factorIn01(options.factor ?? 1 / 3, 'Constant', who);
    const T = totalIters(options);
    const schedule: Schedule = {
      value: (k, start) => (k === 0 || k < T ? start * factor : start),
      next: (k, cur) => {
        if (k === 0) return cur * factor;
        if (k !== T) return cur;
        if (factor === 0) throw new AnvilError(`${who}: factor=0 cannot be undone at step ${T} (MMEngine divides by the factor there)`);
        return cur * (1 / factor);
      },
    };
    super(options, schedule);
    this.factor = factor;
  }
}

export interface StepOptions extends Options {
  stepSize: number;
  gamma?: number;
}

/** Multiplies by `gamma` every `stepSize` steps. */
export class StepParamScheduler extends BaseParamScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(options: StepOptions) {
    const who = new.target.name;
    const s = options.stepSize;
    if (!Number.isInteger(s) || s < 1) throw new AnvilError(`${who}: step_size must be a positive integer, got ${JSON.stringify(s)}`);
    const gamma = options.gamma ?? 0.1;
    const schedule: Schedule = {
      value: (k, start) => start * gamma ** Math.floor(k / s),
      next: (k, cur) => (k === 0 || k % s !== 0 ? cur : cur * gamma),
    };
    super(options, schedule);
    this.stepSize = s;
    this.gamma = gamma;
  }
}

export interface MultiStepOptions extends Options {
  milestones: number[];
  gamma?: number;
}

/** Multiplies by `gamma` at each milestone (local steps; a repeated milestone counts twice). */
export class MultiStepParamScheduler extends BaseParamScheduler {
  readonly milestones: ReadonlyMap<number, number>;
  readonly gamma: number;

  constructor(options: MultiStepOptions) {
    const who = new.target.name;
    if (!Array.isArray(options.milestones) || !options.milestones.every((m) => Number.isInteger(m))) {
      throw new AnvilError(`${who}: milestones must be a list of integers, got ${JSON.stringify(options.milestones)}`);
    }
    const counts = new Map<number, number>();
    for (const m of options.milestones) counts.set(m, (counts.get(m) ?? 0) + 1);
    const gamma = options.gamma ?? 0.1;
    const schedule: Schedule = {
      value: (k, start) => {
        let passed = 0;
        for (const [m, n] of counts) if (m <= k) passed += n;
        return start * gamma ** passed;
      },
      next: (k, cur) => (counts.has(k) ? cur * gamma ** counts.get(k)! : cur),
    };
    super(options, schedule);
    this.milestones = counts;
    this.gamma = gamma;
  }
}

export interface ExponentialOptions extends Options {
  gamma: number;
}

/** Multiplies by `gamma` every step after the first. */
export class ExponentialParamScheduler extends BaseParamScheduler {
  readonly gamma: number;

  constructor(options: ExponentialOptions) {
    const who = new.target.name;
    const gamma = options.gamma;
    if (typeof gamma !== 'number') throw new AnvilError(`${who}: gamma is required (a number), got ${JSON.stringify(gamma)}`);
    const schedule: Schedule = {
      value: (k, start) => start * gamma ** k,
      next: (k, cur) => (k === 0 ? cur : cur * gamma),
    };
    super(options, schedule);
    this.gamma = gamma;
  }
}
