// torch.optim.Adadelta on the native fused kernel.

import { AnvilError } from '../errors';
import type { BucketArrays, StepBucket } from '../native';
import { nonNegative } from './checks';
import { flag, num, Optimizer, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface AdadeltaOptions {
  lr?: number;
  rho?: number;
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 1.0,
  rho: 0.9,
  eps: 1e-6,
  weight_decay: 0,
  maximize: false,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  capturable: false,
  foreach: null,
  differentiable: false,
};

export class Adadelta extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: AdadeltaOptions | Record<string, unknown> = {}) {
    super('Adadelta', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    const t = this.type;
    nonNegative(g, 'lr', 'learning rate', t);
    const rho = num(g, 'rho', t);
    if (!(rho >= 0 && rho <= 1)) throw new AnvilError(`${t}: Invalid rho value: ${rho}`);
    nonNegative(g, 'eps', 'epsilon value', t);
    nonNegative(g, 'weight_decay', 'weight_decay value', t);
  }

  protected stateNames(): string[] {
    return ['square_avg', 'acc_delta'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    return calls.adadeltaStep(bucket, {
      lr: num(g, 'lr', t),
      rho: num(g, 'rho', t),
      eps: num(g, 'eps', t),
      weightDecay: num(g, 'weight_decay', t),
      maximize: flag(g, 'maximize', t),
    }, gradScale);
  }
}
