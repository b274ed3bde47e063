// The runner's `_build_param_scheduler`: a `param_scheduler` config (a dict or a list) becomes
// schedulers on the optimizer wrapper, with `end` defaulting to the run's length.

import { AnvilError } from '../../errors';
import { PARAM_SCHEDULERS } from '../../registry';
import { describe } from '../../registry/registry';
import type { OptimWrapper } from '../optim-wrapper';
import type { ParamScheduler } from './param-scheduler';

export interface ParamSchedulerRun {
  /** The train loop's length: the default `end` of iter-based schedulers. */
  maxIters: number;
  /** The default `end` of epoch-based schedulers (1 for an iter-based loop, as MMEngine's). */
  maxEpochs: number;
  /** Iterations per epoch (the train dataloader's length), for `convert_to_iter_based`. */
  epochLength: number;
}

/** Builds the schedulers in config order; `where` names the config key in errors. */
export function buildParamSchedulers(
  cfg: unknown,
  optimWrapper: OptimWrapper,
  run: ParamSchedulerRun | null,
  where = 'param_scheduler',
): ParamScheduler[] {
  if (cfg === null || cfg === undefined) return [];
  const list = Array.isArray(cfg) ? cfg : [cfg];
  return list.map((entry, i) => {
    const at = Array.isArray(cfg) ? `${where}[${i}]` : where;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new AnvilError(`${at}: scheduler should be a dict with a 'type', but got ${describe(entry)}`);
    }
    if (typeof (entry as ParamScheduler).step === 'function') return entry as ParamScheduler;
    const scheduler = { ...(entry as Record<string, unknown>) };
    // With step_per_update the iter counts become optimizer-update counts (see updateCounts).
    const per = scheduler.step_per_update === true ? updateCounts(optimWrapper, run, at) : null;
    if (run && scheduler.end === undefined) scheduler.end = scheduler.by_epoch === false ? (per?.maxUpdates ?? run.maxIters) : run.maxEpochs;
    const extra: Record<string, unknown> = { optimizer: optimWrapper };
    if (scheduler.convert_to_iter_based) extra.epoch_length = per ? per.epochUpdates() : run?.epochLength;
    else delete scheduler.convert_to_iter_based;
    return PARAM_SCHEDULERS.build<ParamScheduler>(scheduler, at, extra);
  });
}

/**
 * A step_per_update scheduler counts optimizer updates: `accumulative_counts` iterations make one
 * (the run's last, short window too, as OptimWrapper steps at the last iteration), so the default
 * `end` is the run's number of updates, and an epoch converts to `epoch_length / k` updates, which
 * must be whole: an update window straddling two epochs has no epoch boundary to convert to.
 */
function updateCounts(optimWrapper: OptimWrapper, run: ParamSchedulerRun | null, at: string) {
  const k = (optimWrapper as { accumulativeCounts?: unknown }).accumulativeCounts;
  if (!Number.isInteger(k) || (k as number) < 1) {
    throw new AnvilError(`${at}: step_per_update=True needs one OptimWrapper (with accumulative_counts) to count its updates`);
  }
  const counts = k as number;
  return {
    maxUpdates: run ? Math.ceil(run.maxIters / counts) : undefined,
    epochUpdates(): number | undefined {
      if (!run) return undefined;
      if (run.epochLength % counts !== 0) {
        throw new AnvilError(
          `${at}: convert_to_iter_based with step_per_update=True needs the epoch length (${run.epochLength} iterations) to be a multiple of optim_wrapper.accumulative_counts (${counts}), so that epochs hold whole updates`,
        );
      }
      return run.epochLength / counts;
    },
  };
}
