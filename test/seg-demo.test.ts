// The segmentation demo's config (configs/mnist_seg.py) run through Runner.fromConfig, scaled down
// with cfg options as `npm run demo:seg` does: MMSeg's metric keys, values that agree with the
// predictions, the per-class table with the dataset's class names, checkpoints at the scaled
// interval and SegVisualizationHook's drawings of every interval-th val batch.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AnvilError, DATASETS, loadConfig, MNISTSegmentation, Runner, type SegmentationBatch, type SegmentationOutput } from '../ts';

const CONFIG = path.join(__dirname, '..', 'configs', 'mnist_seg.py');
let tmp: string;
let runner: Runner;
const lines: string[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-seg-demo-'));
  const cfg = loadConfig(CONFIG, [
    'train_cfg.max_iters=60', 'train_cfg.val_interval=60', 'param_scheduler.0.end=60',
    'default_hooks.logger.interval=20', 'default_hooks.checkpoint.interval=30', 'default_hooks.visualization.interval=5',
    'train_dataloader.dataset.limit=480', 'val_dataloader.dataset.limit=100',
  ]);
  runner = Runner.fromConfig(cfg, { workDir: tmp, echo: (l) => lines.push(l) });
  runner.train();
}, 60_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('configs/mnist_seg.py, scaled down', () => {
  it("reports MMSeg's keys, and aAcc is the pixel accuracy of the model's predictions", () => {
    const metrics = runner.lastMetrics.val!;
    expect(Object.keys(metrics)).toEqual(['aAcc', 'mIoU', 'mAcc']);
    for (const v of Object.values(metrics)) expect(v).toBeGreaterThanOrEqual(0);
    for (const v of Object.values(metrics)) expect(v).toBeLessThanOrEqual(100);
    // Background covers ~89% of the scored pixels; 60 iterations learn at least that.
    expect(metrics.aAcc).toBeGreaterThan(85);
    expect(metrics.mIoU).toBeLessThan(metrics.aAcc);
    // Recount the correct non-ignored pixels independently of IoUMetric.
    const data = new MNISTSegmentation({ split: 'test', limit: 100, ignoreBand: [64, 160] });
    const batch: SegmentationBatch = data.getBatch([...Array(100).keys()]);
    const outputs = runner.model.valStep(batch) as SegmentationOutput[];
    let right = 0;
    let scored = 0;
    outputs.forEach((o) => o.gtSeg.forEach((g, p) => {
      if (g === 255) return;
      scored++;
      if (o.predSeg[p] === g) right++;
    }));
    expect(metrics.aAcc).toBeCloseTo((100 * right) / scored, 2);
    // The outputs carry their image (the raw pixels) for the visualizer.
    expect(outputs[3].img).toMatchObject({ channels: 1, height: 28, width: 28 });
    expect(Array.from(outputs[3].img!.data)).toEqual(Array.from(data.mnist.images.subarray(3 * 784, 4 * 784)));
  });

  it('logs the per-class table with the dataset metainfo class names, and the metrics line', () => {
    const at = lines.findIndex((l) => l.endsWith('per class results:'));
    expect(at).toBeGreaterThan(0);
    const table = lines[at + 1].split('\n').slice(1);
    expect(table[1]).toMatch(/^\| +Class +\| +IoU +\| +Acc +\|$/);
    expect(table.slice(3, 14).map((r) => r.split('|')[1].trim())).toEqual(['background', ...Array.from({ length: 10 }, (_, d) => `digit_${d}`)]);
    expect(lines.some((l) => /Iter\(val\) \[10\/10\] +aAcc: \d+\.\d{4} {2}mIoU: \d+\.\d{4} {2}mAcc: \d+\.\d{4}/.test(l))).toBe(true);
  });

  it('saves checkpoints every 30 iterations and draws every 5th val batch at the train iteration', () => {
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.safetensors')).sort()).toEqual(['iter_30.safetensors', 'iter_60.safetensors']);
    const visDir = path.join(runner.runDir!, 'vis_data', 'vis_image');
    const files = fs.readdirSync(visDir);
    // Batches of 10: batch indices 4 and 9 are drawn, each of their samples.
    const drawn = [...Array(10).keys()].flatMap((i) => [`val_${40 + i}_60`, `val_${90 + i}_60`]).sort();
    expect(files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort()).toEqual(drawn);
    const summary = JSON.parse(fs.readFileSync(path.join(visDir, 'val_42_60.json'), 'utf8'));
    expect(summary.num_pixels).toBe(784);
    expect(summary.pixel_accuracy).toBeGreaterThan(0.5);
    // Pixel counts are keyed by the dataset's class names (the val loop's dataset_meta).
    expect(Object.keys(summary.gt_pixels)).toContain('background');
    expect(Object.keys(summary.gt_pixels).every((k) => k === 'background' || k === '255' || /^digit_\d$/.test(k))).toBe(true); // 255: ignored pixels
    // The PNG overlays: gt | pred over the image, in the dataset's palette.
    const pngs = files.filter((f) => f.endsWith('.png'));
    {
      expect(pngs.map((f) => f.slice(0, -4)).sort()).toEqual(drawn);
      const png = fs.readFileSync(path.join(visDir, 'val_42_60.png'));
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([56, 28]);
    }
  });
});

