// NaiveVisualizationHook (MMEngine's, NORMAL): hands the model graph to the visualizer before
// training and draws every `interval`-th test batch's predictions through it.

import { AnvilError } from '../errors';
import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export interface NaiveVisualizationHookOptions {
  /** Draw every `interval`-th test batch. Default 1. */
  interval?: number;
  drawGt?: boolean;
  drawPred?: boolean;
}

export class NaiveVisualizationHook extends Hook {
  readonly interval: number;
  readonly drawGt: boolean;
  readonly drawPred: boolean;

  constructor(options: NaiveVisualizationHookOptions = {}) {
    super();
    const { interval = 1, drawGt = true, drawPred = true } = options;
    if (!Number.isInteger(interval) || interval < 1) throw new AnvilError(`NaiveVisualizationHook: interval must be a positive integer, got ${JSON.stringify(interval)}`);
    this.interval = interval;
    this.drawGt = drawGt;
    this.drawPred = drawPred;
  }

  override beforeTrain(runner: Runner): void {
    runner.visualizer.addGraph(runner.model);
  }

  /** Each sample of the batch is drawn as `sample_<index in the test set>` (step 0, as MMEngine's). */
  override afterTestIter(runner: Runner, batchIdx: number, _dataBatch: unknown, outputs: unknown): void {
    if (!this.everyNInnerIters(batchIdx, this.interval)) return;
    const first = batchIdx * (runner.testDataloader?.batchSize ?? 0);
    asList(outputs).forEach((output, i) => {
      runner.visualizer.addDatasample(`sample_${first + i}`, output, { drawGt: this.drawGt, drawPred: this.drawPred });
    });
  }
}

export function asList(outputs: unknown): unknown[] {
  return Array.isArray(outputs) ? outputs : outputs === undefined || outputs === null ? [] : [outputs];
}
