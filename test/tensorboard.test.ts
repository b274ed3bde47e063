// TensorboardVisBackend: the record framing and CRC32C checked byte by byte, then event files
// written by the backend and by a Runner read back with TensorBoard's own Python reader
// (scripts/read-tb-events.py). The reader lives in a venv that .ci/run creates
// (~/.cache/anvil/tb-venv, or ANVIL_TB_PYTHON); without it the reader tests are skipped, except
// under CI, where its absence fails them.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';

import { Runner, TensorboardVisBackend, VISBACKENDS } from '../ts';
import { ProtoWriter } from '../ts/visualization/protobuf';
import { crc32cOf, maskCrc, maskedCrc32c, tfRecord } from '../ts/visualization/tfrecord';

const repo = path.resolve(__dirname, '..');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-tb-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const ascii = (s: string) => new TextEncoder().encode(s);

describe('CRC32C and the TFRecord framing', () => {
  it('computes CRC32C (RFC 3720 check values)', () => {
    expect(crc32cOf(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32cOf(new Uint8Array(0))).toBe(0);
    expect(crc32cOf(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32cOf(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32cOf(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    // A view into a larger buffer is checksummed over its own bytes only.
    const big = ascii('xx123456789yy');
    expect(crc32cOf(big.subarray(2, 11))).toBe(0xe3069283);
  });

  it("masks as TensorFlow does: rotate right 15, add 0xa282ead8", () => {
    // 0xe3069283 rotated right by 15 is 0x2507c60d; plus 0xa282ead8 is 0xc78ab0e5.
    expect(maskCrc(0xe3069283)).toBe(0xc78ab0e5);
    expect(maskedCrc32c(ascii('123456789'))).toBe(0xc78ab0e5);
    // Unmasking (subtract, rotate left 15) gives the CRC back, for any value.
    for (const crc of [0, 1, 0x7fff, 0x8000, 0xffffffff, 0x12345678]) {
      const r = (maskCrc(crc) - 0xa282ead8) >>> 0;
      expect(((r << 15) | (r >>> 17)) >>> 0).toBe(crc);
    }
  });

  it("frames a record: u64 length, masked CRC of the length, data, masked CRC of the data", () => {
    const rec = Buffer.from(tfRecord(ascii('abc')));
    // The same bytes TensorBoard's own RecordWriter writes for b'abc'.
    expect(rec.toString('hex')).toBe('0300000000000000' + 'b099490e' + '616263' + '6e57f121');
    expect(rec.readBigUInt64LE(0)).toBe(3n);
    expect(rec.readUInt32LE(8)).toBe(maskedCrc32c(rec.subarray(0, 8)));
    expect(rec.readUInt32LE(15)).toBe(maskedCrc32c(ascii('abc')));
    expect(tfRecord(new Uint8Array(0)).length).toBe(16);
  });

  it('encodes protobuf varints, fixed fields and nested messages', () => {
    const hex = (w: ProtoWriter) => Buffer.from(w.finish()).toString('hex');
    expect(hex(new ProtoWriter().varint(1, 150))).toBe('089601');
    expect(hex(new ProtoWriter().varint(2, 0))).toBe('1000');
    expect(hex(new ProtoWriter().varint(2, -1))).toBe('10ffffffffffffffffff01');
    expect(hex(new ProtoWriter().varint(2, 2n ** 40n))).toBe('108080808080' + '20');
    expect(hex(new ProtoWriter().string(2, 'testing'))).toBe('120774657374696e67');
    expect(hex(new ProtoWriter().float(2, 1))).toBe('150000803f');
    expect(hex(new ProtoWriter().double(1, 1.5))).toBe('09000000000000f83f');
    expect(hex(new ProtoWriter().message(3, new ProtoWriter().varint(1, 150)))).toBe('1a03089601');
  });
});

describe('TensorboardVisBackend in the registry', () => {
  it("builds from MMEngine's arguments and refuses others", () => {
    const b = VISBACKENDS.build<TensorboardVisBackend>({ type: 'TensorboardVisBackend', save_dir: path.join(tmpRoot, 'reg') }, 'vis_backends[0]');
    expect(b).toBeInstanceOf(TensorboardVisBackend);
    expect(b.eventFile).toBeNull(); // nothing is opened before the first record, as MMEngine's lazy init
    expect(() => VISBACKENDS.build({ type: 'TensorboardVisBackend', save_dir: tmpRoot, log_dir: 'x' }, 'vis_backends[0]')).toThrow(
      /TensorboardVisBackend: unexpected argument 'log_dir' \(accepted: save_dir\)/,
    );
    expect(() => new TensorboardVisBackend({})).toThrow(/TensorboardVisBackend: save_dir is required/);
    expect(() => b.addScalars({ step: 1 }, 0)).toThrow(/must not hold 'step'/);
    expect(() => b.addImage('bad', { data: new Uint8Array(5), height: 2, width: 2, channels: 1 }, 0)).toThrow(
      /TensorboardVisBackend\.addImage: image\.data holds 5 bytes, 2x2x1 needs 4/,
    );
  });

  it('writes the file as records are added (no buffering), named as torch names it', () => {
    const dir = path.join(tmpRoot, 'live');
    const b = new TensorboardVisBackend({ saveDir: dir });
    b.addScalar('loss', 1, 1);
    const file = b.eventFile!;
    expect(path.dirname(file)).toBe(dir);
    expect(path.basename(file)).toMatch(new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${os.hostname().replace(/[.\\-]/g, '\\$&')}\\.${process.pid}\\.\\d+$`));
    const sizeAfterOne = fs.statSync(file).size;
    b.addScalar('loss', 0.5, 2);
    expect(fs.statSync(file).size).toBeGreaterThan(sizeAfterOne);
    b.close();
    expect(b.eventFile).toBeNull();
  });
});

// ---- read back with TensorBoard's reader ----

const tbPython = process.env.ANVIL_TB_PYTHON ?? path.join(os.homedir(), '.cache', 'anvil', 'tb-venv', 'bin', 'python');
const inCI = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());
const readerProblem = (() => {
  if (!fs.existsSync(tbPython)) return `TensorBoard's reader is not installed: no Python at ${tbPython} (bash .ci/run creates it; or set ANVIL_TB_PYTHON)`;
  const r = spawnSync(tbPython, ['-c', 'import tensorboard'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${tbPython} cannot import tensorboard: ${r.stderr.trim().split('\n').at(-1)}`;
})();

/** Skips the test without the reader, except under CI, where that is a failure. */
function needReader(ctx: TestContext): void {
  if (readerProblem === null) return;
  if (inCI) throw new Error(readerProblem);
  ctx.skip(true, readerProblem);
}

interface TbRead {
  files: string[];
  file_versions: string[];
  scalars: Record<string, [number, number][]>;
  images: Record<string, { step: number; width: number; height: number; png_base64: string }[]>;
  texts: Record<string, { step: number; plugin: string; text: string }[]>;
}

function readEvents(dir: string): TbRead {
  const r = spawnSync(tbPython, [path.join(repo, 'scripts', 'read-tb-events.py'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`read-tb-events.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as TbRead;
}

/** An RGB image whose every byte differs, so any reordering shows. */
function patternImage(height: number, width: number, channels: number) {
  return { data: Uint8Array.from({ length: height * width * channels }, (_, i) => (i * 37 + 11) % 256), height, width, channels };
}

describe("TensorBoard's reader reads what the backend writes", () => {
  it('scalars (exact steps, float32 values), an RGB and a gray image, the config as text', (ctx) => {
    needReader(ctx);
    const dir = path.join(tmpRoot, 'direct');
    const b = new TensorboardVisBackend({ saveDir: dir });
    b.addConfig({ model: { type: 'MLPClassifier', hidden_sizes: [16] }, seed: 3 });
    b.addScalars({ loss: 2.5, lr: 0.1 }, 0);
    b.addScalars({ loss: 1.25, lr: 0.05 }, 7);
    b.addScalar('loss', -3.75e-7, 123456789012);
    const rgb = patternImage(5, 3, 3);
    const gray = patternImage(2, 4, 1);
    b.addImage('sample_rgb', rgb, 4);
    b.addImage('sample_gray', gray, 0);
    b.close();

    const read = readEvents(dir);
    expect(read.files).toHaveLength(1);
    expect(read.file_versions).toEqual(['brain.Event:2']);
    expect(read.scalars.loss).toEqual([[0, 2.5], [7, 1.25], [123456789012, Math.fround(-3.75e-7)]]);
    expect(read.scalars.lr).toEqual([[0, Math.fround(0.1)], [7, Math.fround(0.05)]]);
    expect(read.images.sample_rgb.map(({ step, width, height }) => ({ step, width, height }))).toEqual([{ step: 4, width: 3, height: 5 }]);
    expect(read.images.sample_gray.map(({ step, width, height }) => ({ step, width, height }))).toEqual([{ step: 0, width: 4, height: 2 }]);
    // The PNG bytes decode back to the exact pixels.
    const png = PNG.sync.read(Buffer.from(read.images.sample_rgb[0].png_base64, 'base64'));
    expect([png.width, png.height]).toEqual([3, 5]);
    const rgbBack = Uint8Array.from({ length: 15 * 3 }, (_, i) => png.data[Math.floor(i / 3) * 4 + (i % 3)]);
    expect(rgbBack).toEqual(rgb.data);
    const grayPng = PNG.sync.read(Buffer.from(read.images.sample_gray[0].png_base64, 'base64'));
    expect(Uint8Array.from({ length: 8 }, (_, i) => grayPng.data[i * 4])).toEqual(gray.data);
    expect(read.texts['config/text_summary']).toEqual([
      { step: 0, plugin: 'text', text: "model = dict(type='MLPClassifier', hidden_sizes=[16])\nseed = 3\n" },
    ]);
  });

  it('refuses a record whose CRC is wrong (the reader checks what we write)', (ctx) => {
    needReader(ctx);
    const dir = path.join(tmpRoot, 'corrupt');
    const b = new TensorboardVisBackend({ saveDir: dir });
    b.addScalar('x', 1, 1);
    b.addScalar('x', 2, 2);
    const file = b.eventFile!;
    b.close();
    expect(readEvents(dir).scalars.x).toEqual([[1, 1], [2, 2]]);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0x01; // the last record's data CRC
    fs.writeFileSync(file, bytes);
    // TensorBoard stops at a record that fails its check (it takes it for one still being written).
    expect(readEvents(dir).scalars.x).toEqual([[1, 1]]);
  });

  it('a record added after close goes to a new file, as with torch’s SummaryWriter', (ctx) => {
    needReader(ctx);
    const dir = path.join(tmpRoot, 'reopen');
    const b = new TensorboardVisBackend({ saveDir: dir });
    b.addScalar('acc', 0.5, 1);
    b.close();
    b.addScalar('acc', 0.75, 2);
    b.close();
    const read = readEvents(dir);
    expect(read.files).toHaveLength(2);
    expect(read.file_versions).toEqual(['brain.Event:2', 'brain.Event:2']);
    expect(read.scalars.acc).toEqual([[1, 0.5], [2, 0.75]]);
  });

  it("a Runner with visualizer=dict(vis_backends=[LocalVisBackend, TensorboardVisBackend]) logs the same scalars and config to both", (ctx) => {
    needReader(ctx);
    const workDir = path.join(tmpRoot, 'runner');
    const evalLoader = { batch_size: 100, dataset: { type: 'MNIST', split: 'test', limit: 200 } };
    const cfg = {
      model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [16], num_classes: 10 },
      train_dataloader: { batch_size: 50, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 200 } },
      train_cfg: { by_epoch: false, max_iters: 6, val_interval: 3 },
      val_dataloader: evalLoader,
      val_evaluator: { type: 'Accuracy' },
      optim_wrapper: { optimizer: { type: 'AdamW', lr: 1e-3 } },
      default_hooks: { logger: { type: 'LoggerHook', interval: 2 } },
      visualizer: { type: 'Visualizer', vis_backends: [{ type: 'LocalVisBackend' }, { type: 'TensorboardVisBackend' }] },
      randomness: { seed: 0 },
    };
    const runner = Runner.fromConfig(cfg, { workDir, echo: () => {} });
    runner.train();
    const visDir = path.join(runner.runDir!, 'vis_data');
    const read = readEvents(visDir);
    expect(read.files).toHaveLength(1);
    expect(read.file_versions).toEqual(['brain.Event:2']);

    // Every record of scalars.json, tag by tag, at its step, as float32.
    const expected: Record<string, [number, number][]> = {};
    for (const line of fs.readFileSync(path.join(visDir, 'scalars.json'), 'utf8').trim().split('\n')) {
      const { step, ...scalars } = JSON.parse(line) as Record<string, number>;
      for (const [tag, v] of Object.entries(scalars)) (expected[tag] ??= []).push([step, Math.fround(v)]);
    }
    expect(read.scalars).toEqual(expected);
    // Train logs at iterations 2, 4, 6; validation (after iterations 3 and 6) at epoch 0.
    expect(read.scalars.loss.map(([s]) => s)).toEqual([2, 4, 6]);
    expect(read.scalars.accuracy.map(([s]) => s)).toEqual([0, 0]);
    expect(read.texts['config/text_summary'].map((t) => t.text)).toEqual([fs.readFileSync(path.join(visDir, 'config.py'), 'utf8')]);
  });
});
