// ReduceOnPlateau (MMEngine's): after each validation, scales the value by `factor` when the
// monitored metric has not improved for `patience` validations. Its state is counters and the best metric.

import { AnvilError } from '../../errors';
import { BaseParamScheduler, INF, type MomentumOption, type ParamSchedulerOptions } from './param-scheduler';

export interface ReduceOnPlateauOptions extends ParamSchedulerOptions, MomentumOption {
  monitor?: string;
  rule?: 'less' | 'greater';
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdRule?: 'rel' | 'abs';
  cooldown?: number;
  /** Lower bound, one for all groups or one per group. */
  minValue?: number | number[];
  /** Changes smaller than this are skipped. */
  eps?: number;
}

export class ReduceOnPlateauParamScheduler extends BaseParamScheduler {
  readonly needValArgs = true;
  readonly monitor: string;
  readonly rule: 'less' | 'greater';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdRule: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minValues: number[];
  readonly eps: number;
  private best: number;
  private numBadEpochs = 0;
  private cooldownCounter = 0;

  constructor(options: ReduceOnPlateauOptions) {
    const who = new.target.name;
    if (options.byEpoch === false) throw new AnvilError(`${who}: Now ${who} only support by_epoch=True`);
    const factor = options.factor ?? 0.1;
    if (factor >= 1) throw new AnvilError(`${who}: Factor should be < 1.0.`);
    const threshold = options.threshold ?? 1e-4;
    if (threshold < 0) throw new AnvilError(`${who}: threshold ${threshold} should be >= 0.`);
    const rule = options.rule ?? 'less';
    if (rule !== 'less' && rule !== 'greater') throw new AnvilError(`${who}: mode ${String(rule)} is unknown!`);
    const thresholdRule = options.thresholdRule ?? 'rel';
    if (thresholdRule !== 'rel' && thresholdRule !== 'abs') throw new AnvilError(`${who}: threshold mode ${String(thresholdRule)} is unknown!`);
    super(options, null);
    const minValue = options.minValue ?? 0;
    if (Array.isArray(minValue)) {
      // One per optimizer group; the wrapper's base settings take the last one (as MMEngine).
      const groups = this.optimizer.paramGroups.length;
      if (minValue.length !== groups) throw new AnvilError(`${who}: expected ${groups} min_lrs, got ${minValue.length}`);
      this.minValues = [...minValue, ...(this.paramGroups.length > groups ? [minValue[groups - 1]] : [])];
    } else {
      this.minValues = new Array<number>(this.paramGroups.length).fill(minValue);
    }
    this.factor = factor;
    this.threshold = threshold;
    this.rule = rule;
    this.thresholdRule = thresholdRule;
    this.monitor = options.monitor ?? 'loss';
    this.patience = options.patience ?? 10;
    this.cooldown = options.cooldown ?? 0;
    this.eps = options.eps ?? 1e-8;
    // MMEngine's "worst" value is its INF (1e9), not infinity.
    this.best = rule === 'less' ? INF : -INF;
  }

  /** Without metrics (after a training epoch) only counts; with metrics (after validation) may reduce. */
  override step(metrics?: Record<string, number>): void {
    if (metrics === undefined || metrics === null) {
      this.globalStep += 1;
      return;
    }
    if (typeof metrics !== 'object') throw new AnvilError(`${this.constructor.name}: metrics type should be dict, but got ${typeof metrics}`);
    if (this.begin <= this.globalStep && this.globalStep < this.end) {
      this.lastStep += 1;
      const metric = metrics[this.monitor];
      if (metric === undefined || metric === null) {
        throw new AnvilError(`${this.constructor.name}: Excepted key in ${JSON.stringify(Object.keys(metrics))}, but got key ${this.monitor} is not in dict`);
      }
      if (this.isBetter(metric, this.best)) {
        this.best = metric;
        this.numBadEpochs = 0;
      } else {
        this.numBadEpochs += 1;
      }
      if (this.cooldownCounter > 0) {
        this.cooldownCounter -= 1;
        this.numBadEpochs = 0;
      }
      if (this.numBadEpochs > this.patience) {
        this.paramGroups.forEach((g, i) => {
          const current = this.read(g);
          const value = Math.max(current * this.factor, this.minValues[i]);
          if (current - value > this.eps) this.write(i, value);
        });
        this.cooldownCounter = this.cooldown;
        this.numBadEpochs = 0;
      }
    }
    this.recordLastValue();
  }

  private isBetter(a: number, best: number): boolean {
    if (this.rule === 'less') return this.thresholdRule === 'rel' ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return this.thresholdRule === 'rel' ? a > best * (this.threshold + 1) : a > best + this.threshold;
  }

  override stateDict(): Record<string, unknown> {
    return { ...super.stateDict(), best: this.best, num_bad_epochs: this.numBadEpochs, cooldown_counter: this.cooldownCounter };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    super.loadStateDict(state);
    for (const key of ['best', 'num_bad_epochs', 'cooldown_counter']) {
      if (typeof state[key] !== 'number') throw new AnvilError(`${this.constructor.name}.loadStateDict: '${key}' must be a number, got ${JSON.stringify(state[key])}`);
    }
    this.best = state.best as number;
    this.numBadEpochs = state.num_bad_epochs as number;
    this.cooldownCounter = state.cooldown_counter as number;
  }
}
