// The loaded napi-rs addon: the one place that knows where the binary lives.
// Every numeric hot path in the engine goes through the functions exported here.

import type * as Native from '../native/index';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: typeof Native = require('../native/index.js');

export type { AdamOptions, BucketArrays, SgdOptions } from '../native/index';
