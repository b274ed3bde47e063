// SyncBuffersHook (MMEngine's, NORMAL): averages model buffers (BatchNorm statistics) across
// processes after each train epoch and before validation. Anvil trains in one process, where
// each buffer is the only copy, so the hook takes part in MMEngine's stages and changes nothing.

import { Hook } from './hook';

export class SyncBuffersHook extends Hook {
  /** Multi-process runs would all-reduce (mean) the buffers here; in one process they are in sync. */
  override afterTrainEpoch(): void {}

  /** Multi-process runs would all-reduce here unless the train epoch just did; in one process, nothing to do. */
  override beforeValEpoch(): void {}
}
