// torch.optim.Adagrad on the native fused kernel. As torch does, the state (`step` 0 and `sum`
// filled with initial_accumulator_value) exists from construction, for every parameter.

import type { BucketArrays, StepBucket } from '../native';
import { nonNegative } from './checks';
import { flag, num, Optimizer, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface AdagradOptions {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 1e-2,
  lr_decay: 0,
  eps: 1e-10,
  weight_decay: 0,
  initial_accumulator_value: 0,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  foreach: null,
  maximize: false,
  differentiable: false,
  fused: null,
};

export class Adagrad extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: AdagradOptions | Record<string, unknown> = {}) {
    super('Adagrad', params, options as Record<string, unknown>, DEFAULTS);
    // torch fills every parameter's sum with the constructor's value (not a group's own).
    const init = this.defaults.initial_accumulator_value as number;
    this.paramGroups.forEach((_, i) => this.bucket(i).state('sum').fill(init));
  }

  protected override get stateAtConstruction(): boolean {
    return true;
  }

  protected validate(g: ParamGroup): void {
    const t = this.type;
    nonNegative(g, 'lr', 'learning rate', t);
    nonNegative(g, 'lr_decay', 'lr_decay value', t);
    nonNegative(g, 'weight_decay', 'weight_decay value', t);
    nonNegative(g, 'initial_accumulator_value', 'initial_accumulator_value value', t);
    nonNegative(g, 'eps', 'epsilon value', t);
  }

  protected stateNames(): string[] {
    return ['sum'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    return calls.adagradStep(bucket, {
      lr: num(g, 'lr', t),
      lrDecay: num(g, 'lr_decay', t),
      weightDecay: num(g, 'weight_decay', t),
      eps: num(g, 'eps', t),
      maximize: flag(g, 'maximize', t),
    }, gradScale);
  }
}
