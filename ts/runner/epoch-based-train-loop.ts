// EpochBasedTrainLoop (MMEngine's): trains `maxEpochs` passes over the dataloader, calling the
// epoch and iteration hooks, and validates after every `valInterval`-th epoch from `valBegin` on.

import { AnvilError } from '../errors';
import type { DataLoader } from '../data/dataloader';
import type { Loop } from './loops';
import type { Runner } from './runner';

export interface EpochBasedTrainLoopOptions {
  maxEpochs: number;
  /** The first epoch after which validation may run. Default 1. */
  valBegin?: number;
  /** Validate after every this many epochs (and after the last). Default 1. */
  valInterval?: number;
}

export class EpochBasedTrainLoop implements Loop {
  readonly byEpoch = true;
  readonly maxEpochs: number;
  readonly maxIters: number;
  readonly valBegin: number;
  readonly valInterval: number;

  constructor(
    private readonly runner: Runner,
    readonly dataloader: DataLoader,
    options: EpochBasedTrainLoopOptions,
  ) {
    const { maxEpochs, valBegin = 1, valInterval = 1 } = options;
    if (!Number.isInteger(maxEpochs) || maxEpochs < 1) throw new AnvilError(`train_cfg.max_epochs must be a positive integer, got ${JSON.stringify(maxEpochs)}`);
    if (!Number.isInteger(valInterval) || valInterval < 1) throw new AnvilError(`train_cfg.val_interval must be a positive integer, got ${JSON.stringify(valInterval)}`);
    if (!Number.isInteger(valBegin)) throw new AnvilError(`train_cfg.val_begin must be an integer, got ${JSON.stringify(valBegin)}`);
    if (dataloader.length < 1) throw new AnvilError('train_dataloader yields no batches (empty dataset?)');
    this.maxEpochs = maxEpochs;
    this.maxIters = maxEpochs * dataloader.length;
    this.valBegin = valBegin;
    this.valInterval = valInterval;
  }

  run(): void {
    const r = this.runner;
    r.callHook('before_train');
    r.optimWrapper!.initializeCountStatus(r.state.iter, this.maxIters);
    while (r.state.epoch < this.maxEpochs) {
      this.runEpoch();
      const e = r.state.epoch;
      if (r.valLoop && e >= this.valBegin && (e % this.valInterval === 0 || e === this.maxEpochs)) r.valLoop.run();
    }
    r.callHook('after_train');
  }

  /** One pass: the sampler's epoch is set by DistSamplerSeedHook (before_train_epoch), as in MMEngine. */
  private runEpoch(): void {
    const r = this.runner;
    r.callHook('before_train_epoch');
    r.model.train();
    // A resumed run re-enters the epoch of its checkpoint: the batch numbering goes on (the
    // dataloader skips the consumed batches), and an epoch whose batches were all consumed before
    // the checkpoint runs only its end (schedulers, epoch checkpoints, validation), which MMEngine
    // would instead train again. (MMEngine 0.10 re-trains a resumed epoch whole, numbering it from
    // batch 0; as no batch is replayed here, numbering on keeps LoggerHook's every-interval and
    // end-of-epoch lines where the uninterrupted run has them.)
    let idx = Math.max(0, r.state.iter - r.state.epoch * this.dataloader.length);
    if (idx < this.dataloader.length) {
      for (const batch of this.dataloader) {
        r.callHook('before_train_iter', idx, batch);
        const outputs = r.trainStep(batch);
        r.callHook('after_train_iter', idx, batch, outputs);
        r.state.iter += 1;
        idx++;
      }
    }
    r.callHook('after_train_epoch');
    r.state.epoch += 1;
  }
}
