// The optimizer-wrapper constructor contract (MMEngine's OPTIM_WRAPPER_CONSTRUCTORS): an object
// built from `optim_wrapper_cfg` and `paramwise_cfg` that turns a model into an OptimWrapper.

import type { Parameter } from '../../store/parameter';
import type { OptimWrapper } from '../optim-wrapper';
import type { ModuleTree } from './model-view';

/** A model (its module tree), or a bare list of parameters for the plain single-group case. */
export type ModelSource = ModuleTree | readonly Parameter[];

/** A torch-style param group before the optimizer fills in its defaults. */
export interface ParamGroupSpec {
  params: Parameter[];
  [key: string]: unknown;
}

/** MMEngine's constructor `__call__(model)`, named `build` here. Register yours in OPTIM_WRAPPER_CONSTRUCTORS. */
export interface OptimWrapperConstructor {
  build(model: ModelSource): OptimWrapper;
}
