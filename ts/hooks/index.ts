// Registers the hooks in HOOKS under MMEngine's (and MMSegmentation's) type names.

import { HOOKS } from '../registry';
import { CheckpointHook } from './checkpoint-hook';
import { EMAHook } from './ema-hook';
import { EmptyCacheHook } from './empty-cache-hook';
import { IterTimerHook } from './iter-timer-hook';
import { LoggerHook } from './logger-hook';
import { NaiveVisualizationHook } from './naive-visualization-hook';
import { ParamSchedulerHook } from './param-scheduler-hook';
import { RuntimeInfoHook } from './runtime-info-hook';
import { DistSamplerSeedHook } from './sampler-seed-hook';
import { SegVisualizationHook } from './seg-visualization-hook';
import { SyncBuffersHook } from './sync-buffers-hook';

export { CheckpointHook } from './checkpoint-hook';
export type { CheckpointHookOptions } from './checkpoint-hook';
export { EMAHook } from './ema-hook';
export type { EMAHookOptions } from './ema-hook';
export { emptyDeviceCaches, EmptyCacheHook, registerDeviceCache } from './empty-cache-hook';
export type { EmptyCacheHookOptions } from './empty-cache-hook';
export { Hook, STAGES, stageMethod } from './hook';
export type { Mode, Stage } from './hook';
export { IterTimerHook } from './iter-timer-hook';
export { LoggerHook } from './logger-hook';
export type { LoggerHookOptions } from './logger-hook';
export { NaiveVisualizationHook } from './naive-visualization-hook';
export type { NaiveVisualizationHookOptions } from './naive-visualization-hook';
export { ParamSchedulerHook } from './param-scheduler-hook';
export { getPriority, PRIORITY, priorityName } from './priority';
export type { PriorityName } from './priority';
export { RuntimeInfoHook } from './runtime-info-hook';
export { DistSamplerSeedHook } from './sampler-seed-hook';
export { SegVisualizationHook } from './seg-visualization-hook';
export type { SegVisualizationHookOptions } from './seg-visualization-hook';
export { SyncBuffersHook } from './sync-buffers-hook';

HOOKS.registerClass('RuntimeInfoHook', RuntimeInfoHook, { accepts: [] });
HOOKS.registerClass('IterTimerHook', IterTimerHook, { accepts: [] });
HOOKS.registerClass('LoggerHook', LoggerHook, { accepts: ['interval', 'ignore_last', 'interval_exp_name', 'log_metric_by_epoch'] });
HOOKS.registerClass('DistSamplerSeedHook', DistSamplerSeedHook, { accepts: [] });
HOOKS.registerClass('ParamSchedulerHook', ParamSchedulerHook, { accepts: [] });
// EMAHook passes every other keyword to its averaged model, which checks them when it is built.
HOOKS.registerClass('EMAHook', EMAHook);
HOOKS.registerClass('EmptyCacheHook', EmptyCacheHook, { accepts: ['before_epoch', 'after_epoch', 'after_iter'] });
HOOKS.registerClass('SyncBuffersHook', SyncBuffersHook, { accepts: [] });
HOOKS.registerClass('NaiveVisualizationHook', NaiveVisualizationHook, { accepts: ['interval', 'draw_gt', 'draw_pred'] });
HOOKS.registerClass('SegVisualizationHook', SegVisualizationHook, { accepts: ['draw', 'interval', 'show', 'wait_time', 'backend_args'] });
HOOKS.registerClass('CheckpointHook', CheckpointHook, {
  accepts: ['interval', 'by_epoch', 'save_optimizer', 'save_param_scheduler', 'out_dir', 'max_keep_ckpts', 'save_last', 'save_best', 'rule', 'greater_keys', 'less_keys', 'file_client_args', 'filename_tmpl', 'backend_args', 'published_keys', 'save_begin'],
});
