// torch.optim.Adamax on the native fused kernel (infinity-norm second moment `exp_inf`).

import type { BucketArrays, StepBucket } from '../native';
import { adamChecks } from './checks';
import { flag, num, Optimizer, pair, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface AdamaxOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 2e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weight_decay: 0,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  foreach: null,
  maximize: false,
  differentiable: false,
  capturable: false,
};

export class Adamax extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: AdamaxOptions | Record<string, unknown> = {}) {
    super('Adamax', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    adamChecks(g, this.type);
  }

  protected stateNames(): string[] {
    return ['exp_avg', 'exp_inf'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    const [beta1, beta2] = pair(g, 'betas', t);
    return calls.adamaxStep(bucket, {
      lr: num(g, 'lr', t),
      beta1,
      beta2,
      eps: num(g, 'eps', t),
      weightDecay: num(g, 'weight_decay', t),
      maximize: flag(g, 'maximize', t),
    }, gradScale);
  }
}
