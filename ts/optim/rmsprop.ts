// torch.optim.RMSprop on the native fused kernel (centered, momentum).

import type { BucketArrays, StepBucket } from '../native';
import { nonNegative } from './checks';
import { flag, num, Optimizer, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 1e-2,
  momentum: 0,
  alpha: 0.99,
  eps: 1e-8,
  centered: false,
  weight_decay: 0,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  capturable: false,
  foreach: null,
  maximize: false,
  differentiable: false,
};

export class RMSprop extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: RMSpropOptions | Record<string, unknown> = {}) {
    super('RMSprop', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    const t = this.type;
    nonNegative(g, 'lr', 'learning rate', t);
    nonNegative(g, 'eps', 'epsilon value', t);
    nonNegative(g, 'momentum', 'momentum value', t);
    nonNegative(g, 'weight_decay', 'weight_decay value', t);
    nonNegative(g, 'alpha', 'alpha value', t);
  }

  /** Kernel order: square_avg, momentum_buffer (momentum > 0), grad_avg (centered). */
  protected stateNames(g: ParamGroup): string[] {
    const names = ['square_avg'];
    if (num(g, 'momentum', this.type) > 0) names.push('momentum_buffer');
    if (flag(g, 'centered', this.type)) names.push('grad_avg');
    return names;
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    return calls.rmspropStep(bucket, {
      lr: num(g, 'lr', t),
      alpha: num(g, 'alpha', t),
      eps: num(g, 'eps', t),
      weightDecay: num(g, 'weight_decay', t),
      momentum: num(g, 'momentum', t),
      centered: flag(g, 'centered', t),
      maximize: flag(g, 'maximize', t),
    }, gradScale);
  }
}
