// torch.optim.NAdam on the native fused kernel: `mu_product` is a per-tensor scalar state.

import type { BucketArrays, StepBucket } from '../native';
import { adamChecks, nonNegative } from './checks';
import { flag, num, Optimizer, pair, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface NAdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  momentumDecay?: number;
  decoupledWeightDecay?: boolean;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 2e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weight_decay: 0,
  momentum_decay: 4e-3,
  decoupled_weight_decay: false,
  maximize: false,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  foreach: null,
  capturable: false,
  differentiable: false,
};

export class NAdam extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: NAdamOptions | Record<string, unknown> = {}) {
    super('NAdam', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    adamChecks(g, this.type);
    nonNegative(g, 'momentum_decay', 'momentum_decay value', this.type);
  }

  protected stateNames(): string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected override tensorStateNames(): string[] {
    return ['mu_product'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    const [beta1, beta2] = pair(g, 'betas', t);
    return calls.nadamStep(bucket, {
      lr: num(g, 'lr', t),
      beta1,
      beta2,
      eps: num(g, 'eps', t),
      weightDecay: num(g, 'weight_decay', t),
      momentumDecay: num(g, 'momentum_decay', t),
      decoupledWeightDecay: flag(g, 'decoupled_weight_decay', t),
      maximize: flag(g, 'maximize', t),
    }, gradScale);
  }
}
