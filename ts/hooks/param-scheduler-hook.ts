// ParamSchedulerHook (MMEngine's, priority LOW): steps the runner's iter-based schedulers after
// every training iteration, the epoch-based ones after every training epoch, and ReduceOnPlateau
// schedulers with the metrics after every validation epoch.
//
// Beyond MMEngine, opt-in per scheduler: `step_per_update=True` (iter-based schedulers only) steps
// it after the iterations that ended with an optimizer update, so under gradient accumulation
// (`optim_wrapper.accumulative_counts=k`) it advances every k-th iteration, its `begin`/`end`
// count updates, and each update uses the value the schedule gives that update:
//
//   optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1), accumulative_counts=4)
//   param_scheduler = [
//       dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50, step_per_update=True),
//       dict(type='CosineAnnealingLR', by_epoch=False, begin=50, step_per_update=True)]  # end: the run's updates
//
// A skipped AMP step (inf/NaN gradients) still counts as an update: the window closed.

import { AnvilError } from '../errors';
import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export class ParamSchedulerHook extends Hook {
  override priority = 70;

  // No before_train check: the hook takes part in exactly MMEngine's stages (hook_order).
  override afterTrainIter(runner: Runner): void {
    // Read once, before any scheduler steps: did this iteration close an accumulation window?
    let updated: boolean | undefined;
    for (const s of runner.paramSchedulers) {
      if (s.byEpoch) continue;
      if (s.stepPerUpdate && !(updated ??= optimizerUpdated(runner))) continue;
      s.step();
    }
  }

  override afterTrainEpoch(runner: Runner): void {
    for (const s of runner.paramSchedulers) if (s.byEpoch) s.step();
  }

  override afterValEpoch(runner: Runner, metrics: Record<string, number>): void {
    if (!metrics) return;
    for (const s of runner.paramSchedulers) if (s.byEpoch && s.needValArgs) s.step(metrics);
  }
}

function optimizerUpdated(runner: Runner): boolean {
  const wrapper = runner.optimWrapper as { shouldUpdate?: () => boolean } | null;
  if (typeof wrapper?.shouldUpdate !== 'function') {
    throw new AnvilError('ParamSchedulerHook: a scheduler with step_per_update=True needs an optim_wrapper that reports its updates (OptimWrapper, AmpOptimWrapper)');
  }
  return wrapper.shouldUpdate();
}
