// Visualizer (MMEngine's): the run's one place to record scalars, the config and drawn samples;
// it forwards each record to its backends (LocalVisBackend writes them under `<run>/vis_data`).

import type { VisBackend } from './local-vis-backend';

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

  addScalar(name: string, value: number, step = 0): void {
    for (const b of this.backends) b.addScalar(name, value, step);
  }

  /** MMEngine's `add_scalars(scalar_dict, step, file_path)`. */
  addScalars(scalars: Readonly<Record<string, number>>, step = 0, filePath?: string): void {
    for (const b of this.backends) b.addScalars(scalars, step, filePath);
  }

  /**
   * MMEngine's `add_datasample`: draws one sample's ground truth and prediction. Anvil records
   * the drawing as a summary (`summarize`) rather than an image.
   */
  addDatasample(name: string, sample: unknown, options: DatasampleOptions = {}): void {
    const { drawGt = true, drawPred = true, step = 0 } = options;
    const summary = this.summarize(sample, drawGt, drawPred);
    for (const b of this.backends) b.addPrediction(name, summary, step);
  }

  /** A classification sample's labels; other samples' fields (arrays by length). */
  protected summarize(sample: unknown, drawGt: boolean, drawPred: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries((sample ?? {}) as Record<string, unknown>)) {
      const isGt = /^gt/i.test(k);
      const isPred = /^pred/i.test(k);
      if ((isGt && !drawGt) || (isPred && !drawPred)) continue;
      out[k] = ArrayBuffer.isView(v) ? { length: (v as unknown as ArrayLike<number>).length } : v;
    }
    return out;
  }

  close(): void {
    for (const b of this.backends) b.close();
  }
}
