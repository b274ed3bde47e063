// Images as the visualizer and its backends exchange them (HWC bytes, as MMEngine's add_image
// takes them), the input image a drawn sample may carry (CHW, as an NCHW batch holds it), and
// PNG encoding through pngjs.

import { PNG } from 'pngjs';

import { AnvilError } from '../errors';

/** An image for `addImage`: `height` rows of `width` pixels of `channels` interleaved bytes (HWC): 1 gray, 3 RGB, 4 RGBA. */
export interface VisImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * The input image a drawn sample carries (its `img` field): planar CHW, as one image of an NCHW
 * batch is laid out, with 1 (gray) or 3 (RGB) channels. Float images are scaled to 0..255 by
 * their min and max when drawn; byte images are drawn as they are.
 */
export interface DatasampleImage {
  data: Float32Array | Uint8Array;
  channels: number;
  height: number;
  width: number;
}

/** PNG colour types by channel count (pngjs's and the PNG spec's numbering). */
const PNG_COLOR_TYPES: Record<number, 0 | 2 | 6> = { 1: 0, 3: 2, 4: 6 };

/** Checks an image's shape against its data; `where` names the caller in the error. */
export function checkImage(image: VisImage, where: string): VisImage {
  const { data, height, width, channels } = (image ?? {}) as Partial<VisImage>;
  if (!(data instanceof Uint8Array)) throw new AnvilError(`${where}: image.data must be a Uint8Array (HWC bytes), got ${data === undefined || data === null ? String(data) : ((data as object).constructor?.name ?? typeof data)}`);
  for (const [k, v] of [['height', height], ['width', width]] as const) {
    if (!Number.isInteger(v) || (v as number) < 1) throw new AnvilError(`${where}: image.${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (channels === undefined || !(channels in PNG_COLOR_TYPES)) throw new AnvilError(`${where}: image.channels must be 1 (gray), 3 (RGB) or 4 (RGBA), got ${JSON.stringify(channels)}`);
  const expected = height! * width! * channels;
  if (data.length !== expected) throw new AnvilError(`${where}: image.data holds ${data.length} bytes, ${height}x${width}x${channels} needs ${expected}`);
  return image;
}

/** The image as a PNG file (8 bits per channel, colour type from the channel count). */
export function encodePng(image: VisImage): Uint8Array {
  const colorType = PNG_COLOR_TYPES[image.channels];
  const data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  // The sync packer reads only width, height and data from its first argument.
  const meta = { width: image.width, height: image.height, data } as unknown as PNG;
  return PNG.sync.write(meta, { colorType, inputColorType: colorType, inputHasAlpha: image.channels === 4, bitDepth: 8 });
}

/** A sample's `img` (CHW) as HWC bytes; float data scaled so its min is 0 and its max 255. */
export function sampleImage(img: DatasampleImage, where: string): VisImage {
  const { data, channels, height, width } = (img ?? {}) as Partial<DatasampleImage>;
  if (!(data instanceof Float32Array || data instanceof Uint8Array)) throw new AnvilError(`${where}: img.data must be a Float32Array or Uint8Array (CHW)`);
  if (channels !== 1 && channels !== 3) throw new AnvilError(`${where}: img.channels must be 1 (gray) or 3 (RGB), got ${JSON.stringify(channels)}`);
  for (const [k, v] of [['height', height], ['width', width]] as const) {
    if (!Number.isInteger(v) || (v as number) < 1) throw new AnvilError(`${where}: img.${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  const hw = height! * width!;
  if (data.length !== channels * hw) throw new AnvilError(`${where}: img.data holds ${data.length} values, ${channels}x${height}x${width} needs ${channels * hw}`);
  let scale = (v: number) => v;
  if (data instanceof Float32Array) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of data) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi > lo ? hi - lo : 1;
    scale = (v) => (Number.isFinite(v) ? Math.round(((v - lo) / span) * 255) : 0);
  }
  const out = new Uint8Array(hw * channels);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < hw; p++) out[p * channels + c] = scale(data[c * hw + p]);
  }
  return { data: out, height: height!, width: width!, channels };
}

/** The image with three channels (gray repeated; alpha dropped). */
export function toRgb(image: VisImage): VisImage {
  if (image.channels === 3) return image;
  const n = image.height * image.width;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = image.data[p * image.channels + (image.channels === 1 ? 0 : c)];
  }
  return { data: out, height: image.height, width: image.width, channels: 3 };
}

/** Images of one height and channel count side by side, left to right (numpy's concatenate on axis 1). */
export function concatHorizontal(images: VisImage[]): VisImage {
  const { height, channels } = images[0];
  if (images.some((im) => im.height !== height || im.channels !== channels)) throw new AnvilError('concatHorizontal: images must share height and channels');
  const width = images.reduce((s, im) => s + im.width, 0);
  const out = new Uint8Array(height * width * channels);
  let x0 = 0;
  for (const im of images) {
    const row = im.width * channels;
    for (let y = 0; y < height; y++) out.set(im.data.subarray(y * row, (y + 1) * row), (y * width + x0) * channels);
    x0 += im.width;
  }
  return { data: out, height, width, channels };
}
