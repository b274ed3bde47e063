// anvil-train's public API: the engine (runner, hooks, optimizers, store, models, data),
// its registries, and the native kernels' version. Importing it registers every built-in type.

export { AnvilError } from './errors';
export { native } from './native';
export * from './registry';
export { Bucket, numel } from './store/bucket';
export type { BucketOptions, GradDtype } from './store/bucket';
export { packBucket, Parameter } from './store/parameter';
export { ModelBuffer, ParameterStore } from './store/store';
export { Module } from './nn/module';
export type { ModelDescription, ModuleInfo } from './nn/module';
export { Linear } from './nn/linear';
export type { LinearOptions } from './nn/linear';
export { ReLU } from './nn/relu';
export * from './nn';
export { TfjsModel } from './adapters/tfjs';
export type { TfjsModelOptions, TfLike, TfTensorLike, TfVariableLike } from './adapters/tfjs';
export * from './optim';
export * from './models';
export * from './ema';
export * from './data';
export * from './evaluation';
export * from './hooks';
export * from './dist';
export * from './runner';
export * from './visualization';
export { Config, ConfigError, loadConfig } from './config';
export type { CfgOptions, ConfigLoadOptions, ConfigObject, DumpFormat } from './config';
export { runConformance } from './conformance';
export type { ConformanceSummary } from './conformance';
export { Rng } from './util/rng';
export { setRandomSeed } from './util/random';
export { numThreads, setNumThreads } from './threads';
