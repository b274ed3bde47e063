// OneCycle (MMEngine's OneCycleParamScheduler, lr only): up from eta_max/div_factor to eta_max,
// then down to initial/final_div_factor (or three phases), cosine or linear; absolute in the step.

import { AnvilError } from '../../errors';
import type { ParamGroup } from '../optimizer';
import { BaseParamScheduler, INF, resolveTarget, type ParamSchedulerOptions, type Schedule } from './param-scheduler';

export interface OneCycleOptions extends ParamSchedulerOptions {
  /** Peak value, one for all groups or one per group. */
  etaMax?: number | number[];
  /** Steps of the cycle; default `end - begin`. */
  totalSteps?: number | null;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  start: string;
  end: string;
}

const annealCos = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
const annealLinear = (start: number, end: number, pct: number) => (end - start) * pct + start;

export class OneCycleParamScheduler extends BaseParamScheduler {
  readonly totalSteps: number;

  constructor(options: OneCycleOptions) {
    const who = new.target.name;
    const p = options.paramName;
    if (p !== 'lr') throw new AnvilError(`${who}: OneCycle only works for learning rate updating, but got param_name as ${p}`);
    let total: number;
    if (options.totalSteps !== undefined && options.totalSteps !== null) {
      if (!Number.isInteger(options.totalSteps) || options.totalSteps <= 0) {
        throw new AnvilError(`${who}: Expected positive integer total_steps, but got ${options.totalSteps}`);
      }
      total = options.totalSteps;
    } else {
      total = (options.end ?? INF) - (options.begin ?? 0);
    }
    const pct = options.pctStart ?? 0.3;
    if (typeof pct !== 'number' || pct < 0 || pct > 1) throw new AnvilError(`${who}: Expected float between 0 and 1 pct_start, but got ${pct}`);
    const strategy = options.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') {
      throw new AnvilError(`${who}: anneal_strategy must by one of "cos" or "linear", instead got ${String(strategy)}`);
    }
    const anneal = strategy === 'cos' ? annealCos : annealLinear;
    const [initial, max, min] = [`initial_${p}`, `max_${p}`, `min_${p}`];
    const phases: Phase[] = options.threePhase
      ? [
          { endStep: pct * total - 1, start: initial, end: max },
          { endStep: 2 * pct * total - 2, start: max, end: initial },
          { endStep: total - 1, start: initial, end: min },
        ]
      : [
          { endStep: pct * total - 1, start: initial, end: max },
          { endStep: total - 1, start: max, end: min },
        ];

    const { groups } = resolveTarget(options.optimizer, who);
    const etaMax = options.etaMax ?? 0;
    const maxValues = Array.isArray(etaMax) ? etaMax : groups.map(() => etaMax);
    if (maxValues.length !== groups.length) throw new AnvilError(`${who}: expected ${groups.length} values for max_${p}, got ${maxValues.length}`);
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    if ((options.lastStep ?? -1) === -1) {
      groups.forEach((g, i) => {
        g[initial] = maxValues[i] / divFactor;
        g[max] = maxValues[i];
        g[min] = (g[initial] as number) / finalDivFactor;
      });
    }

    const at = (k: number, group: ParamGroup): number => {
      if (k > total) throw new AnvilError(`${who}: Tried to step ${k + 1} times. The specified number of total steps is ${total}`);
      let startStep = 0;
      for (let i = 0; i < phases.length; i++) {
        const { endStep, start, end } = phases[i];
        if (k <= endStep || i === phases.length - 1) {
          if (endStep === startStep) throw new AnvilError(`${who}: phase ${i} of the cycle is empty (pct_start * total_steps is too small), MMEngine divides by zero here`);
          return anneal(group[start] as number, group[end] as number, (k - startStep) / (endStep - startStep));
        }
        startStep = endStep;
      }
      throw new AnvilError(`${who}: no phase`);
    };
    const schedule: Schedule = { value: (k, _s, _b, g) => at(k, g), next: (k, _c, _b, g) => at(k, g) };
    super(options, schedule);
    this.totalSteps = total;
  }
}
