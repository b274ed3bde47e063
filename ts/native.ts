// The loaded napi-rs addon: the one place that knows where the binary lives.
// Every numeric hot path in the engine goes through the functions exported here.

import type * as Native from '../native/index';
import { nativeLoadError } from './platform';

function loadNative(): typeof Native {
  try {
    // napi-rs's generated loader: ./anvil.<platform>.node, else the anvil-train-<platform> package.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('../native/index.js');
  } catch (e) {
    throw nativeLoadError(e);
  }
}

export const native: typeof Native = loadNative();

export type { AdamOptions, BucketArrays, SgdOptions, StepBucket } from '../native/index';
