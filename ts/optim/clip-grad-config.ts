// The `clip_grad` option of MMEngine's OptimWrapper: `dict(max_norm=.., norm_type=..)` (or
// `type='norm'`) for clip_grad_norm_, `dict(type='value', clip_value=..)` for clip_grad_value_.

import { AnvilError } from '../errors';
import type { Parameter } from '../store/parameter';
import { clipGradNorm, clipGradValue, type NormType } from './clip-grad';

/** A parsed clip_grad: clips the gradients of `params` and returns the total norm (null for value clipping). */
export interface GradClipper {
  /** MMEngine's `grad_name`: the message-hub key is `train/<name>`. */
  readonly name: 'grad_norm' | 'grad_value';
  /** Clips on `device` (the optimizer's: 'cpu' or 'cuda:N'). */
  clip(params: Parameter[], device?: string): number | null;
  /** Clip by norm: its arguments (what the fused AMP step folds into the update pass). */
  readonly norm?: { maxNorm: number; normType: NormType; errorIfNonfinite: boolean };
}

const NORM_KEYS = ['max_norm', 'norm_type', 'error_if_nonfinite', 'foreach'];
const VALUE_KEYS = ['clip_value', 'foreach'];

/** Reads a clip_grad dict as MMEngine does (its keys are the torch function's arguments). */
export function parseClipGrad(cfg: unknown, where = 'OptimWrapper: clip_grad'): GradClipper {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg) || Object.keys(cfg).length === 0) {
    throw new AnvilError(`${where}: if given, it should be a non-empty dict of arguments of clip_grad_norm_ or clip_grad_value_, got ${JSON.stringify(cfg)}`);
  }
  const { type = 'norm', ...args } = cfg as Record<string, unknown>;
  if (type !== 'norm' && type !== 'value') throw new AnvilError(`${where}.type: type of clip_grad should be "norm" or "value" but got ${JSON.stringify(type)}`);
  if (Object.keys(args).length === 0) {
    throw new AnvilError(`${where}: should contain other arguments besides type (clip_grad_norm_'s max_norm or clip_grad_value_'s clip_value)`);
  }
  const accepted = type === 'norm' ? NORM_KEYS : VALUE_KEYS;
  const unknown = Object.keys(args).find((k) => !accepted.includes(k));
  if (unknown !== undefined) throw new AnvilError(`${where}: unexpected argument '${unknown}' for clip_grad_${type}_ (accepted: ${accepted.join(', ')})`);
  if (type === 'value') {
    if (typeof args.clip_value !== 'number') throw new AnvilError(`${where}.clip_value: expected a number, got ${JSON.stringify(args.clip_value)}`);
    const clipValue = args.clip_value;
    return {
      name: 'grad_value',
      clip: (params, device) => {
        clipGradValue(params, clipValue, { device });
        return null;
      },
    };
  }
  if (typeof args.max_norm !== 'number') throw new AnvilError(`${where}.max_norm: expected a number, got ${JSON.stringify(args.max_norm)}`);
  const maxNorm = args.max_norm;
  const normType = (args.norm_type ?? 2) as NormType;
  const errorIfNonfinite = (args.error_if_nonfinite ?? false) as boolean;
  return { name: 'grad_norm', norm: { maxNorm, normType, errorIfNonfinite }, clip: (params, device) => clipGradNorm(params, maxNorm, normType, { errorIfNonfinite, device }) };
}
