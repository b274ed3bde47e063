// MMEngine's `build_optim_wrapper`: picks the constructor named by `optim_wrapper.constructor`
// (DefaultOptimWrapperConstructor by default) from OPTIM_WRAPPER_CONSTRUCTORS and builds the wrapper.

import { AnvilError } from '../../errors';
import { OPTIM_WRAPPER_CONSTRUCTORS } from '../../registry';
import { describe } from '../../registry/registry';
import type { OptimWrapper } from '../optim-wrapper';
import type { ModelSource } from './constructor';

export function buildOptimWrapper(cfg: unknown, model: ModelSource): OptimWrapper {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new AnvilError(`optim_wrapper: expected a dict with an optimizer, got ${describe(cfg)}`);
  }
  // A plain object inherits `constructor`; only an own key is the config's.
  const { constructor: _inherited, paramwise_cfg, ...optimWrapperCfg } = cfg as Record<string, unknown>;
  const constructor = Object.hasOwn(cfg, 'constructor') ? (cfg as Record<string, unknown>).constructor : 'DefaultOptimWrapperConstructor';
  if (typeof constructor !== 'string') {
    throw new AnvilError(`optim_wrapper.constructor: expected a registered constructor name, got ${describe(constructor)}`);
  }
  if (!OPTIM_WRAPPER_CONSTRUCTORS.has(constructor)) {
    const known = OPTIM_WRAPPER_CONSTRUCTORS.names().sort().join(', ');
    throw new AnvilError(`optim_wrapper.constructor: '${constructor}' is not registered in OPTIM_WRAPPER_CONSTRUCTORS (registered: ${known})`);
  }
  const built = OPTIM_WRAPPER_CONSTRUCTORS.build(
    { type: constructor, optim_wrapper_cfg: optimWrapperCfg, paramwise_cfg: paramwise_cfg ?? null },
    'optim_wrapper',
  );
  return built.build(model);
}
