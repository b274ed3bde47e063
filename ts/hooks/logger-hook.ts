// LoggerHook (MMEngine's, BELOW_NORMAL): every `interval` iterations logs the train/val/test line
// through the log processor, and after each evaluation the metrics; the same records go to the
// visualizer (`vis_data/scalars.json` and `vis_data/<timestamp>.json` with LocalVisBackend).
// On a terminal (not CI) it also keeps a progress bar of training and of each evaluation pass on
// the last line (see progress-bar.ts); elsewhere the output is plain lines only.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError } from '../errors';
import type { Runner } from '../runner/runner';
import { Hook } from './hook';
import { ProgressBar, ProgressLine, progressWanted, type ProgressStream } from './progress-bar';
import { isMainProcess } from '../dist/context';

export interface LoggerHookOptions {
  /** Log every `interval` iterations. Default 10. */
  interval?: number;
  /** Skip the last iterations of an epoch that do not fill an interval. Default true. */
  ignoreLast?: boolean;
  /** Log the experiment name every this many iterations (and at each epoch's end). Default 1000. */
  intervalExpName?: number;
  /** Validation metrics are recorded at the epoch (true) or the iteration (false). Default true. */
  logMetricByEpoch?: boolean;
  /** Show a progress bar (TypeScript API only). Default: when `progressStream` is a terminal and CI is not set. */
  progress?: boolean;
  /** Where the bar is drawn (TypeScript API only; tests pass a fake terminal). Default process.stdout. */
  progressStream?: ProgressStream;
}

export class LoggerHook extends Hook {
  override priority = 60;
  readonly interval: number;
  readonly ignoreLast: boolean;
  readonly intervalExpName: number;
  readonly logMetricByEpoch: boolean;
  /** `<timestamp>.json`: the per-run scalar file beside the visualizer's `scalars.json`. */
  private jsonLogPath: string | null = null;
  readonly progress: boolean;
  private readonly progressStream: ProgressStream;
  /** The bar line while a run is on; one bar for training, one for the evaluation pass under way. */
  private line: ProgressLine | null = null;
  private trainBar: ProgressBar | null = null;
  private evalBar: ProgressBar | null = null;

  constructor(options: LoggerHookOptions = {}) {
    super();
    const { interval = 10, ignoreLast = true, intervalExpName = 1000, logMetricByEpoch = true, progressStream = process.stdout } = options;
    // Distributed: only rank 0 draws (the others do not log either).
    const progress = options.progress ?? (progressWanted(progressStream) && isMainProcess());
    if (!Number.isInteger(interval) || interval < 1) throw new AnvilError(`LoggerHook: interval must be a positive integer, got ${JSON.stringify(interval)}`);
    if (!Number.isInteger(intervalExpName) || intervalExpName < 1) {
      throw new AnvilError(`LoggerHook: interval_exp_name must be a positive integer, got ${JSON.stringify(intervalExpName)}`);
    }
    if (typeof ignoreLast !== 'boolean') throw new AnvilError(`LoggerHook: ignore_last must be a boolean, got ${JSON.stringify(ignoreLast)}`);
    if (typeof logMetricByEpoch !== 'boolean') throw new AnvilError(`LoggerHook: log_metric_by_epoch must be a boolean, got ${JSON.stringify(logMetricByEpoch)}`);
    this.interval = interval;
    this.ignoreLast = ignoreLast;
    this.intervalExpName = intervalExpName;
    this.logMetricByEpoch = logMetricByEpoch;
    if (typeof progress !== 'boolean') throw new AnvilError(`LoggerHook: progress must be a boolean, got ${JSON.stringify(progress)}`);
    this.progress = progress;
    this.progressStream = progressStream;
  }

  override beforeRun(runner: Runner): void {
    this.jsonLogPath = `${runner.timestamp}.json`;
    runner.logger.info(`Logging every ${this.interval} iterations; work_dir: ${runner.workDir ?? '(none)'}`);
    if (this.progress && this.line === null) this.line = new ProgressLine(this.progressStream);
  }

  override afterTrainIter(runner: Runner, batchIdx: number): void {
    const loader = runner.trainDataloader;
    if (this.everyNTrainIters(runner, this.intervalExpName) || this.endOfEpoch(loader, batchIdx)) {
      runner.logger.info(`Exp name: ${runner.experimentName}`);
    }
    const endLog = this.endOfEpoch(loader, batchIdx) && (!this.ignoreLast || (loader?.length ?? 0) <= this.interval);
    if (this.everyNInnerIters(batchIdx, this.interval) || endLog) {
      const { tag, line } = runner.logProcessor.afterIter(runner, batchIdx, 'train');
      runner.logger.info(line);
      runner.visualizer.addScalars(tag, runner.iter + 1, this.jsonLogPath ?? undefined);
    }
    if (this.line) {
      // The first iteration only starts the clock (the bar has no earlier point to time from).
      this.trainBar ??= new ProgressBar(runner.maxIters, runner.iter + 1);
      this.line.show(this.trainBar.render(runner.iter + 1, this.line.columns));
    }
  }

  override afterValIter(runner: Runner, batchIdx: number): void {
    if (this.everyNInnerIters(batchIdx, this.interval)) runner.logger.info(runner.logProcessor.afterIter(runner, batchIdx, 'val').line);
    this.showEvalBar(runner.valDataloader?.length ?? 0, batchIdx);
  }

  override afterTestIter(runner: Runner, batchIdx: number): void {
    if (this.everyNInnerIters(batchIdx, this.interval)) runner.logger.info(runner.logProcessor.afterIter(runner, batchIdx, 'test').line);
    this.showEvalBar(runner.testDataloader?.length ?? 0, batchIdx);
  }

  /** The evaluation pass's bar: a new one at its first batch. */
  private showEvalBar(total: number, batchIdx: number): void {
    if (!this.line) return;
    if (batchIdx === 0 || this.evalBar === null) this.evalBar = new ProgressBar(total, batchIdx + 1);
    this.line.show(this.evalBar.render(batchIdx + 1, this.line.columns));
  }

  /** The pass is over: its bar goes before the metrics line (training's comes back at its next iteration). */
  private endEvalBar(): void {
    this.evalBar = null;
    this.line?.clear();
  }

  override afterValEpoch(runner: Runner): void {
    this.endEvalBar();
    const { tag, line } = runner.logProcessor.afterEpoch(runner, 'val');
    runner.logger.info(line);
    const training = runner.trainLoop !== null;
    const step = this.logMetricByEpoch ? (training ? runner.epoch : 0) : training ? runner.iter : 0;
    runner.visualizer.addScalars(tag, step, this.jsonLogPath ?? undefined);
  }

  /** The test metrics also go to `<run>/<timestamp>.json` (one JSON dict), as MMEngine dumps them. */
  override afterTestEpoch(runner: Runner): void {
    this.endEvalBar();
    const { tag, line } = runner.logProcessor.afterEpoch(runner, 'test');
    runner.logger.info(line);
    if (runner.runDir && this.jsonLogPath) fs.writeFileSync(path.join(runner.runDir, this.jsonLogPath), JSON.stringify(tag) + '\n');
  }

  override afterRun(runner: Runner): void {
    this.line?.dispose();
    this.line = null;
    this.trainBar = null;
    runner.visualizer.close();
    runner.logger.info('Run finished');
  }
}
