// The runner, its loops and the pieces hooks use to log.

export { runnerFromConfig } from './build';
export type { FromConfigOptions } from './build';
export { LogProcessor, formatDuration } from './log-processor';
export { Logger } from './logger';
export { IterBasedTrainLoop, ValLoop } from './loops';
export type { IterBasedTrainLoopOptions, Loop } from './loops';
export { HistoryBuffer, MessageHub } from './message-hub';
export { DEFAULT_HOOKS, Runner } from './runner';
export type { HookSpec, RunnerOptions, TrainState } from './runner';

