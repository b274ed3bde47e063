// RuntimeInfoHook: copies the runner's state into the message hub each iteration (lr before
// the step, the losses after it, the metrics after evaluation) for loggers to read.

import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export class RuntimeInfoHook extends Hook {
  override priority = 10;

  override beforeTrainIter(runner: Runner): void {
    runner.messageHub.updateInfo('iter', runner.iter);
    const lr = runner.optimWrapper?.getLr().lr[0];
    if (lr !== undefined) runner.messageHub.updateScalar('train/lr', lr);
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
