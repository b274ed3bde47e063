// SegLocalVisualizer (MMSegmentation's visualizer type): a Visualizer whose drawn sample is a
// segmentation summary: pixels per class in prediction and ground truth, and pixel accuracy.

import { AnvilError } from '../errors';
import { Visualizer, type VisualizerOptions } from './visualizer';

export interface SegLocalVisualizerOptions extends VisualizerOptions {
  /** Class names, indexed by class id. */
  classes?: string[] | null;
  /** RGB colour per class (kept for the drawing; the summary does not use it). */
  palette?: number[][] | null;
  /** Overlay opacity in [0, 1]. Default 0.8. */
  alpha?: number;
}

export class SegLocalVisualizer extends Visualizer {
  readonly classes: string[] | null;
  readonly palette: number[][] | null;
  readonly alpha: number;

  constructor(options: SegLocalVisualizerOptions = {}) {
    super(options);
    const { classes = null, palette = null, alpha = 0.8 } = options;
    if (typeof alpha !== 'number' || alpha < 0 || alpha > 1) throw new AnvilError(`SegLocalVisualizer: alpha must be in [0, 1], got ${JSON.stringify(alpha)}`);
    if (classes && palette && classes.length !== palette.length) {
      throw new AnvilError(`SegLocalVisualizer: classes (${classes.length}) and palette (${palette.length}) must have the same length`);
    }
    this.classes = classes;
    this.palette = palette;
    this.alpha = alpha;
  }

  protected override summarize(sample: unknown, drawGt: boolean, drawPred: boolean): Record<string, unknown> {
    const s = (sample ?? {}) as { predSeg?: ArrayLike<number>; gtSeg?: ArrayLike<number> };
    if (!s.predSeg) return super.summarize(sample, drawGt, drawPred);
    const out: Record<string, unknown> = { num_pixels: s.predSeg.length };
    if (drawPred) out.pred_pixels = this.counts(s.predSeg);
    if (drawGt && s.gtSeg) out.gt_pixels = this.counts(s.gtSeg);
    if (s.gtSeg && s.gtSeg.length === s.predSeg.length) {
      let right = 0;
      for (let i = 0; i < s.predSeg.length; i++) if (s.predSeg[i] === s.gtSeg[i]) right++;
      out.pixel_accuracy = s.predSeg.length ? right / s.predSeg.length : 0;
    }
    return out;
  }

  /** Pixels per class, keyed by class name when `classes` are known. */
  private counts(seg: ArrayLike<number>): Record<string, number> {
    const counts = new Map<number, number>();
    for (let i = 0; i < seg.length; i++) counts.set(seg[i], (counts.get(seg[i]) ?? 0) + 1);
    const out: Record<string, number> = {};
    for (const [c, n] of [...counts].sort((a, b) => a[0] - b[0])) out[this.classes?.[c] ?? String(c)] = n;
    return out;
  }
}
