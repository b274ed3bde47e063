// Lion (beyond torch.optim; timm's and lion-pytorch's semantics and defaults): the sign of an
// interpolated momentum as the update, decoupled weight decay, state `exp_avg`.

import type { BucketArrays, StepBucket } from '../native';
import { betas, nonNegative } from './checks';
import { flag, num, Optimizer, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface LionOptions {
  lr?: number;
  betas?: [number, number];
  weightDecay?: number;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 1e-4,
  betas: [0.9, 0.99],
  weight_decay: 0,
  maximize: false,
  // implementation flag: accepted and kept in the groups, no effect on the result.
  foreach: null,
};

export class Lion extends Optimizer {
  // Lion's update does not depend on the step count; timm keeps no `step` in its state.
  protected readonly reportsStep = false;

  constructor(params: ParamsInput, options: LionOptions | Record<string, unknown> = {}) {
    super('Lion', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    nonNegative(g, 'lr', 'learning rate', this.type);
    betas(g, this.type);
    nonNegative(g, 'weight_decay', 'weight_decay value', this.type);
  }

  protected stateNames(): string[] {
    return ['exp_avg'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    const [beta1, beta2] = betas(g, t);
    return calls.lionStep(bucket, { lr: num(g, 'lr', t), beta1, beta2, weightDecay: num(g, 'weight_decay', t), maximize: flag(g, 'maximize', t) }, gradScale);
  }
}
