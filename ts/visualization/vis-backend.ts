// What a visualizer hands its backends: MMEngine's BaseVisBackend methods, camelCase.

import { Config } from '../config';
import { AnvilError } from '../errors';
import type { VisImage } from './image';

/** The config as Python text (what MMEngine's backends save), or null when it has no Python form. */
export function configText(cfg: Readonly<Record<string, unknown>>): string | null {
  try {
    return Config.fromDict(cfg).format('py');
  } catch (e) {
    if (e instanceof AnvilError) return null;
    throw e;
  }
}

export interface VisBackend {
  addConfig(cfg: Readonly<Record<string, unknown>>): void;
  /** A model graph; backends that draw none ignore it, as MMEngine's LocalVisBackend does. */
  addGraph(model: unknown): void;
  /** MMEngine's `add_image`: an RGB (or gray) image, HWC bytes. */
  addImage(name: string, image: VisImage, step: number): void;
  addScalar(name: string, value: number, step: number): void;
  /** One record `{...scalars, step}`; with `filePath` it also goes to that file beside the default one. */
  addScalars(scalars: Readonly<Record<string, number>>, step: number, filePath?: string): void;
  /** A drawn sample's JSON summary (prediction and ground truth) named `<name>_<step>`; backends without a place for it ignore it. */
  addPrediction(name: string, summary: Readonly<Record<string, unknown>>, step: number): void;
  close(): void;
}
