// The loops (MMEngine's loops.py): small classes that walk a dataloader and call the model
// and the hooks in MMEngine's order. The runner owns the state they advance.

import { AnvilError } from '../errors';
import type { DataLoader } from '../data/dataloader';
import type { Evaluator } from '../evaluation/metric';
import { withCurrentLogger } from './logger';
import type { Runner } from './runner';

export interface Loop {
  run(): unknown;
}

export interface IterBasedTrainLoopOptions {
  maxIters: number;
  valBegin?: number;
  valInterval?: number;
}

/** Trains for `maxIters` iterations, cycling the dataloader; validates every `valInterval`. */
export class IterBasedTrainLoop implements Loop {
  readonly byEpoch = false;
  /** The whole run is one big epoch, as in MMEngine. */
  readonly maxEpochs = 1;
  readonly maxIters: number;
  readonly valBegin: number;
  readonly valInterval: number;

  constructor(
    private readonly runner: Runner,
    readonly dataloader: DataLoader,
    options: IterBasedTrainLoopOptions,
  ) {
    const { maxIters, valBegin = 1, valInterval = 1000 } = options;
    if (!Number.isInteger(maxIters) || maxIters < 1) throw new AnvilError(`train_cfg.max_iters must be a positive integer, got ${JSON.stringify(maxIters)}`);
    if (!Number.isInteger(valInterval) || valInterval < 1) throw new AnvilError(`train_cfg.val_interval must be a positive integer, got ${JSON.stringify(valInterval)}`);
    this.maxIters = maxIters;
    this.valBegin = valBegin;
    this.valInterval = valInterval;
  }

  run(): void {
    const r = this.runner;
    r.callHook('before_train');
    r.callHook('before_train_epoch');
    const batches = this.infiniteBatches();
    r.optimWrapper!.initializeCountStatus(r.state.iter, this.maxIters);
    while (r.state.iter < this.maxIters) {
      r.model.train();
      this.runIter(batches.next().value as unknown);
      const it = r.state.iter;
      if (r.valLoop && it >= this.valBegin && (it % this.valInterval === 0 || it === this.maxIters)) r.valLoop.run();
    }
    r.callHook('after_train_epoch');
    r.callHook('after_train');
  }

  private runIter(batch: unknown): void {
    const r = this.runner;
    const idx = r.state.iter;
    r.callHook('before_train_iter', idx, batch);
    const outputs = r.trainStep(batch);
    r.callHook('after_train_iter', idx, batch, outputs);
    r.state.iter += 1;
  }

  /** The dataloader over and over; each new pass is a new sampler epoch, as MMEngine does. */
  private *infiniteBatches(): Generator<unknown> {
    for (let epoch = 0; ; epoch++) {
      this.dataloader.sampler.setEpoch(epoch);
      let any = false;
      for (const batch of this.dataloader) {
        any = true;
        yield batch;
      }
      if (!any) throw new AnvilError('train_dataloader yields no batches (empty dataset?)');
    }
  }
}

/** One pass over the validation (or test) dataloader, then the evaluator's metrics. */
export class ValLoop implements Loop {
  constructor(
    private readonly runner: Runner,
    readonly dataloader: DataLoader,
    readonly evaluator: Evaluator,
    private readonly mode: 'val' | 'test' = 'val',
  ) {}

  run(): Record<string, number> {
    return withCurrentLogger(this.runner.logger, () => this.runPass());
  }

  private runPass(): Record<string, number> {
    const r = this.runner;
    const m = this.mode;
    // As MMEngine's ValLoop: the dataset's metainfo (classes, palette) goes to the metrics and the visualizer.
    const meta = (this.dataloader.dataset as { metainfo?: Record<string, unknown> }).metainfo;
    if (meta !== undefined) {
      this.evaluator.datasetMeta = meta;
      r.visualizer.datasetMeta = meta;
    }
    r.callHook(`before_${m}`);
    r.callHook(`before_${m}_epoch`);
    r.model.eval();
    let idx = 0;
    for (const batch of this.dataloader) {
      r.callHook(`before_${m}_iter`, idx, batch);
      const outputs = m === 'val' ? r.model.valStep(batch) : r.model.testStep(batch);
      this.evaluator.process(batch, outputs);
      r.callHook(`after_${m}_iter`, idx, batch, outputs);
      idx++;
    }
    const metrics = this.evaluator.evaluate(this.dataloader.dataset.length);
    r.callHook(`after_${m}_epoch`, metrics);
    r.callHook(`after_${m}`);
    r.lastMetrics[m] = metrics;
    return metrics;
  }
}

/** MMEngine's TestLoop: one pass over the test dataloader with the test hooks, then the metrics. */
export class TestLoop extends ValLoop {
  constructor(runner: Runner, dataloader: DataLoader, evaluator: Evaluator) {
    super(runner, dataloader, evaluator, 'test');
  }
}
