// Visualizer (MMEngine's): the run's one place to record scalars, the config, images and drawn
// samples; it forwards each record to its backends (LocalVisBackend writes them under
// `<run>/vis_data`, TensorboardVisBackend as event files there).

import { checkImage, sampleImage, type DatasampleImage, type VisImage } from './image';
import type { VisBackend } from './vis-backend';

export interface VisualizerOptions {
  name?: string;
  backends?: VisBackend[];
}

export interface DatasampleOptions {
  drawGt?: boolean;
  drawPred?: boolean;
  step?: number;
}

export class Visualizer {
  readonly name: string;
  readonly backends: readonly VisBackend[];
  /** MMEngine's `dataset_meta`: the evaluated dataset's metainfo (classes, palette), set by the val / test loops. */
  datasetMeta: Record<string, unknown> | null = null;

  constructor(options: VisualizerOptions = {}) {
    this.name = options.name ?? 'visualizer';
    this.backends = [...(options.backends ?? [])];
  }

  addConfig(cfg: Readonly<Record<string, unknown>>): void {
    for (const b of this.backends) b.addConfig(cfg);
  }

  addGraph(model: unknown): void {
    for (const b of this.backends) b.addGraph(model);
  }

  /** MMEngine's `add_image(name, image, step)`: an HWC byte image (1 gray, 3 RGB, 4 RGBA channels). */
  addImage(name: string, image: VisImage, step = 0): void {
    checkImage(image, `Visualizer.addImage('${name}')`);
    for (const b of this.backends) b.addImage(name, image, step);
  }

  addScalar(name: string, value: number, step = 0): void {
    for (const b of this.backends) b.addScalar(name, value, step);
  }

  /** MMEngine's `add_scalars(scalar_dict, step, file_path)`. */
  addScalars(scalars: Readonly<Record<string, number>>, step = 0, filePath?: string): void {
    for (const b of this.backends) b.addScalars(scalars, step, filePath);
  }

  /**
   * MMEngine's `add_datasample`: draws one sample's ground truth and prediction. Every sample
   * gets a JSON summary (`summarize`); a sample carrying its input image (`img`) is also drawn
   * (`draw`) and handed to the backends as an image named `name`.
   */
  addDatasample(name: string, sample: unknown, options: DatasampleOptions = {}): void {
    const { drawGt = true, drawPred = true, step = 0 } = options;
    const summary = this.summarize(sample, drawGt, drawPred);
    for (const b of this.backends) b.addPrediction(name, summary, step);
    const img = (sample as { img?: DatasampleImage } | null)?.img;
    if (img === undefined || img === null) return;
    const drawn = this.draw(sampleImage(img, `addDatasample('${name}')`), sample as Record<string, unknown>, drawGt, drawPred, name);
    for (const b of this.backends) b.addImage(name, drawn, step);
  }

  /**
   * The drawing of a sample with an image: here the image itself (a classification sample's
   * labels stay in the summary: Anvil draws no text). Subclasses overlay their predictions.
   */
  protected draw(image: VisImage, _sample: Record<string, unknown>, _drawGt: boolean, _drawPred: boolean, _name: string): VisImage {
    return image;
  }

  /** A classification sample's labels; other samples' fields (arrays by length, the image by its shape). */
  protected summarize(sample: unknown, drawGt: boolean, drawPred: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries((sample ?? {}) as Record<string, unknown>)) {
      const isGt = /^gt/i.test(k);
      const isPred = /^pred/i.test(k);
      if ((isGt && !drawGt) || (isPred && !drawPred)) continue;
      if (k === 'img' && v && typeof v === 'object') {
        const { channels, height, width } = v as DatasampleImage;
        out[k] = { channels, height, width };
      } else {
        out[k] = ArrayBuffer.isView(v) ? { length: (v as unknown as ArrayLike<number>).length } : v;
      }
    }
    return out;
  }

  close(): void {
    for (const b of this.backends) b.close();
  }
}
