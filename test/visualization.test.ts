// Drawings: Visualizer.addImage to the backends (LocalVisBackend writes vis_image/<name>_<step>.png),
// addDatasample drawing a sample's input image (float images scaled by min/max, CHW to HWC), and
// SegLocalVisualizer's MMSegmentation drawing (image blended with the class colours, gt | pred).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';

import { defaultPalette, LocalVisBackend, SegLocalVisualizer, Visualizer, type VisBackend, type VisImage } from '../ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-vis-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** A PNG file's pixels as `channels` bytes each (pngjs decodes to RGBA). */
function readPng(file: string, channels: number): VisImage {
  const png = PNG.sync.read(fs.readFileSync(file));
  const data = new Uint8Array(png.width * png.height * channels);
  for (let p = 0; p < png.width * png.height; p++) for (let c = 0; c < channels; c++) data[p * channels + c] = png.data[p * 4 + c];
  return { data, height: png.height, width: png.width, channels };
}

/** Records what a visualizer hands its backends. */
class RecordingBackend implements VisBackend {
  images: { name: string; image: VisImage; step: number }[] = [];
  predictions: { name: string; summary: Readonly<Record<string, unknown>>; step: number }[] = [];
  addConfig(): void {}
  addGraph(): void {}
  addScalar(): void {}
  addScalars(): void {}
  addImage(name: string, image: VisImage, step: number): void {
    this.images.push({ name, image, step });
  }
  addPrediction(name: string, summary: Readonly<Record<string, unknown>>, step: number): void {
    this.predictions.push({ name, summary, step });
  }
  close(): void {}
}

describe('Visualizer.addImage and LocalVisBackend', () => {
  it('writes <vis_image>/<name>_<step>.png holding the exact pixels (gray, RGB, RGBA)', () => {
    const dir = path.join(tmpRoot, 'local');
    const vis = new Visualizer({ backends: [new LocalVisBackend({ saveDir: dir })] });
    for (const channels of [1, 3, 4]) {
      const image = { data: Uint8Array.from({ length: 3 * 5 * channels }, (_, i) => (i * 53 + channels) % 256), height: 3, width: 5, channels };
      vis.addImage(`img${channels}`, image, 7);
      expect(readPng(path.join(dir, 'vis_image', `img${channels}_7.png`), channels)).toEqual(image);
    }
    // Gray images are stored as one-channel PNGs (colour type 0), RGB without alpha (2).
    expect(fs.readFileSync(path.join(dir, 'vis_image', 'img1_7.png'))[25]).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'vis_image', 'img3_7.png'))[25]).toBe(2);
  });

  it('refuses malformed images, naming what is wrong', () => {
    const vis = new Visualizer({ backends: [new RecordingBackend()] });
    expect(() => vis.addImage('a', { data: new Uint8Array(6), height: 2, width: 1, channels: 2 })).toThrow(
      /Visualizer\.addImage\('a'\): image\.channels must be 1 \(gray\), 3 \(RGB\) or 4 \(RGBA\), got 2/,
    );
    expect(() => vis.addImage('a', { data: new Uint8Array(5), height: 2, width: 1, channels: 3 })).toThrow(/image\.data holds 5 bytes, 2x1x3 needs 6/);
    expect(() => vis.addImage('a', { data: new Float32Array(6) as unknown as Uint8Array, height: 2, width: 1, channels: 3 })).toThrow(/image\.data must be a Uint8Array \(HWC bytes\), got Float32Array/);
    expect(() => vis.addImage('a', { data: new Uint8Array(0), height: 0, width: 1, channels: 1 })).toThrow(/image\.height must be a positive integer, got 0/);
  });
});

