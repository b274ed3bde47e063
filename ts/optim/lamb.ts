// LAMB (beyond torch.optim), registered as `Lamb` with MMPretrain's / timm's semantics and
// defaults: gradients clipped by their global norm to max_grad_norm (folded into the step's
// gradient scale), Adam's update plus weight decay scaled per tensor by the trust ratio.
// One difference: the bias-correction step is each parameter's own, as in torch.optim, where
// timm counts one step per group.

import { AnvilError } from '../errors';
import type { BucketArrays, StepBucket } from '../native';
import { adamChecks } from './checks';
import { flag, num, Optimizer, pair, type ParamGroup, type StepCalls, type ParamsInput } from './optimizer';

export interface LambOptions {
  lr?: number;
  biasCorrection?: boolean;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  gradAveraging?: boolean;
  /** Global gradient norm clipping before the step; null turns it off. */
  maxGradNorm?: number | null;
  trustClip?: boolean;
  alwaysAdapt?: boolean;
}

const DEFAULTS = {
  lr: 1e-3,
  bias_correction: true,
  betas: [0.9, 0.999],
  eps: 1e-6,
  weight_decay: 0.01,
  grad_averaging: true,
  max_grad_norm: 1.0,
  trust_clip: false,
  always_adapt: false,
};

export class Lamb extends Optimizer {
  protected readonly reportsStep = true;

  constructor(params: ParamsInput, options: LambOptions | Record<string, unknown> = {}) {
    super('Lamb', params, options as Record<string, unknown>, DEFAULTS);
    const max = this.defaults.max_grad_norm;
    if (max !== null && (typeof max !== 'number' || !(max > 0))) {
      throw new AnvilError(`Lamb: max_grad_norm must be a positive number or null, got ${JSON.stringify(max)}`);
    }
  }

  /** timm clips every gradient by the global norm first: grad / max(norm / max_grad_norm, 1). */
  protected override stepGradScale(gradScale: number): number {
    const max = this.defaults.max_grad_norm as number | null;
    if (max === null) return gradScale;
    const buckets = new Set(this.paramGroups.map((_, i) => this.bucket(i)));
    let squares = 0;
    for (const b of buckets) squares += this.kernels.lambGradSquareSum(b.arrays([], [], gradScale));
    const norm = Math.sqrt(squares);
    return norm > max ? gradScale / (norm / max) : gradScale;
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
    return calls.lambStep(bucket, {
      lr: num(g, 'lr', t),
      beta1,
      beta2,
      eps: num(g, 'eps', t),
      weightDecay: num(g, 'weight_decay', t),
      biasCorrection: flag(g, 'bias_correction', t),
      gradAveraging: flag(g, 'grad_averaging', t),
      trustClip: flag(g, 'trust_clip', t),
      alwaysAdapt: flag(g, 'always_adapt', t),
    }, gradScale);
  }
}
