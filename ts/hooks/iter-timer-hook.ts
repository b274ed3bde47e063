// IterTimerHook (MMEngine's, NORMAL): measures data time and iteration time into the message
// hub and estimates the remaining time (ETA) of training, or of the current val/test pass.

import type { Runner } from '../runner/runner';
import { Hook, type Mode } from './hook';

export class IterTimerHook extends Hook {
  private t = 0;
  private timeSecTotal = 0;
  private timeSecTestVal = 0;
  private startIter = 0;

  /** Counts from the iteration training starts at (a resumed run's ETA uses only its own iterations). */
  override beforeTrain(runner: Runner): void {
    this.startIter = runner.iter;
  }

  protected override beforeEpoch(): void {
    this.t = performance.now();
  }

  protected override afterEpoch(): void {
    this.timeSecTestVal = 0;
  }

  protected override beforeIter(runner: Runner, _batchIdx: number, _dataBatch: unknown, mode: Mode): void {
    runner.messageHub.updateScalar(`${mode}/data_time`, (performance.now() - this.t) / 1000);
  }

  protected override afterIter(runner: Runner, batchIdx: number, _dataBatch: unknown, _outputs: unknown, mode: Mode): void {
    const now = performance.now();
    const iterTime = (now - this.t) / 1000;
    this.t = now;
    const hub = runner.messageHub;
    hub.updateScalar(`${mode}/time`, iterTime);
    if (mode === 'train') {
      this.timeSecTotal += iterTime;
      const passed = runner.iter - this.startIter + 1;
      hub.updateInfo('eta', (this.timeSecTotal / passed) * (runner.maxIters - runner.iter - 1));
    } else {
      const loader = mode === 'val' ? runner.valDataloader : runner.testDataloader;
      this.timeSecTestVal += iterTime;
      hub.updateInfo('eta', (this.timeSecTestVal / (batchIdx + 1)) * ((loader?.length ?? 0) - batchIdx - 1));
    }
  }
}
