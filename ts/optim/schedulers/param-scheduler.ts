// The param-scheduler base (MMEngine's _ParamScheduler): a window [begin, end) of steps, counters
// as its only state, and a closed-form schedule that sets one hyper-parameter of every param group.
//
// Each schedule is written in closed form over the local step k = (global step - begin), and also
// as MMEngine's update from the group's current value. Alone, both give the same numbers; the
// update form is what `step()` applies, because MMEngine's recursive formulas multiply the
// *current* value, so chained schedulers whose windows overlap (a warmup inside a MultiStepLR,
// a cosine starting from wherever the warmup left the lr) compose exactly as in MMEngine. Nothing
// but the counters is kept: the base values live in the groups (`initial_lr`, as MMEngine keeps
// them, so they are saved with the optimizer), the current values are the groups' own.

import { AnvilError } from '../../errors';
import type { Optimizer, ParamGroup } from '../optimizer';
import type { OptimWrapper } from '../optim-wrapper';

/** MMEngine's `INF = int(1e9)`: the default `end` of a scheduler. */
export const INF = 1_000_000_000;

/** A scheduler drives an optimizer directly or through its wrapper (what the runner passes). */
export type SchedulerTarget = Optimizer | OptimWrapper;

/** What the runner and ParamSchedulerHook need from any scheduler, built-in or registered by a user. */
export interface ParamScheduler {
  readonly paramName: string;
  readonly begin: number;
  readonly end: number;
  /** Stepped after every training epoch (true) or iteration (false). */
  readonly byEpoch: boolean;
  /**
   * Anvil's opt-in (not in MMEngine): an iter-based scheduler stepped once per optimizer update
   * rather than per iteration, so under `accumulative_counts=k` it advances every k-th iteration
   * and its `begin`/`end` count updates.
   */
  readonly stepPerUpdate?: boolean;
  /** Stepped with the validation metrics after each validation epoch (ReduceOnPlateau). */
  readonly needValArgs?: boolean;
  step(metrics?: Record<string, number>): void;
  /** The values this scheduler left in the groups at its last step (MMEngine's `get_last_value`). */
  getLastValue(): number[];
  stateDict(): Record<string, unknown>;
  loadStateDict(state: Record<string, unknown>): void;
}

/** A schedule over local steps k = 0, 1, ... of a scheduler's window, for one param group. */
export interface Schedule {
  /**
   * Closed form: the value at local step k of this schedule running alone, from `start` (the
   * group's value when the window opened) and `base` (the group's `initial_<param>`).
   */
  value(k: number, start: number, base: number, group: ParamGroup): number;
  /** MMEngine's update at local step k from the group's current value. */
  next(k: number, current: number, base: number, group: ParamGroup): number;
}

export interface ParamSchedulerOptions {
  optimizer: SchedulerTarget;
  /** The group key scheduled: 'lr', 'momentum', 'weight_decay', ... */
  paramName: string;
  begin?: number;
  end?: number;
  /** -1 for a fresh scheduler; otherwise the local step it resumes from (groups need `initial_<param>`). */
  lastStep?: number;
  byEpoch?: boolean;
  /** Step once per optimizer update instead of per iteration (iter-based schedulers only). Default false. */
  stepPerUpdate?: boolean;
  verbose?: boolean;
}

/** Options of the `*Momentum` variants: `momentum`, or `betas[0]` for Adam-style optimizers. */
export interface MomentumOption {
  /** Set by the *Momentum classes: schedule `momentum`, written back into `betas[0]` where the optimizer has betas. */
  momentum?: boolean;
}

/**
 * The raw optimizer and the groups a scheduler sets: a wrapper's `paramGroups` (with its
 * `baseParamSettings` pseudo-group, as MMEngine's schedulers see an OptimWrapper), else the optimizer's.
 */
export function resolveTarget(target: SchedulerTarget, who: string): { optimizer: Optimizer; groups: ParamGroup[] } {
  const maybeWrapper = target as Partial<OptimWrapper>;
  const optimizer = (maybeWrapper?.optimizer ?? target) as Optimizer;
  if (!optimizer || !Array.isArray(optimizer.paramGroups)) {
    throw new AnvilError(`${who}: optimizer should be an Optimizer or an OptimWrapper`);
  }
  return { optimizer, groups: [...target.paramGroups] };
}

export abstract class BaseParamScheduler implements ParamScheduler {
  readonly optimizer: Optimizer;
  /** The groups this scheduler sets (see `resolveTarget`). */
  readonly paramGroups: ParamGroup[];
  readonly paramName: string;
  readonly begin: number;
  readonly end: number;
  readonly byEpoch: boolean;
  readonly stepPerUpdate: boolean;
  readonly verbose: boolean;
  /** Each group's `initial_<param>` when the scheduler was built (MMEngine's `base_values`). */
  readonly baseValues: number[];
  /** Whether `momentum` is mirrored into `betas[0]` (a momentum scheduler on Adam-style optimizers). */
  protected readonly useBetas: boolean;
  /** Steps since construction (MMEngine's `_global_step`: the constructor's own step is 0). */
  protected globalStep: number;
  /** Steps taken inside [begin, end) (MMEngine's `last_step`: 0 at the window's first step). */
  protected lastStep: number;
  private lastValue: number[] = [];

