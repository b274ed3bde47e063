// The root registries, one per kind of buildable object, named as MMEngine names them.

import type { Dataset } from '../data/dataset';
import type { Sampler } from '../data/sampler';
import type { Metric } from '../evaluation/metric';
import type { Hook } from '../hooks/hook';
import type { BaseModel } from '../models/base-model';
import type { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import type { OptimWrapper } from '../optim/optim-wrapper';
import type { OptimWrapperConstructor } from '../optim/constructors/constructor';
import type { ParamScheduler } from '../optim/schedulers/param-scheduler';
import type { Loop } from '../runner/loops';
import type { VisBackend } from '../visualization/local-vis-backend';
import type { Visualizer } from '../visualization/visualizer';
import { Registry } from './registry';

export { getDefaultScope, Registry, setDefaultScope } from './registry';
export type { Builder, ConfigDict } from './registry';

export const MODELS = new Registry<BaseModel>('MODELS');
/**
 * Building blocks (Conv2d, BN, ReLU, ...) that models assemble from `layers=[dict(...)]`,
 * `norm_cfg`, `act_cfg`. MMCV registers these in MODELS; they live apart here so that
 * `model=dict(type=...)` can only build a trainable BaseModel, and MODELS stays typed so.
 */
export const LAYERS = new Registry<Module>('LAYERS');
export const OPTIMIZERS = new Registry<Optimizer>('OPTIMIZERS');
export const OPTIM_WRAPPERS = new Registry<OptimWrapper>('OPTIM_WRAPPERS');
export const OPTIM_WRAPPER_CONSTRUCTORS = new Registry<OptimWrapperConstructor>('OPTIM_WRAPPER_CONSTRUCTORS');
export const PARAM_SCHEDULERS = new Registry<ParamScheduler>('PARAM_SCHEDULERS');
export const HOOKS = new Registry<Hook>('HOOKS');
export const DATASETS = new Registry<Dataset>('DATASETS');
export const DATA_SAMPLERS = new Registry<Sampler>('DATA_SAMPLERS');
export const METRICS = new Registry<Metric>('METRICS');
export const LOOPS = new Registry<Loop>('LOOPS');
export const VISUALIZERS = new Registry<Visualizer>('VISUALIZERS');
export const VISBACKENDS = new Registry<VisBackend>('VISBACKENDS');