describe('Visualizer.addDatasample draws the input image', () => {
  it('a float image scaled to 0..255 by its min and max; labels stay in the JSON summary', () => {
    const dir = path.join(tmpRoot, 'cls');
    const rec = new RecordingBackend();
    const vis = new Visualizer({ backends: [new LocalVisBackend({ saveDir: dir }), rec] });
    const img = { data: Float32Array.from([-1, 0, 1, 3]), channels: 1, height: 2, width: 2 };
    vis.addDatasample('sample_0', { predLabel: 3, gtLabel: 5, img }, { step: 2 });
    expect(readPng(path.join(dir, 'vis_image', 'sample_0_2.png'), 1)).toEqual({ data: Uint8Array.from([0, 64, 128, 255]), height: 2, width: 2, channels: 1 });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'vis_image', 'sample_0_2.json'), 'utf8'))).toEqual({
      predLabel: 3,
      gtLabel: 5,
      img: { channels: 1, height: 2, width: 2 },
    });
    expect(rec.images.map((i) => [i.name, i.step])).toEqual([['sample_0', 2]]);
  });

  it('a planar (CHW) RGB byte image becomes interleaved pixels, unscaled', () => {
    const rec = new RecordingBackend();
    const vis = new Visualizer({ backends: [rec] });
    // R plane 10 20, G plane 30 40, B plane 50 60 (a 1x2 image).
    vis.addDatasample('s', { img: { data: Uint8Array.from([10, 20, 30, 40, 50, 60]), channels: 3, height: 1, width: 2 } });
    expect(rec.images[0].image).toEqual({ data: Uint8Array.from([10, 30, 50, 20, 40, 60]), height: 1, width: 2, channels: 3 });
  });

  it('a constant float image draws black; samples without img give the summary only', () => {
    const rec = new RecordingBackend();
    const vis = new Visualizer({ backends: [rec] });
    vis.addDatasample('flat', { img: { data: new Float32Array(4).fill(0.3), channels: 1, height: 2, width: 2 } });
    expect(Array.from(rec.images[0].image.data)).toEqual([0, 0, 0, 0]);
    vis.addDatasample('plain', { predLabel: 1, gtLabel: 1 });
    expect(rec.images).toHaveLength(1);
    expect(rec.predictions.at(-1)).toEqual({ name: 'plain', summary: { predLabel: 1, gtLabel: 1 }, step: 0 });
  });

  it('refuses a malformed img, naming the sample', () => {
    const vis = new Visualizer({ backends: [new RecordingBackend()] });
    expect(() => vis.addDatasample('s9', { img: { data: new Float32Array(5), channels: 1, height: 2, width: 2 } })).toThrow(
      /addDatasample\('s9'\): img\.data holds 5 values, 1x2x2 needs 4/,
    );
    expect(() => vis.addDatasample('s9', { img: { data: new Float32Array(8), channels: 2, height: 2, width: 2 } })).toThrow(/img\.channels must be 1 \(gray\) or 3 \(RGB\), got 2/);
    expect(() => vis.addDatasample('s9', { img: { data: [1, 2], channels: 1, height: 1, width: 2 } })).toThrow(/img\.data must be a Float32Array or Uint8Array/);
  });
});

