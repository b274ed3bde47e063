// torch.optim.SGD on the native fused kernel.

import { AnvilError } from '../errors';
import type { BucketArrays, StepBucket } from '../native';
import { flag, num, Optimizer, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface SgdOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 1e-3,
  momentum: 0,
  dampening: 0,
  weight_decay: 0,
  nesterov: false,
  maximize: false,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  foreach: null,
  differentiable: false,
  fused: null,
};

export class SGD extends Optimizer {
  protected readonly reportsStep = false;

  constructor(params: ParamsInput, options: SgdOptions | Record<string, unknown> = {}) {
    super('SGD', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    const lr = num(g, 'lr', this.type);
    const momentum = num(g, 'momentum', this.type);
    const wd = num(g, 'weight_decay', this.type);
    if (lr < 0) throw new AnvilError(`SGD: Invalid learning rate: ${lr}`);
    if (momentum < 0) throw new AnvilError(`SGD: Invalid momentum value: ${momentum}`);
    if (wd < 0) throw new AnvilError(`SGD: Invalid weight_decay value: ${wd}`);
    if (flag(g, 'nesterov', this.type) && (momentum <= 0 || num(g, 'dampening', this.type) !== 0)) {
      throw new AnvilError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected stateNames(g: ParamGroup): string[] {
    return g.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    return calls.sgdStep(bucket, {
      lr: num(g, 'lr', this.type),
      momentum: num(g, 'momentum', this.type),
      dampening: num(g, 'dampening', this.type),
      weightDecay: num(g, 'weight_decay', this.type),
      nesterov: flag(g, 'nesterov', this.type),
      maximize: flag(g, 'maximize', this.type),
    }, gradScale);
  }
}
