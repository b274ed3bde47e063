// Registers the optimizer-wrapper constructors in OPTIM_WRAPPER_CONSTRUCTORS under MMEngine's and
// MMSegmentation's names, and exports them with the model view they read.

import { OPTIM_WRAPPER_CONSTRUCTORS } from '../../registry';
import { DefaultOptimWrapperConstructor } from './default-constructor';
import { ForceDefaultOptimWrapperConstructor } from './force-default-constructor';
import { LayerDecayOptimizerConstructor, LearningRateDecayOptimizerConstructor } from './layer-decay-constructor';

export { buildOptimWrapper } from './build';
export type { ModelSource, OptimWrapperConstructor, ParamGroupSpec } from './constructor';
export { DefaultOptimWrapperConstructor } from './default-constructor';
export type { DefaultOptimWrapperConstructorOptions } from './default-constructor';
export { ForceDefaultOptimWrapperConstructor } from './force-default-constructor';
export { layerIdForConvNeXt, layerIdForViT, stageIdForConvNeXt } from './layer-ids';
export { LayerDecayOptimizerConstructor, LearningRateDecayOptimizerConstructor } from './layer-decay-constructor';
export { DescribedModel, namedParametersOf } from './model-view';
export type { ModuleTree } from './model-view';
export { CONV2D_TYPES, DCN_TYPES, NORM_TYPES } from './module-types';

const ACCEPTS = ['optim_wrapper_cfg', 'paramwise_cfg'];
OPTIM_WRAPPER_CONSTRUCTORS.registerClass('DefaultOptimWrapperConstructor', DefaultOptimWrapperConstructor, { accepts: ACCEPTS });
OPTIM_WRAPPER_CONSTRUCTORS.registerClass('LearningRateDecayOptimizerConstructor', LearningRateDecayOptimizerConstructor, { accepts: ACCEPTS });
OPTIM_WRAPPER_CONSTRUCTORS.registerClass('LayerDecayOptimizerConstructor', LayerDecayOptimizerConstructor, { accepts: ACCEPTS });
OPTIM_WRAPPER_CONSTRUCTORS.registerClass('ForceDefaultOptimWrapperConstructor', ForceDefaultOptimWrapperConstructor, { accepts: ACCEPTS });
