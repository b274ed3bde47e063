// RuntimeInfoHook: copies the runner's state into the message hub each iteration (lr before
// the step, the losses after it, the metrics after evaluation) for loggers to read.

import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export class RuntimeInfoHook extends Hook {
  override priority = 10;

  override beforeTrainIter(runner: Runner): void {
    runner.messageHub.updateInfo('iter', runner.iter);
    // MMEngine logs every entry of get_lr(): `base_lr` (several groups) and `lr`, group 0's.
    for (const [name, lrs] of Object.entries(runner.optimWrapper?.getLr() ?? {})) {
      if (lrs !== undefined && lrs.length > 0) runner.messageHub.updateScalar(`train/${name}`, lrs[0]);
    }
  }

  override afterTrainIter(runner: Runner, _batchIdx: number, _dataBatch: unknown, outputs: unknown): void {
    for (const [key, value] of Object.entries((outputs ?? {}) as Record<string, number>)) {
      runner.messageHub.updateScalar(`train/${key}`, value);
    }
  }

  override afterValEpoch(runner: Runner, metrics: Record<string, number>): void {
    for (const [key, value] of Object.entries(metrics)) runner.messageHub.updateScalar(`val/${key}`, value);
  }

  override afterTestEpoch(runner: Runner, metrics: Record<string, number>): void {
    for (const [key, value] of Object.entries(metrics)) runner.messageHub.updateScalar(`test/${key}`, value);
  }
}
