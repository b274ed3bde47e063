// Distributed data-parallel training: process groups over MPI or NCCL, the launchers, and the
// pieces the runner consults (gradient averaging, model broadcast, buffer sync, evaluation).

export type { Backend, Collective, PendingReduce, ReduceOp } from './collective';
export { NativeCollective } from './collective';
export { finalizeDist, getDist, getDistInfo, isDistributed, isMainProcess, setDist } from './context';
export type { DistContext } from './context';
export { allReduceBuffers, allReduceGradients, broadcastModel, optimizerBuckets, syncSeed } from './data-parallel';
export { collectResults, DistEvaluator } from './evaluator';
export { GradSync } from './grad-sync';
export type { GradSyncOptions, GradSyncStats } from './grad-sync';
export { initDist, LAUNCHERS, readDistCfg, readLaunchEnv } from './launch';
export type { DistCfg, LaunchEnv, Launcher } from './launch';
export { mpiAddonPath } from './native-dist';
export { launchWorkers, workerEnvs } from './spawn';
export type { DistLaunchOptions } from './spawn';
