// The dataset contract: a length and a batched getter (collation happens inside, on typed
// arrays, instead of per-sample objects).

export interface Dataset<Batch = unknown> {
  readonly length: number;
  getBatch(indices: readonly number[]): Batch;
}
