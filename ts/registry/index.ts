// The root registries, one per kind of buildable object, named as MMEngine names them.

import type { Dataset } from '../data/dataset';
import type { Sampler } from '../data/sampler';
import type { Metric } from '../evaluation/metric';
import type { Hook } from '../hooks/hook';
import type { BaseModel } from '../models/base-model';
import type { Optimizer } from '../optim/optimizer';
import type { OptimWrapper } from '../optim/optim-wrapper';
import type { Loop } from '../runner/loops';
import { Registry } from './registry';

export { Registry } from './registry';
export type { Builder, ConfigDict } from './registry';

export const MODELS = new Registry<BaseModel>('MODELS');
export const OPTIMIZERS = new Registry<Optimizer>('OPTIMIZERS');
export const OPTIM_WRAPPERS = new Registry<OptimWrapper>('OPTIM_WRAPPERS');
export const HOOKS = new Registry<Hook>('HOOKS');
export const DATASETS = new Registry<Dataset>('DATASETS');
export const DATA_SAMPLERS = new Registry<Sampler>('DATA_SAMPLERS');
export const METRICS = new Registry<Metric>('METRICS');
export const LOOPS = new Registry<Loop>('LOOPS');