describe('SegLocalVisualizer draws as MMSegmentation does', () => {
  // A 2x3 gray image and its masks; 255 is an ignore index (outside the classes: no colour).
  const img = { data: Uint8Array.from([0, 50, 100, 150, 200, 250]), channels: 1, height: 2, width: 3 };
  const gtSeg = Int32Array.from([0, 1, 1, 2, 255, 0]);
  const predSeg = Int32Array.from([0, 0, 1, 1, 2, 2]);
  const options = { classes: ['bg', 'a', 'b'], palette: [[255, 0, 0], [0, 255, 0], [0, 0, 255]], alpha: 0.5 };
  // Each pixel: trunc(v * 0.5 + colour * 0.5) per channel (v repeated for gray).
  const gtPanel = [[127, 0, 0], [25, 152, 25], [50, 177, 50], [75, 75, 202], [100, 100, 100], [252, 125, 125]];
  const predPanel = [[127, 0, 0], [152, 25, 25], [50, 177, 50], [75, 202, 75], [100, 100, 227], [125, 125, 252]];

  it('blends gt and pred colour masks into the image at alpha, gt | pred side by side', () => {
    const dir = path.join(tmpRoot, 'seg');
    const vis = new SegLocalVisualizer({ ...options, backends: [new LocalVisBackend({ saveDir: dir })] });
    vis.addDatasample('val_0', { predSeg, gtSeg, img }, { step: 4 });
    const drawn = readPng(path.join(dir, 'vis_image', 'val_0_4.png'), 3);
    expect([drawn.height, drawn.width]).toEqual([2, 6]);
    const rows = [[...gtPanel.slice(0, 3), ...predPanel.slice(0, 3)], [...gtPanel.slice(3), ...predPanel.slice(3)]];
    expect(Array.from(drawn.data)).toEqual(rows.flat(2));
    // The JSON summary is still written.
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'vis_image', 'val_0_4.json'), 'utf8'));
    expect(summary).toEqual({ num_pixels: 6, pred_pixels: { bg: 2, a: 2, b: 2 }, gt_pixels: { bg: 2, a: 2, b: 1, '255': 1 }, pixel_accuracy: 2 / 6 });
  });

  it('draws only the prediction with draw_gt=False, only the ground truth with draw_pred=False', () => {
    const rec = new RecordingBackend();
    const vis = new SegLocalVisualizer({ ...options, backends: [rec] });
    vis.addDatasample('p', { predSeg, gtSeg, img }, { drawGt: false });
    vis.addDatasample('g', { predSeg, gtSeg, img }, { drawPred: false });
    expect(rec.images[0].image).toEqual({ data: Uint8Array.from(predPanel.flat()), height: 2, width: 3, channels: 3 });
    expect(rec.images[1].image).toEqual({ data: Uint8Array.from(gtPanel.flat()), height: 2, width: 3, channels: 3 });
  });

  it('uses the default palette (Cityscapes colours, then generated ones) when none is given', () => {
    const rec = new RecordingBackend();
    const vis = new SegLocalVisualizer({ classes: Array.from({ length: 21 }, (_, i) => `c${i}`), alpha: 1, backends: [rec] });
    const img1 = { data: new Uint8Array(3).fill(9), channels: 1, height: 1, width: 3 };
    vis.addDatasample('d', { predSeg: Int32Array.from([0, 18, 20]), img: img1 }, { drawGt: false });
    const palette = defaultPalette(21);
    expect(palette[0]).toEqual([128, 64, 128]);
    expect(palette[18]).toEqual([119, 11, 32]);
    expect(Array.from(rec.images[0].image.data)).toEqual([...palette[0], ...palette[18], ...palette[20]]);
    // Generated colours are reproducible and distinct from one another and from Cityscapes'.
    expect(defaultPalette(40)).toEqual(defaultPalette(40));
    expect(new Set(defaultPalette(40).map((c) => c.join(','))).size).toBe(40);
    // No classes and no palette: MMSegmentation's Cityscapes default (19 classes).
    const plain = new SegLocalVisualizer({ alpha: 1, backends: [rec] });
    plain.addDatasample('e', { predSeg: Int32Array.from([1, 18, 19]), img: img1 }, { drawGt: false });
    expect(Array.from(rec.images[1].image.data)).toEqual([...palette[1], ...palette[18], 0, 0, 0]);
  });

  it('a sample without img is summarized only; a mask that does not fit the image is refused', () => {
    const rec = new RecordingBackend();
    const vis = new SegLocalVisualizer({ ...options, backends: [rec] });
    vis.addDatasample('n', { predSeg, gtSeg });
    expect(rec.images).toHaveLength(0);
    expect(rec.predictions).toHaveLength(1);
    expect(() => vis.addDatasample('bad', { predSeg: new Int32Array(5), gtSeg, img })).toThrow(
      /SegLocalVisualizer: sample 'bad' predSeg must hold 2x3 = 6 class ids \(one per pixel of img\), got 5/,
    );
    expect(() => new SegLocalVisualizer({ palette: [[0, 0]] })).toThrow(/palette\[0\] must be \[r, g, b\] with integers in 0\.\.255, got \[0,0\]/);
  });
});