  /**
   * `schedule` null: a scheduler driven by metrics (ReduceOnPlateau), which takes no step at
   * construction. Otherwise the constructor takes step 0 as MMEngine's does.
   */
  protected constructor(options: ParamSchedulerOptions & MomentumOption, private readonly schedule: Schedule | null) {
    const who = this.constructor.name;
    ({ optimizer: this.optimizer, groups: this.paramGroups } = resolveTarget(options.optimizer, who));
    const begin = options.begin ?? 0;
    const end = options.end ?? INF;
    for (const [key, v] of [['begin', begin], ['end', end]] as const) {
      if (!Number.isInteger(v)) throw new AnvilError(`${who}: ${key} must be an integer, got ${JSON.stringify(v)}`);
    }
    if (end <= begin) throw new AnvilError(`${who}: end should be larger than begin, but got begin=${begin}, end=${end}`);
    this.begin = begin;
    this.end = end;
    this.byEpoch = options.byEpoch ?? true;
    const perUpdate = options.stepPerUpdate ?? false;
    if (typeof perUpdate !== 'boolean') throw new AnvilError(`${who}: step_per_update must be True or False, got ${JSON.stringify(perUpdate)}`);
    // An epoch holds the same iterations whether or not gradients accumulate: only the
    // iteration count changes meaning, so only iter-based schedulers can count updates.
    if (perUpdate && this.byEpoch) {
      throw new AnvilError(`${who}: step_per_update=True counts optimizer updates, which needs an iter-based scheduler (by_epoch=False, or convert_to_iter_based=True); got by_epoch=True`);
    }
    this.stepPerUpdate = perUpdate;
    this.verbose = options.verbose ?? false;
    this.useBetas = options.momentum === true && this.prepareMomentum(who);
    this.paramName = options.paramName;
    const lastStep = options.lastStep ?? -1;
    if (!Number.isInteger(lastStep) || lastStep < -1) throw new AnvilError(`${who}: last_step must be an integer >= -1, got ${lastStep}`);
    const initial = `initial_${this.paramName}`;
    this.paramGroups.forEach((g, i) => {
      if (lastStep === -1) {
        if (!(initial in g)) g[initial] = this.read(g, who, i);
      } else if (!(initial in g)) {
        throw new AnvilError(`${who}: param '${initial}' is not specified in param_groups[${i}] when resuming an optimizer`);
      }
    });
    this.baseValues = this.paramGroups.map((g, i) => {
      const v = g[initial];
      if (typeof v !== 'number') throw new AnvilError(`${who}: param_groups[${i}].${initial} must be a number, got ${JSON.stringify(v)}`);
      return v;
    });
    this.lastStep = lastStep;
    this.globalStep = schedule ? -1 : 0;
    if (schedule) this.step();
    else this.recordLastValue();
  }

  /** MMEngine's MomentumSchedulerMixin: `momentum` if the optimizer has it, else betas[0] copied into `momentum`. */
  private prepareMomentum(who: string): boolean {
    const defaults = this.optimizer.defaults;
    if ('momentum' in defaults) return false;
    if ('betas' in defaults) {
      for (const g of this.paramGroups) g.momentum = (g.betas as number[])[0];
      return true;
    }
    throw new AnvilError(`${who}: optimizer must support momentum when using momentum scheduler`);
  }

  /** Advances one step; inside the window, sets every group's value from the schedule. */
  step(_metrics?: Record<string, number>): void {
    this.globalStep += 1;
    if (this.schedule && this.begin <= this.globalStep && this.globalStep < this.end) {
      this.lastStep += 1;
      const k = this.lastStep;
      const values = this.paramGroups.map((g, i) => this.schedule!.next(k, this.read(g), this.baseValues[i], g));
      values.forEach((v, i) => this.write(i, v));
    }
    this.recordLastValue();
  }

  /**
   * The closed-form value of group `i` at global step `step` for this scheduler running alone,
   * from `start`, the group's value before the window (default: its base value): `start` before
   * `begin`, the schedule inside [begin, end), the value of step `end - 1` after it.
   */
  valueAt(step: number, start = this.baseValues[0], i = 0): number {
    if (!this.schedule) throw new AnvilError(`${this.constructor.name}: its values follow the metrics, not a closed form`);
    if (step < this.begin) return start;
    const k = Math.min(step, this.end - 1) - this.begin;
    return this.schedule.value(k, start, this.baseValues[i], this.paramGroups[i]);
  }

  getLastValue(): number[] {
    return [...this.lastValue];
  }

  /** Counters only (MMEngine's key names), so a changed config still applies after a resume. */
  stateDict(): Record<string, unknown> {
    return { last_step: this.lastStep, _global_step: this.globalStep };
  }

  /** Restores the counters; accepts MMEngine's full scheduler state dict too (other keys ignored). */
  loadStateDict(state: Record<string, unknown>): void {
    const who = this.constructor.name;
    for (const key of ['last_step', '_global_step']) {
      if (!Number.isInteger(state[key])) throw new AnvilError(`${who}.loadStateDict: '${key}' must be an integer, got ${JSON.stringify(state[key])}`);
    }
    this.lastStep = state.last_step as number;
    this.globalStep = state._global_step as number;
    this.recordLastValue();
  }

  /** Remembers the groups' values as this scheduler's last values. */
  protected recordLastValue(): void {
    this.lastValue = this.paramGroups.map((g) => this.read(g));
  }

  protected read(g: ParamGroup, who = this.constructor.name, i = this.paramGroups.indexOf(g)): number {
    const v = g[this.paramName];
    if (typeof v !== 'number') throw new AnvilError(`${who}: param_groups[${i}].${this.paramName} must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** Sets group `i`'s value (and `betas[0]` for a momentum scheduler on Adam-style optimizers). */
  protected write(i: number, value: number): void {
    const g = this.paramGroups[i];
    g[this.paramName] = value;
    if (this.useBetas) g.betas = [value, (g.betas as number[])[1]];
    if (this.verbose) console.log(`Adjusting parameter value of group ${i} to ${value.toExponential(4)}.`);
  }
}
