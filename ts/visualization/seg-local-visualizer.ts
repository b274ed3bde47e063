// SegLocalVisualizer (MMSegmentation's visualizer type): a Visualizer whose drawn sample is a
// segmentation summary (pixels per class in prediction and ground truth, pixel accuracy) and,
// when the sample carries its image, MMSegmentation's drawing: the image with the ground truth's
// and the prediction's colour masks blended in at `alpha`, ground truth left, prediction right.

import { AnvilError } from '../errors';
import { concatHorizontal, toRgb, type VisImage } from './image';
import { Visualizer, type VisualizerOptions } from './visualizer';

/** MMSegmentation's default palette (its visualizer falls back to Cityscapes' classes and colours). */
const CITYSCAPES_PALETTE: readonly (readonly [number, number, number])[] = [
  [128, 64, 128], [244, 35, 232], [70, 70, 70], [102, 102, 156], [190, 153, 153], [153, 153, 153], [250, 170, 30],
  [220, 220, 0], [107, 142, 35], [152, 251, 152], [70, 130, 180], [220, 20, 60], [255, 0, 0], [0, 0, 142],
  [0, 0, 70], [0, 60, 100], [0, 80, 100], [0, 0, 230], [119, 11, 32],
];

/**
 * The palette used when none is given: Cityscapes' colours, then (for more classes) colours a
 * golden-angle hue step apart, so any class count gets distinct, reproducible colours.
 */
export function defaultPalette(numClasses: number): number[][] {
  return Array.from({ length: numClasses }, (_, i) => (i < CITYSCAPES_PALETTE.length ? [...CITYSCAPES_PALETTE[i]] : hsvColour((i * 137.508) % 360, 0.65, 0.95)));
}

function hsvColour(h: number, s: number, v: number): number[] {
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return Math.round(255 * (v - v * s * Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

export interface SegLocalVisualizerOptions extends VisualizerOptions {
  /** Class names, indexed by class id. */
  classes?: string[] | null;
  /** RGB colour per class, for the masks. Default: Cityscapes' colours, then generated ones. */
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
    palette?.forEach((c, i) => {
      if (!Array.isArray(c) || c.length !== 3 || c.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
        throw new AnvilError(`SegLocalVisualizer: palette[${i}] must be [r, g, b] with integers in 0..255, got ${JSON.stringify(c)}`);
      }
    });
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

  /**
   * MMSegmentation's `add_datasample` drawing: for ground truth and prediction (as drawn), the
   * image blended with the class colours at `alpha`, gt | pred side by side. Class ids outside
   * the classes (e.g. an ignore index) get no colour, as in MMSegmentation's `_draw_sem_seg`.
   */
  protected override draw(image: VisImage, sample: Record<string, unknown>, drawGt: boolean, drawPred: boolean, name: string): VisImage {
    const hw = image.height * image.width;
    const panels: VisImage[] = [];
    for (const [key, wanted] of [['gtSeg', drawGt], ['predSeg', drawPred]] as const) {
      const seg = sample[key] as ArrayLike<number> | undefined;
      if (!wanted || seg === undefined || seg === null) continue;
      if (typeof seg.length !== 'number' || seg.length !== hw) {
        throw new AnvilError(`SegLocalVisualizer: sample '${name}' ${key} must hold ${image.height}x${image.width} = ${hw} class ids (one per pixel of img), got ${seg.length}`);
      }
      panels.push(this.blend(toRgb(image), seg));
    }
    return panels.length ? concatHorizontal(panels) : image;
  }

  /**
   * The classes and colours drawn with: the dataset's metainfo once a loop has set it (MMEngine's
   * loops assign `visualizer.dataset_meta`), else the constructor's.
   */
  private meta(): { classes: string[] | null; palette: number[][] | null } {
    const m = this.datasetMeta ?? {};
    const classes = Array.isArray(m.classes) ? (m.classes as string[]) : this.classes;
    const palette = Array.isArray(m.palette) && (!classes || m.palette.length === classes.length) ? (m.palette as number[][]) : this.palette;
    return { classes, palette };
  }

  /** `image * (1 - alpha) + mask * alpha`, truncated to bytes as numpy's astype(uint8) does. */
  private blend(image: VisImage, seg: ArrayLike<number>): VisImage {
    const { classes, palette: given } = this.meta();
    const numClasses = classes?.length ?? given?.length ?? CITYSCAPES_PALETTE.length;
    const palette = given ?? defaultPalette(numClasses);
    const a = this.alpha;
    const out = new Uint8Array(image.data.length);
    for (let p = 0; p < seg.length; p++) {
      const c = seg[p];
      const colour = Number.isInteger(c) && c >= 0 && c < numClasses ? palette[c] : null;
      for (let k = 0; k < 3; k++) out[p * 3 + k] = Math.trunc(image.data[p * 3 + k] * (1 - a) + (colour ? colour[k] : 0) * a);
    }
    return { ...image, data: out };
  }

  /** Pixels per class, keyed by class name when `classes` are known. */
  private counts(seg: ArrayLike<number>): Record<string, number> {
    const counts = new Map<number, number>();
    for (let i = 0; i < seg.length; i++) counts.set(seg[i], (counts.get(seg[i]) ?? 0) + 1);
    const out: Record<string, number> = {};
    const { classes } = this.meta();
    for (const [c, n] of [...counts].sort((a, b) => a[0] - b[0])) out[classes?.[c] ?? String(c)] = n;
    return out;
  }
}
