// SyncBuffersHook (MMEngine's, NORMAL): averages model buffers (BatchNorm statistics) across
// processes after each train epoch and before validation, so every rank evaluates and saves the
// same model. In one process each buffer is the only copy and the hook changes nothing.

import { allReduceBuffers } from '../dist/data-parallel';
import { getDist } from '../dist/context';
import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export class SyncBuffersHook extends Hook {
  /** Whether the buffers were just averaged at the end of a train epoch (validation follows it). */
  private calledInTrain = false;

  /** All-reduces (mean) the buffers at the end of every train epoch. */
  override afterTrainEpoch(runner: Runner): void {
    const group = getDist();
    if (!group) return;
    allReduceBuffers(runner.model, group);
    this.calledInTrain = true;
  }

  /** Before validation, unless the train epoch that just ended did it. */
  override beforeValEpoch(runner: Runner): void {
    const group = getDist();
    if (group && !this.calledInTrain) allReduceBuffers(runner.model, group);
    this.calledInTrain = false;
  }
}
