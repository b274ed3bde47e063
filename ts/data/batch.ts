// The batch and sample types the bundled classification datasets and models exchange.

export interface ClassificationBatch {
  /** `size` rows of `features` values, row-major. */
  inputs: Float32Array;
  labels: Uint32Array;
  size: number;
  features: number;
}

export interface ClassificationOutput {
  predLabel: number;
  gtLabel: number;
}
