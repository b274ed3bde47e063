// IterTimerHook: measures data time and iteration time into the message hub and estimates
// the remaining training time (ETA) from the mean iteration time so far.

import type { Runner } from '../runner/runner';
import { Hook, type Mode } from './hook';

export class IterTimerHook extends Hook {
  private t = 0;
  private timeTotal = 0;
  private startIter = 0;

  override beforeTrain(runner: Runner): void {
    this.timeTotal = 0;
    this.startIter = runner.iter;
  }

  protected override beforeEpoch(): void {
    this.t = performance.now();
  }

  protected override beforeIter(runner: Runner, _batchIdx: number, _dataBatch: unknown, mode: Mode): void {
    runner.messageHub.updateScalar(`${mode}/data_time`, (performance.now() - this.t) / 1000);
  }

  protected override afterIter(runner: Runner, _batchIdx: number, _dataBatch: unknown, _outputs: unknown, mode: Mode): void {
    const now = performance.now();
    const iterTime = (now - this.t) / 1000;
    this.t = now;
    runner.messageHub.updateScalar(`${mode}/time`, iterTime);
    if (mode === 'train') {
      this.timeTotal += iterTime;
      const passed = runner.iter - this.startIter + 1;
      runner.messageHub.updateInfo('eta', (this.timeTotal / passed) * (runner.maxIters - runner.iter - 1));
    }
  }
}