describe('MNISTSegmentation', () => {
  it('labels each pixel from its intensity: background, the digit + 1, or ignore_index in the band', () => {
    const data = DATASETS.build<MNISTSegmentation>({ type: 'MNISTSegmentation', split: 'test', limit: 8, ignore_band: [64, 160] }, 'dataset');
    expect(data.length).toBe(8);
    const b = data.getBatch([5, 2]);
    expect(b.shape).toEqual([2, 1, 28, 28]);
    expect(b.size).toBe(2);
    const seen = new Set<number>();
    [5, 2].forEach((idx, r) => {
      const digit = data.mnist.labels[idx];
      for (let p = 0; p < 784; p++) {
        const v = data.mnist.images[idx * 784 + p];
        const want = v < 64 ? 0 : v >= 160 ? digit + 1 : 255;
        expect(b.labels[r * 784 + p]).toBe(want);
        expect(b.rawInputs![r * 784 + p]).toBe(v);
        seen.add(want);
      }
    });
    expect(seen).toEqual(new Set([0, 255, data.mnist.labels[5] + 1, data.mnist.labels[2] + 1]));
    // Without a band one threshold splits the pixels and nothing is ignored.
    const plain = new MNISTSegmentation({ split: 'test', limit: 8, threshold: 100 });
    const labels = plain.getBatch([5]).labels;
    labels.forEach((l, p) => expect(l).toBe(plain.mnist.images[5 * 784 + p] < 100 ? 0 : plain.mnist.labels[5] + 1));
  });

  it("carries MMSeg's METAINFO (classes, palette) and names bad arguments", () => {
    const meta = new MNISTSegmentation({ limit: 1 }).metainfo;
    expect(meta.classes).toEqual(['background', 'digit_0', 'digit_1', 'digit_2', 'digit_3', 'digit_4', 'digit_5', 'digit_6', 'digit_7', 'digit_8', 'digit_9']);
    expect(meta.palette).toHaveLength(11);
    expect(new Set(meta.palette.map((c) => c.join()))).toHaveProperty('size', 11);
    expect(MNISTSegmentation.METAINFO.classes).toEqual(meta.classes);
    expect(() => new MNISTSegmentation({ ignoreBand: [200, 100] })).toThrow(/ignore_band must have low <= high/);
    expect(() => new MNISTSegmentation({ threshold: 0 })).toThrow(AnvilError);
    expect(() => new MNISTSegmentation({ ignoreIndex: 3 })).toThrow(/ignore_index must be an integer outside the class ids/);
    expect(() => DATASETS.build({ type: 'MNISTSegmentation', reduce_zero_label: true }, 'dataset')).toThrow(/unexpected argument 'reduce_zero_label'/);
  });
});
