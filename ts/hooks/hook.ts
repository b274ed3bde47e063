// Hook base class: one no-op method per stage of MMEngine's Hook (camelCase here), the
// generic epoch/iter methods the mode-specific ones forward to, and which stages a hook
// subclass actually triggers (the methods it overrides), as MMEngine's get_triggered_stages.

import type { Runner } from '../runner/runner';
import { snakeToCamel } from '../util/names';

export type Mode = 'train' | 'val' | 'test';

/** MMEngine's `Hook.stages`, in call order. */
export const STAGES = [
  'before_run',
  'after_load_checkpoint',
  'before_train',
  'before_train_epoch',
  'before_train_iter',
  'after_train_iter',
  'after_train_epoch',
  'before_val',
  'before_val_epoch',
  'before_val_iter',
  'after_val_iter',
  'after_val_epoch',
  'after_val',
  'before_save_checkpoint',
  'after_train',
  'before_test',
  'before_test_epoch',
  'before_test_iter',
  'after_test_iter',
  'after_test_epoch',
  'after_test',
  'after_run',
] as const;

export type Stage = (typeof STAGES)[number];

/** Generic methods and the stages that call them by default. */
const GENERIC: Record<string, Stage[]> = {
  beforeEpoch: ['before_train_epoch', 'before_val_epoch', 'before_test_epoch'],
  afterEpoch: ['after_train_epoch', 'after_val_epoch', 'after_test_epoch'],
  beforeIter: ['before_train_iter', 'before_val_iter', 'before_test_iter'],
  afterIter: ['after_train_iter', 'after_val_iter', 'after_test_iter'],
};

export abstract class Hook {
  /** Set by the runner when the hook is registered (from the config's `priority`). */
  priority = 50;
  /**
   * The priority as the config spelled it when it was a name (`'normal'`): MMEngine's
   * `get_hooks_info` prints a string priority as written; null prints the level's name.
   */
  priorityText: string | null = null;

  beforeRun(_runner: Runner): void {}
  afterRun(_runner: Runner): void {}
  afterLoadCheckpoint(_runner: Runner, _checkpoint: Record<string, unknown>): void {}
  beforeSaveCheckpoint(_runner: Runner, _checkpoint: Record<string, unknown>): void {}

  beforeTrain(_runner: Runner): void {}
  afterTrain(_runner: Runner): void {}
  beforeVal(_runner: Runner): void {}
  afterVal(_runner: Runner): void {}
  beforeTest(_runner: Runner): void {}
  afterTest(_runner: Runner): void {}

  beforeTrainEpoch(runner: Runner): void {
    this.beforeEpoch(runner, 'train');
  }
  beforeValEpoch(runner: Runner): void {
    this.beforeEpoch(runner, 'val');
  }
  beforeTestEpoch(runner: Runner): void {
    this.beforeEpoch(runner, 'test');
  }
  afterTrainEpoch(runner: Runner): void {
    this.afterEpoch(runner, 'train');
  }
  afterValEpoch(runner: Runner, _metrics: Record<string, number>): void {
    this.afterEpoch(runner, 'val');
  }
  afterTestEpoch(runner: Runner, _metrics: Record<string, number>): void {
    this.afterEpoch(runner, 'test');
  }

  beforeTrainIter(runner: Runner, batchIdx: number, dataBatch: unknown): void {
    this.beforeIter(runner, batchIdx, dataBatch, 'train');
  }
  beforeValIter(runner: Runner, batchIdx: number, dataBatch: unknown): void {
    this.beforeIter(runner, batchIdx, dataBatch, 'val');
  }
  beforeTestIter(runner: Runner, batchIdx: number, dataBatch: unknown): void {
    this.beforeIter(runner, batchIdx, dataBatch, 'test');
  }
  afterTrainIter(runner: Runner, batchIdx: number, dataBatch: unknown, outputs: unknown): void {
    this.afterIter(runner, batchIdx, dataBatch, outputs, 'train');
  }
  afterValIter(runner: Runner, batchIdx: number, dataBatch: unknown, outputs: unknown): void {
    this.afterIter(runner, batchIdx, dataBatch, outputs, 'val');
  }
  afterTestIter(runner: Runner, batchIdx: number, dataBatch: unknown, outputs: unknown): void {
    this.afterIter(runner, batchIdx, dataBatch, outputs, 'test');
  }

  protected beforeEpoch(_runner: Runner, _mode: Mode): void {}
  protected afterEpoch(_runner: Runner, _mode: Mode): void {}
  protected beforeIter(_runner: Runner, _batchIdx: number, _dataBatch: unknown, _mode: Mode): void {}
  protected afterIter(_runner: Runner, _batchIdx: number, _dataBatch: unknown, _outputs: unknown, _mode: Mode): void {}

  /** MMEngine's `every_n_epochs`: whether `runner.epoch + 1 - start` is a positive multiple of n. */
  everyNEpochs(runner: Runner, n: number, start = 0): boolean {
    const dividend = runner.epoch + 1 - start;
    return dividend >= 0 && n > 0 ? dividend % n === 0 : false;
  }

  /** MMEngine's `every_n_inner_iters`: whether `batchIdx + 1` is a multiple of n. */
  everyNInnerIters(batchIdx: number, n: number): boolean {
    return n > 0 ? (batchIdx + 1) % n === 0 : false;
  }

  /** MMEngine's `every_n_train_iters`: whether `runner.iter + 1 - start` is a positive multiple of n. */
  everyNTrainIters(runner: Runner, n: number, start = 0): boolean {
    const dividend = runner.iter + 1 - start;
    return dividend >= 0 && n > 0 ? dividend % n === 0 : false;
  }

  /** MMEngine's `end_of_epoch`: the batch is the dataloader's last. */
  endOfEpoch(dataloader: { length: number } | null | undefined, batchIdx: number): boolean {
    return dataloader != null && batchIdx + 1 === dataloader.length;
  }

  isLastTrainEpoch(runner: Runner): boolean {
    return runner.epoch + 1 === runner.maxEpochs;
  }

  isLastTrainIter(runner: Runner): boolean {
    return runner.iter + 1 === runner.maxIters;
  }

  /** The stages this hook does something in: those whose method, or generic method, it overrides. */
  triggeredStages(): Stage[] {
    const overrides = (method: string) =>
      (this as unknown as Record<string, unknown>)[method] !== (Hook.prototype as unknown as Record<string, unknown>)[method];
    const stages = new Set<Stage>(STAGES.filter((s) => overrides(stageMethod(s))));
    for (const [method, mapped] of Object.entries(GENERIC)) if (overrides(method)) mapped.forEach((s) => stages.add(s));
    return STAGES.filter((s) => stages.has(s));
  }

  /** The class name MMEngine prints (registered type name). */
  get typeName(): string {
    return this.constructor.name;
  }
}

/** `before_train_iter` -> `beforeTrainIter`. */
export function stageMethod(stage: Stage): string {
  return snakeToCamel(stage);
}
