// The runner, its loops and the pieces hooks use to log.

export { runnerFromConfig } from './build';
export type { FromConfigOptions } from './build';
export { findLatestCheckpoint, LAST_CHECKPOINT, loadCheckpoint, loadOrResume, modelStateDict, resumeCheckpoint, saveCheckpoint } from './checkpoint';
export type { LoadCheckpointOptions, LoadReport, SaveCheckpointOptions } from './checkpoint';
export { readCheckpointFile, writeCheckpointFile } from './checkpoint-file';
export type { CheckpointFile, TensorInfoOf, WriteCheckpointOptions } from './checkpoint-file';
export { EpochBasedTrainLoop } from './epoch-based-train-loop';
export type { EpochBasedTrainLoopOptions } from './epoch-based-train-loop';
export { LogProcessor, formatDuration } from './log-processor';
export type { LogMode, LogProcessorOptions, LogRecord } from './log-processor';
export { Logger } from './logger';
export { IterBasedTrainLoop, TestLoop, ValLoop } from './loops';
export type { IterBasedTrainLoopOptions, Loop } from './loops';
export { HistoryBuffer, MessageHub } from './message-hub';
export { DEFAULT_HOOKS, Runner } from './runner';
export type { HookSpec, RunnerOptions, TrainState } from './runner';

