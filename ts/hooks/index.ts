// Registers the hooks in HOOKS under MMEngine's type names.

import { HOOKS } from '../registry';
import { IterTimerHook } from './iter-timer-hook';
import { LoggerHook } from './logger-hook';
import { ParamSchedulerHook } from './param-scheduler-hook';
import { RuntimeInfoHook } from './runtime-info-hook';
import { DistSamplerSeedHook } from './sampler-seed-hook';

export { Hook, STAGES, stageMethod } from './hook';
export type { Mode, Stage } from './hook';
export { IterTimerHook } from './iter-timer-hook';
export { LoggerHook } from './logger-hook';
export type { LoggerHookOptions } from './logger-hook';
export { ParamSchedulerHook } from './param-scheduler-hook';
export { getPriority, PRIORITY, priorityName } from './priority';
export type { PriorityName } from './priority';
export { RuntimeInfoHook } from './runtime-info-hook';
export { DistSamplerSeedHook } from './sampler-seed-hook';

HOOKS.registerClass('RuntimeInfoHook', RuntimeInfoHook, { accepts: [] });
HOOKS.registerClass('IterTimerHook', IterTimerHook, { accepts: [] });
HOOKS.registerClass('LoggerHook', LoggerHook, { accepts: ['interval', 'ignore_last', 'log_metric_by_epoch'] });
HOOKS.registerClass('DistSamplerSeedHook', DistSamplerSeedHook, { accepts: [] });
HOOKS.registerClass('ParamSchedulerHook', ParamSchedulerHook, { accepts: [] });
