// LoggerHook: every `interval` iterations prints the train line (loss, lr, time, ETA), and
// after each evaluation the metrics, through the runner's log processor and logger.

import { AnvilError } from '../errors';
import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export interface LoggerHookOptions {
  interval?: number;
  ignoreLast?: boolean;
  logMetricByEpoch?: boolean;
}

export class LoggerHook extends Hook {
  override priority = 60;
  readonly interval: number;
  readonly ignoreLast: boolean;

  constructor(options: LoggerHookOptions = {}) {
    super();
    this.interval = options.interval ?? 10;
    if (!Number.isInteger(this.interval) || this.interval < 1) {
      throw new AnvilError(`LoggerHook: interval must be a positive integer, got ${JSON.stringify(options.interval)}`);
    }
    this.ignoreLast = options.ignoreLast ?? true;
  }

  override beforeRun(runner: Runner): void {
    runner.logger.info(`Logging every ${this.interval} iterations; work_dir: ${runner.workDir ?? '(none)'}`);
  }

  override afterTrainIter(runner: Runner): void {
    const done = runner.iter + 1;
    const last = !this.ignoreLast && done === runner.maxIters;
    if (done % this.interval === 0 || last) {
      runner.logger.info(runner.logProcessor.trainLine(runner.messageHub, done, runner.maxIters));
    }
  }

  override afterValIter(runner: Runner, batchIdx: number): void {
    const total = runner.valLoop?.dataloader.length ?? 0;
    if ((batchIdx + 1) % this.interval === 0) {
      runner.logger.info(runner.logProcessor.valLine(runner.messageHub, 'val', batchIdx + 1, total));
    }
  }

  override afterValEpoch(runner: Runner, metrics: Record<string, number>): void {
    const total = runner.valLoop?.dataloader.length ?? 0;
    runner.logger.info(runner.logProcessor.valLine(runner.messageHub, 'val', total, total, metrics));
  }

  override afterRun(runner: Runner): void {
    runner.logger.info('Run finished');
  }
}
