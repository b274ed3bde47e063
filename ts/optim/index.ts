// Registers the optimizers and wrappers under MMEngine's type names, and builds an
// `optim_wrapper` config for a model.

import { AnvilError } from '../errors';
import { OPTIM_WRAPPERS, OPTIMIZERS } from '../registry';
import type { Parameter } from '../store/parameter';
import { Adam, AdamW } from './adam';
import type { Optimizer, ParamsInput } from './optimizer';
import { OptimWrapper } from './optim-wrapper';
import { SGD } from './sgd';

export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { Optimizer } from './optimizer';
export type { OptimizerStateDict, ParamGroup, ParamsInput, ParamState } from './optimizer';
export { OptimWrapper } from './optim-wrapper';
export type { OptimWrapperOptions } from './optim-wrapper';
export { parseLosses } from './parse-losses';
export type { LossValue, ParsedLosses } from './parse-losses';
export { SGD } from './sgd';
export type { SgdOptions } from './sgd';

function optimizerBuilder(make: (params: ParamsInput, options: Record<string, unknown>) => Optimizer) {
  return ({ params, ...options }: Record<string, unknown>) => {
    if (!Array.isArray(params)) throw new AnvilError("optimizer: 'params' must be a list of parameters or param groups");
    return make(params as ParamsInput, options);
  };
}

OPTIMIZERS.register('SGD', optimizerBuilder((p, o) => new SGD(p, o)));
OPTIMIZERS.register('Adam', optimizerBuilder((p, o) => new Adam(p, o)));
OPTIMIZERS.register('AdamW', optimizerBuilder((p, o) => new AdamW(p, o)));

OPTIM_WRAPPERS.register('OptimWrapper', ({ optimizer, accumulative_counts, clip_grad, ...rest }) => {
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new AnvilError(`OptimWrapper: unexpected argument '${unknown[0]}'`);
  return new OptimWrapper({
    optimizer: optimizer as Optimizer,
    accumulativeCounts: accumulative_counts as number | undefined,
    clipGrad: clip_grad as Record<string, unknown> | null | undefined,
  });
});

/**
 * Builds `optim_wrapper` (MMEngine's `build_optim_wrapper` with the default constructor and
 * no paramwise_cfg): every trainable parameter in one group, in `named_parameters()` order.
 */
export function buildOptimWrapper(cfg: unknown, params: readonly Parameter[]): OptimWrapper {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new AnvilError('optim_wrapper: expected a dict with an optimizer');
  }
  const { optimizer, constructor: _inherited, paramwise_cfg, type = 'OptimWrapper', ...rest } = cfg as Record<string, unknown>;
  // A plain object inherits `constructor`; only an own key is the config's.
  const constructor: unknown = Object.hasOwn(cfg, 'constructor') ? (cfg as Record<string, unknown>).constructor : undefined;
  if (constructor !== undefined && constructor !== 'DefaultOptimWrapperConstructor') {
    throw new AnvilError(`optim_wrapper.constructor: '${String(constructor)}' is not available yet (only DefaultOptimWrapperConstructor)`);
  }
  if (paramwise_cfg !== undefined && paramwise_cfg !== null && Object.keys(paramwise_cfg as object).length > 0) {
    throw new AnvilError('optim_wrapper.paramwise_cfg: parameter-wise settings are not available yet');
  }
  if (optimizer === null || typeof optimizer !== 'object') {
    throw new AnvilError("optim_wrapper.optimizer: expected a dict such as dict(type='AdamW', lr=1e-3)");
  }
  const built = OPTIMIZERS.build(
    optimizer,
    'optim_wrapper.optimizer',
    { params: params.filter((p) => p.requiresGrad) },
  );
  return OPTIM_WRAPPERS.build({ type, ...rest }, 'optim_wrapper', { optimizer: built });
}
