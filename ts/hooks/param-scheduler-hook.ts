// ParamSchedulerHook (MMEngine's, priority LOW): steps the runner's iter-based schedulers after
// every training iteration, the epoch-based ones after every training epoch, and ReduceOnPlateau
// schedulers with the metrics after every validation epoch.

import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export class ParamSchedulerHook extends Hook {
  override priority = 70;

  override afterTrainIter(runner: Runner): void {
    for (const s of runner.paramSchedulers) if (!s.byEpoch) s.step();
  }

  override afterTrainEpoch(runner: Runner): void {
    for (const s of runner.paramSchedulers) if (s.byEpoch) s.step();
  }

  override afterValEpoch(runner: Runner, metrics: Record<string, number>): void {
    if (!metrics) return;
    for (const s of runner.paramSchedulers) if (s.byEpoch && s.needValArgs) s.step(metrics);
  }
}
