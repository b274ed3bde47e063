// TensorboardVisBackend (MMEngine's): writes scalars, images and the config as TensorBoard event
// files directly in `save_dir` (the visualizer sets `<run>/vis_data`), named as torch's
// SummaryWriter names them. Each record is written to the file at once, so TensorBoard sees the
// data while training runs.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { AnvilError } from '../errors';
import { checkImage, encodePng, type VisImage } from './image';
import { fileVersionEvent, imageEvent, scalarEvent, textEvent } from './tensorboard-events';
import { tfRecord } from './tfrecord';
import { configText, type VisBackend } from './vis-backend';

export interface TensorboardVisBackendOptions {
  /** The folder for the event files; the visualizer sets `<run folder>/vis_data`. Required. */
  saveDir?: string | null;
}

/** Files opened by this process so far: the last part of the file name, as torch's global uid. */
let fileCount = 0;

export class TensorboardVisBackend implements VisBackend {
  readonly saveDir: string;
  private fd: number | null = null;
  private file: string | null = null;

  constructor(options: TensorboardVisBackendOptions = {}) {
    const { saveDir } = options;
    if (typeof saveDir !== 'string' || !saveDir) throw new AnvilError('TensorboardVisBackend: save_dir is required (the visualizer sets it to the run folder)');
    this.saveDir = saveDir;
  }

  /** The event file being written (null before the first record and after close). */
  get eventFile(): string | null {
    return this.file;
  }

  /** Torch's SummaryWriter writes the config with `add_text('config', pretty_text)`; a config with no Python form is left out. */
  addConfig(cfg: Readonly<Record<string, unknown>>): void {
    const text = configText(cfg);
    if (text === null) return;
    this.write(textEvent('config', text, 0, wallTime()));
  }

  addGraph(): void {}

  addImage(name: string, image: VisImage, step: number): void {
    checkImage(image, 'TensorboardVisBackend.addImage');
    this.write(imageEvent(name, encodePng(image), image.height, image.width, image.channels, step, wallTime()));
  }

  addScalar(name: string, value: number, step: number): void {
    if (typeof value !== 'number') throw new AnvilError(`TensorboardVisBackend: scalar '${name}' must be a number, got ${typeof value}`);
    this.write(scalarEvent(name, value, step, wallTime()));
  }

  /** Every entry as its own scalar; `filePath` is only for interface unification, as in MMEngine. */
  addScalars(scalars: Readonly<Record<string, number>>, step: number): void {
    if ('step' in scalars) throw new AnvilError("TensorboardVisBackend: scalars must not hold 'step'; pass it as the step argument");
    for (const [name, value] of Object.entries(scalars)) this.addScalar(name, value, step);
  }

  /** Summaries have no TensorBoard form; drawn samples reach TensorBoard through addImage. */
  addPrediction(): void {}

  /** Closes the file; a later record opens a new one, as torch's SummaryWriter does after close. */
  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
    this.file = null;
  }

  private write(record: Uint8Array): void {
    const fd = this.fd ?? this.open();
    fs.writeSync(fd, tfRecord(record));
  }

  /** `events.out.tfevents.<10-digit seconds>.<host>.<pid>.<n>`, starting with the file_version event. */
  private open(): number {
    fs.mkdirSync(this.saveDir, { recursive: true });
    const seconds = String(Math.floor(Date.now() / 1000)).padStart(10, '0');
    const file = path.join(this.saveDir, `events.out.tfevents.${seconds}.${os.hostname()}.${process.pid}.${fileCount++}`);
    const fd = fs.openSync(file, 'wx');
    this.fd = fd;
    this.file = file;
    fs.writeSync(fd, tfRecord(fileVersionEvent(wallTime(), 'anvil')));
    return fd;
  }
}

function wallTime(): number {
  return Date.now() / 1000;
}
