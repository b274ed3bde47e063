// The batch and sample types the bundled datasets and models exchange.

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

/**
 * Images with one class label each: `inputs` is NCHW (`shape` = [N, C, H, W]). It is also a
 * ClassificationBatch over the same memory (`features` = C * H * W), so row models take it too.
 */
export interface ImageBatch extends ClassificationBatch {
  shape: [number, number, number, number];
}

/** Images NCHW with a class index per pixel (`labels` [N, H, W]; ignore_index marks unlabelled). */
export interface SegmentationBatch {
  inputs: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  size: number;
  /** The images as loaded (0-255, NCHW like `inputs`), before normalisation: what gets drawn. */
  rawInputs?: Uint8Array;
}

/** One image, CHW row-major: 0-255 bytes, or floats when the batch carried no raw pixels. */
export interface SampleImage {
  data: Float32Array | Uint8Array;
  channels: number;
  height: number;
  width: number;
}

export interface SegmentationOutput {
  /** Predicted class per pixel, [H, W] row-major. */
  predSeg: Int32Array;
  gtSeg: Int32Array;
  /** The sample's input image (MMSeg's visualizer draws the masks over it). */
  img?: SampleImage;
}

/** The batch's NCHW shape when it carries one. */
export function imageShape(batch: object): [number, number, number, number] | null {
  const s = (batch as { shape?: unknown }).shape;
  return Array.isArray(s) && s.length === 4 ? (s as [number, number, number, number]) : null;
}
