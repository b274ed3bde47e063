// OptimWrapper (MMEngine's): gradient accumulation with MMEngine's loss scaling, the update
// cadence, lr/momentum reporting. Models compute gradients themselves (no autograd), so the
// wrapper hands them the factor to scale gradients by instead of scaling a loss tensor.

import { AnvilError } from '../errors';
import type { Optimizer } from './optimizer';

export interface OptimWrapperOptions {
  optimizer: Optimizer;
  accumulativeCounts?: number;
  clipGrad?: Record<string, unknown> | null;
}

export class OptimWrapper {
  readonly optimizer: Optimizer;
  readonly accumulativeCounts: number;
  private innerCount = 0;
  private maxCounts = -1;
  private remainderCounts = 0;

  constructor(options: OptimWrapperOptions) {
    this.optimizer = options.optimizer;
    const acc = options.accumulativeCounts ?? 1;
    if (!Number.isInteger(acc) || acc < 1) {
      throw new AnvilError(`OptimWrapper: accumulative_counts must be a positive integer, got ${JSON.stringify(acc)}`);
    }
    this.accumulativeCounts = acc;
    if (options.clipGrad != null) {
      throw new AnvilError('OptimWrapper: clip_grad needs the native clipping kernels, which this build does not have yet');
    }
  }

  /** MMEngine's `initialize_count_status`: called by the train loop before the first iteration. */
  initializeCountStatus(initCounts: number, maxCounts: number): void {
    this.innerCount = initCounts;
    this.maxCounts = maxCounts;
    if (initCounts % this.accumulativeCounts !== 0) {
      console.warn(`OptimWrapper: resumed iteration ${initCounts} is not divisible by accumulative_counts ${this.accumulativeCounts}`);
    }
    this.remainderCounts = maxCounts % this.accumulativeCounts;
  }

  /**
   * The factor the model multiplies its gradients by for the coming backward: MMEngine's
   * `scale_loss`, i.e. 1 / accumulative_counts, or 1 / remainder in the last, short window.
   */
  gradientScale(): number {
    return 1 / this.lossFactor();
  }

  private lossFactor(): number {
    if (this.accumulativeCounts === 1) return 1;
    if (this.maxCounts === -1) return this.accumulativeCounts;
    return this.innerCount < this.maxCounts - this.remainderCounts ? this.accumulativeCounts : this.remainderCounts;
  }

  /**
   * Called after the model accumulated gradients for `loss` (scaled by `gradientScale()`):
   * counts the backward, and steps and zeroes the gradients when an accumulation window closes.
   */
  updateParams(_loss: number): void {
    this.innerCount += 1;
    if (this.shouldUpdate()) {
      this.step();
      this.zeroGrad();
    }
  }

  shouldUpdate(): boolean {
    return this.innerCount % this.accumulativeCounts === 0 || this.innerCount === this.maxCounts;
  }

  /** MMEngine's `optim_context`: runs `fn` (forward and backward) for this wrapper. */
  optimContext<T>(fn: () => T): T {
    return fn();
  }

  step(): void {
    this.optimizer.step();
  }

  zeroGrad(): void {
    this.optimizer.zeroGrad();
  }

  /** `{lr: [per group]}`, as MMEngine's `get_lr`. */
  getLr(): { lr: number[] } {
    return { lr: this.optimizer.paramGroups.map((g) => g.lr) };
  }

  /** `{momentum: [per group]}`: `momentum`, or `betas[0]` for Adam-style optimizers, else 0. */
  getMomentum(): { momentum: number[] } {
    return {
      momentum: this.optimizer.paramGroups.map((g) => {
        if (typeof g.momentum === 'number') return g.momentum;
        if (Array.isArray(g.betas)) return g.betas[0] as number;
        return 0;
      }),
    };
  }

  get innerIter(): number {
    return this.innerCount;
  }
}
