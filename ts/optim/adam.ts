// torch.optim.Adam and AdamW on the native fused kernel (AdamW = decoupled weight decay).

import { AnvilError } from '../errors';
import { camelToSnake } from '../util/names';
import type { BucketArrays, StepBucket } from '../native';
import { flag, num, Optimizer, pair, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
  decoupledWeightDecay?: boolean;
}

const ADAM_DEFAULTS = {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weight_decay: 0,
  amsgrad: false,
  maximize: false,
  decoupled_weight_decay: false,
  // torch implementation flags: accepted and kept in the groups, no effect on the result.
  foreach: null,
  capturable: false,
  differentiable: false,
  fused: null,
};

export class Adam extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: AdamOptions | Record<string, unknown> = {}, type = 'Adam', defaults: Record<string, unknown> = ADAM_DEFAULTS) {
    super(type, params, options as Record<string, unknown>, defaults);
  }

  protected validate(g: ParamGroup): void {
    const t = this.type;
    const lr = num(g, 'lr', t);
    const eps = num(g, 'eps', t);
    const [b1, b2] = pair(g, 'betas', t);
    const wd = num(g, 'weight_decay', t);
    if (lr < 0) throw new AnvilError(`${t}: Invalid learning rate: ${lr}`);
    if (eps < 0) throw new AnvilError(`${t}: Invalid epsilon value: ${eps}`);
    if (!(b1 >= 0 && b1 < 1)) throw new AnvilError(`${t}: Invalid beta parameter at index 0: ${b1}`);
    if (!(b2 >= 0 && b2 < 1)) throw new AnvilError(`${t}: Invalid beta parameter at index 1: ${b2}`);
    if (wd < 0) throw new AnvilError(`${t}: Invalid weight_decay value: ${wd}`);
  }

  protected stateNames(g: ParamGroup): string[] {
    return g.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  protected stepBucket(bucket: StepBucket | BucketArrays, g: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void> {
    const t = this.type;
    const [beta1, beta2] = pair(g, 'betas', t);
    return calls.adamStep(bucket, {
      lr: num(g, 'lr', t),
      beta1,
      beta2,
      eps: num(g, 'eps', t),
      weightDecay: num(g, 'weight_decay', t),
      amsgrad: flag(g, 'amsgrad', t),
      maximize: flag(g, 'maximize', t),
      decoupled: flag(g, 'decoupled_weight_decay', t),
    }, gradScale);
  }
}

/** AdamW's options: Adam's, less `decoupledWeightDecay` (always true; torch's AdamW has no such argument). */
export type AdamWOptions = Omit<AdamOptions, 'decoupledWeightDecay'>;

export class AdamW extends Adam {
  constructor(params: ParamsInput, options: AdamWOptions | Record<string, unknown> = {}) {
    // torch's AdamW keeps decoupled_weight_decay=True in its groups but refuses it as an argument.
    if (Object.keys(options).some((k) => camelToSnake(k) === 'decoupled_weight_decay')) {
      throw new AnvilError("AdamW: unexpected argument 'decoupled_weight_decay' (AdamW always decouples weight decay; use Adam with decoupled_weight_decay=True to choose)");
    }
    super(params, options, 'AdamW', { ...ADAM_DEFAULTS, weight_decay: 1e-2, decoupled_weight_decay: true });
  }
}
