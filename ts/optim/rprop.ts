// torch.optim.Rprop on the native fused kernel: per-element `step_size` and `prev` states.

import { AnvilError } from '../errors';
import type { BucketArrays, StepBucket } from '../native';
import { nonNegative } from './checks';
import { flag, num, Optimizer, pair, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface RpropOptions {
  lr?: number;
  etas?: [number, number];
  stepSizes?: [number, number];
  maximize?: boolean;
}

const DEFAULTS = {
  lr: 1e-2,
  etas: [0.5, 1.2],
  step_sizes: [1e-6, 50],
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  foreach: null,
  maximize: false,
  differentiable: false,
  capturable: false,
};

export class Rprop extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: RpropOptions | Record<string, unknown> = {}) {
    super('Rprop', params, options as Record<string, unknown>, DEFAULTS);
  }

  protected validate(g: ParamGroup): void {
    const t = this.type;
    nonNegative(g, 'lr', 'learning rate', t);
    const [minus, plus] = pair(g, 'etas', t);
    if (!(minus > 0 && minus < 1 && plus > 1)) throw new AnvilError(`${t}: Invalid eta values: ${minus}, ${plus}`);
    pair(g, 'step_sizes', t);
  }

  protected stateNames(): string[] {
    return ['prev', 'step_size'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    const [etaMinus, etaPlus] = pair(g, 'etas', t);
    const [stepSizeMin, stepSizeMax] = pair(g, 'step_sizes', t);
    return calls.rpropStep(bucket, { lr: num(g, 'lr', t), etaMinus, etaPlus, stepSizeMin, stepSizeMax, maximize: flag(g, 'maximize', t) }, gradScale);
  }
}
