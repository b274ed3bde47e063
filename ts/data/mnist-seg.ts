// MNISTSegmentation: semantic segmentation labels made from the MNIST digits themselves. Each
// pixel is background (class 0) where the digit's ink is faint, else the digit's class + 1
// (11 classes); an optional band of intermediate intensities (the anti-aliased stroke edges)
// is labelled `ignore_index` (255), which the loss and IoUMetric skip, as MMSeg's datasets do.

import { AnvilError } from '../errors';
import type { SegmentationBatch } from './batch';
import type { Dataset } from './dataset';
import { MNIST, type MNISTOptions } from './mnist';

export interface MNISTSegmentationOptions extends MNISTOptions {
  /**
   * Pixel intensity (0-255) from which a pixel belongs to the digit. Default 128. Ignored when
   * `ignoreBand` is given.
   */
  threshold?: number;
  /**
   * `[low, high]`: pixels below `low` are background, at or above `high` the digit, those in
   * between are `ignoreIndex` (not scored). Default none: every pixel is labelled by `threshold`.
   */
  ignoreBand?: readonly [number, number] | null;
  /** Label of the uncertain band. Default 255 (MMSeg's ignore_index). */
  ignoreIndex?: number;
}

/** Class names and colours, as MMSeg datasets carry them (`METAINFO`; the visualizer draws with them). */
const METAINFO: { readonly classes: readonly string[]; readonly palette: readonly (readonly [number, number, number])[] } = Object.freeze({
  classes: Object.freeze(['background', ...Array.from({ length: 10 }, (_, d) => `digit_${d}`)]),
  palette: Object.freeze([
    [0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
    [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
  ].map((c) => Object.freeze(c as [number, number, number]))),
});

export class MNISTSegmentation implements Dataset<SegmentationBatch> {
  static readonly METAINFO = METAINFO;
  readonly mnist: MNIST;
  readonly length: number;
  readonly ignoreIndex: number;
  /** Label offset per intensity: 0 background, 1 digit, 2 ignored. */
  private readonly kind = new Uint8Array(256);

  constructor(options: MNISTSegmentationOptions = {}) {
    const { threshold = 128, ignoreBand = null, ignoreIndex = 255, ...mnist } = options;
    const [low, high] = ignoreBand ? checkBand(ignoreBand) : [checkLevel(threshold, 'threshold'), checkLevel(threshold, 'threshold')];
    if (!Number.isInteger(ignoreIndex) || (ignoreIndex >= 0 && ignoreIndex <= 10)) {
      throw new AnvilError(`MNISTSegmentation: ignore_index must be an integer outside the class ids 0-10, got ${JSON.stringify(ignoreIndex)}`);
    }
    for (let v = 0; v < 256; v++) this.kind[v] = v < low ? 0 : v >= high ? 1 : 2;
    this.mnist = new MNIST(mnist);
    this.length = this.mnist.length;
    this.ignoreIndex = ignoreIndex;
  }

  /** MMEngine's `BaseDataset.metainfo`: the classes and palette (the runner hands them to the metric and visualizer). */
  get metainfo(): { classes: string[]; palette: number[][] } {
    return { classes: [...METAINFO.classes], palette: METAINFO.palette.map((c) => [...c]) };
  }

  /** NCHW normalised images (as MNIST's), the label maps, and the raw 0-255 pixels for drawing. */
  getBatch(indices: readonly number[]): SegmentationBatch {
    const img = this.mnist.getBatch(indices);
    const hw = this.mnist.features;
    const labels = new Int32Array(indices.length * hw);
    const rawInputs = new Uint8Array(indices.length * hw);
    indices.forEach((idx, r) => {
      const src = this.mnist.images.subarray(idx * hw, (idx + 1) * hw);
      rawInputs.set(src, r * hw);
      const fg = this.mnist.labels[idx] + 1;
      for (let p = 0; p < hw; p++) {
        const k = this.kind[src[p]];
        labels[r * hw + p] = k === 0 ? 0 : k === 1 ? fg : this.ignoreIndex;
      }
    });
    return { inputs: img.inputs, shape: img.shape, labels, size: indices.length, rawInputs };
  }
}

function checkLevel(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 255) {
    throw new AnvilError(`MNISTSegmentation: ${name} must be an integer pixel intensity in [1, 255], got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkBand(band: unknown): [number, number] {
  if (!Array.isArray(band) || band.length !== 2) throw new AnvilError(`MNISTSegmentation: ignore_band must be (low, high), got ${JSON.stringify(band)}`);
  const low = checkLevel(band[0], 'ignore_band[0]');
  const high = checkLevel(band[1], 'ignore_band[1]');
  if (low > high) throw new AnvilError(`MNISTSegmentation: ignore_band must have low <= high, got (${low}, ${high})`);
  return [low, high];
}
