// Param schedulers (MMEngine's): closed-form schedules over [begin, end) with counters as state,
// registered in PARAM_SCHEDULERS, and the runner's builder for a `param_scheduler` config.

import './register';

export { CosineAnnealingParamScheduler, CosineRestartParamScheduler, PolyParamScheduler } from './annealing';
export type { CosineAnnealingOptions, CosineRestartOptions, PolyOptions } from './annealing';
export { buildParamSchedulers } from './build';
export type { ParamSchedulerRun } from './build';
export {
  ConstantParamScheduler,
  ExponentialParamScheduler,
  LinearParamScheduler,
  MultiStepParamScheduler,
  StepParamScheduler,
} from './multiplicative';
export type { ConstantOptions, ExponentialOptions, LinearOptions, MultiStepOptions, StepOptions } from './multiplicative';
export { OneCycleParamScheduler } from './one-cycle';
export type { OneCycleOptions } from './one-cycle';
export { BaseParamScheduler, INF } from './param-scheduler';
export type { MomentumOption, ParamScheduler, ParamSchedulerOptions, Schedule, SchedulerTarget } from './param-scheduler';
export { ReduceOnPlateauParamScheduler } from './reduce-on-plateau';
export type { ReduceOnPlateauOptions } from './reduce-on-plateau';
export { schedulerBuilder } from './register';
export * from './variants';
