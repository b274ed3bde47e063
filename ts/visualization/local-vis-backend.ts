// LocalVisBackend (MMEngine's): writes what the visualizer records into its folder
// (`<run>/vis_data`): scalars as JSON lines, the config as Python, images as PNG files and
// prediction summaries as JSON, both in `vis_image/<name>_<step>`.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError } from '../errors';
import { checkImage, encodePng, type VisImage } from './image';
import { configText, type VisBackend } from './vis-backend';

export type { VisBackend } from './vis-backend';

export interface LocalVisBackendOptions {
  /** The folder; the visualizer sets `<run folder>/vis_data`. Required. */
  saveDir?: string | null;
  imgSaveDir?: string;
  configSaveFile?: string;
  scalarSaveFile?: string;
}

export class LocalVisBackend implements VisBackend {
  readonly saveDir: string;
  readonly imgSaveDir: string;
  readonly configSaveFile: string;
  readonly scalarSaveFile: string;
  private ready = false;

  constructor(options: LocalVisBackendOptions = {}) {
    const { saveDir, imgSaveDir = 'vis_image', configSaveFile = 'config.py', scalarSaveFile = 'scalars.json' } = options;
    if (typeof saveDir !== 'string' || !saveDir) throw new AnvilError('LocalVisBackend: save_dir is required (the visualizer sets it to the run folder)');
    if (!configSaveFile.endsWith('.py')) throw new AnvilError(`LocalVisBackend: config_save_file must end with .py, got '${configSaveFile}'`);
    if (!scalarSaveFile.endsWith('.json')) throw new AnvilError(`LocalVisBackend: scalar_save_file must end with .json, got '${scalarSaveFile}'`);
    this.saveDir = saveDir;
    this.imgSaveDir = path.join(saveDir, imgSaveDir);
    this.configSaveFile = path.join(saveDir, configSaveFile);
    this.scalarSaveFile = path.join(saveDir, scalarSaveFile);
  }

  /** The folder is made on first use (MMEngine's `force_init_env`). */
  private init(): void {
    if (this.ready) return;
    fs.mkdirSync(this.saveDir, { recursive: true });
    this.ready = true;
  }

  /**
   * Writes the config as Python. A config holding objects rather than data (a `.js` config's
   * hook instances) has no Python form: then no config.py is written (the run folder's
   * config.json keeps what JSON can hold).
   */
  addConfig(cfg: Readonly<Record<string, unknown>>): void {
    const text = configText(cfg);
    if (text === null) return;
    this.init();
    fs.writeFileSync(this.configSaveFile, text);
  }

  addGraph(): void {}

  addScalar(name: string, value: number, step: number): void {
    this.init();
    appendJsonLine(this.scalarSaveFile, { [name]: value, step });
  }

  addScalars(scalars: Readonly<Record<string, number>>, step: number, filePath?: string): void {
    this.init();
    const record = { ...scalars };
    if (!('step' in record)) record.step = step;
    if (filePath !== undefined) {
      if (!filePath.endsWith('.json')) throw new AnvilError(`LocalVisBackend: file_path must end with .json, got '${filePath}'`);
      const extra = path.join(this.saveDir, filePath);
      if (extra === this.scalarSaveFile) throw new AnvilError('LocalVisBackend: file_path and scalar_save_file have the same name, please set file_path to another value');
      appendJsonLine(extra, record);
    }
    appendJsonLine(this.scalarSaveFile, record);
  }

  /** MMEngine's `add_image`: `vis_image/<name>_<step>.png`. */
  addImage(name: string, image: VisImage, step: number): void {
    const png = encodePng(checkImage(image, 'LocalVisBackend.addImage'));
    this.init();
    fs.mkdirSync(this.imgSaveDir, { recursive: true });
    fs.writeFileSync(path.join(this.imgSaveDir, `${name}_${step}.png`), png);
  }

  addPrediction(name: string, summary: Readonly<Record<string, unknown>>, step: number): void {
    this.init();
    fs.mkdirSync(this.imgSaveDir, { recursive: true });
    fs.writeFileSync(path.join(this.imgSaveDir, `${name}_${step}.json`), JSON.stringify(summary) + '\n');
  }

  close(): void {}
}

/** One record a line, spaced as Python's json.dump writes it (NaN and infinities as Python writes them). */
function appendJsonLine(file: string, record: Record<string, unknown>): void {
  fs.appendFileSync(file, pythonJson(record) + '\n');
}

function pythonJson(record: Record<string, unknown>): string {
  const parts = Object.entries(record).map(([k, v]) => `${JSON.stringify(k)}: ${pythonValue(v)}`);
  return `{${parts.join(', ')}}`;
}

function pythonValue(v: unknown): string {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
    return String(v);
  }
  return JSON.stringify(v);
}
