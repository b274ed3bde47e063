// torch.optim.RAdam on the native fused kernel (variance rectification, decoupled weight decay).

import type { BucketArrays, StepBucket } from '../native';
import { adamChecks } from './checks';
import { flag, num, Optimizer, pair, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface RAdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  decoupledWeightDecay?: boolean;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weight_decay: 0,
  maximize: false,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  foreach: null,
  capturable: false,
  decoupled_weight_decay: false,
  differentiable: false,
};

export class RAdam extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: RAdamOptions | Record<string, unknown> = {}) {
    super('RAdam', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    adamChecks(g, this.type);
  }

  protected stateNames(): string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    const [beta1, beta2] = pair(g, 'betas', t);
    return calls.radamStep(bucket, {
      lr: num(g, 'lr', t),
      beta1,
      beta2,
      eps: num(g, 'eps', t),
      weightDecay: num(g, 'weight_decay', t),
      decoupledWeightDecay: flag(g, 'decoupled_weight_decay', t),
      maximize: flag(g, 'maximize', t),
    }, gradScale);
  }
}
