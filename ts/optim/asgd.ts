// torch.optim.ASGD on the native fused kernel: `eta` and `mu` are per-tensor scalar states,
// `ax` the averaged parameter.

import type { BucketArrays, StepBucket } from '../native';
import { nonNegative } from './checks';
import { flag, num, Optimizer, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface ASGDOptions {
  lr?: number;
  lambd?: number;
  alpha?: number;
  t0?: number;
  weightDecay?: number;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 1e-2,
  lambd: 1e-4,
  alpha: 0.75,
  t0: 1e6,
  weight_decay: 0,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  foreach: null,
  maximize: false,
  differentiable: false,
  capturable: false,
};

export class ASGD extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: ASGDOptions | Record<string, unknown> = {}) {
    super('ASGD', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    const t = this.type;
    nonNegative(g, 'lr', 'learning rate', t);
    nonNegative(g, 'lambd', 'lambd value', t);
    nonNegative(g, 'alpha', 'alpha value', t);
    nonNegative(g, 'weight_decay', 'weight_decay value', t);
    num(g, 't0', t);
  }

  protected stateNames(): string[] {
    return ['ax'];
  }

  protected override tensorStateNames(): string[] {
    return ['eta', 'mu'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    return calls.asgdStep(bucket, {
      lr: num(g, 'lr', t),
      lambd: num(g, 'lambd', t),
      alpha: num(g, 'alpha', t),
      t0: num(g, 't0', t),
      weightDecay: num(g, 'weight_decay', t),
      maximize: flag(g, 'maximize', t),
    }, gradScale);
  }
}
