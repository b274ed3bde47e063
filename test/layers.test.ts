// The layer library from TypeScript: self-description (torch names and attributes), default
// initialisations, BatchNorm buffers and modes, seeded Dropout, the LAYERS/MODELS configs, and
// the composite models training on small synthetic data.

import { describe, expect, it } from 'vitest';
import {
  AdamW, AnvilError, BatchNorm1d, buildOptimWrapper, BatchNorm2d, Conv2d, ConvModule, CrossEntropyLoss, Dropout, Embedding, EncoderDecoder, ImageClassifier, LAYERS,
  LinearClsHead, MaxPool2d, MNIST, MODELS, OptimWrapper, ReLU, Rng, Sequential, SequentialModel, setRandomSeed, Flatten, FCNHead, Upsample,
  type ImageBatch, type SegmentationBatch, type Tensor,
} from '../ts';

const t = (data: ArrayLike<number>, shape: number[]): Tensor => ({ data: Float32Array.from(data), shape });

/** 2-class images: a bright 3x3 square in the left (label 0) or right (label 1) half of 8x8. */
function squares(n: number, seed: number): ImageBatch {
  const rng = new Rng(seed);
  const inputs = new Float32Array(n * 64);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const label = rng.int(2);
    const x0 = label === 0 ? rng.int(2) : 4 + rng.int(2);
    const y0 = rng.int(6);
    for (let k = 0; k < 64; k++) inputs[i * 64 + k] = 0.1 * rng.uniform(-1, 1);
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) inputs[i * 64 + (y0 + dy) * 8 + x0 + dx] += 1;
    labels[i] = label;
  }
  return { inputs, labels, size: n, features: 64, shape: [n, 1, 8, 8] };
}

describe('layer self-description', () => {
  it('Conv2d describes itself as torch.nn.Conv2d, with kaiming-uniform(a=sqrt(5)) bounds', () => {
    setRandomSeed(0);
    const conv = new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: [3, 2], stride: 2, padding: [1, 0], groups: 2 });
    expect(conv.typeName).toBe('Conv2d');
    expect(conv.attrs()).toEqual({ in_channels: 4, out_channels: 6, kernel_size: [3, 2], stride: [2, 2], padding: [1, 0], dilation: [1, 1], groups: 2 });
    expect(conv.weight.shape).toEqual([6, 2, 3, 2]);
    const bound = 1 / Math.sqrt(2 * 3 * 2);
    expect(Math.max(...Array.from(conv.weight.data).map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(conv.weight.data).map(Math.abs))).toBeGreaterThan(0.8 * bound);
    expect(Math.max(...Array.from(conv.bias!.data).map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1, bias: false }).bias).toBeNull();
  });

  it('BatchNorm keeps torch buffers: running statistics, num_batches_tracked as an int64 counter', () => {
    const bn = new BatchNorm2d({ numFeatures: 2 });
    expect(bn.typeName).toBe('BatchNorm2d');
    expect(bn.namedBuffers().map(([n, b]) => [n, b.dtype, b.shape])).toEqual([
      ['running_mean', 'float32', [2]],
      ['running_var', 'float32', [2]],
      ['num_batches_tracked', 'int64', []],
    ]);
    expect(bn.numBatchesTracked!.data).toBeInstanceOf(Float64Array);
    expect(Array.from(bn.weight!.data)).toEqual([1, 1]);
    expect(Array.from(bn.bias!.data)).toEqual([0, 0]);
    // Channel 0 holds 1..4, channel 1 holds 10 everywhere (batch of 2, 2 pixels each).
    const x = t([1, 2, 10, 10, 3, 4, 10, 10], [2, 2, 1, 2]);
    bn.forward(x);
    expect(bn.numBatchesTracked!.data[0]).toBe(1);
    expect(bn.runningMean!.data[0]).toBeCloseTo(0.25, 6); // 0.9 * 0 + 0.1 * 2.5
    expect(bn.runningVar!.data[0]).toBeCloseTo(0.9 + 0.1 * (5 / 3), 6); // unbiased var of 1..4
    expect(bn.runningVar!.data[1]).toBeCloseTo(0.9, 6);
    // Eval: running statistics, buffers untouched.
    bn.eval();
    const y = bn.forward(x);
    expect(y.data[0]).toBeCloseTo((1 - 0.25) / Math.sqrt(0.9 + 0.1 * (5 / 3) + 1e-5), 5);
    expect(bn.numBatchesTracked!.data[0]).toBe(1);
    // momentum=None: a cumulative average.
    const cum = new BatchNorm1d({ numFeatures: 1, momentum: null });
    cum.forward(t([1, 3], [2, 1]));
    cum.forward(t([5, 7], [2, 1]));
    expect(cum.runningMean!.data[0]).toBeCloseTo(4, 6);
    expect(() => new BatchNorm2d({ numFeatures: 2 }).forward(t([1, 2], [1, 2]))).toThrow(/expected a 4-D input/);
    expect(() => new BatchNorm1d({ numFeatures: 2 }).forward(t([1, 2], [1, 2]))).toThrow(/more than 1 value per channel/);
  });

  it('Embedding is N(0, 1) from the seeded generator with a zero padding row', () => {
    setRandomSeed(3);
    const e = new Embedding({ numEmbeddings: 200, embeddingDim: 50, paddingIdx: -1 });
    const w = Array.from(e.weight.data.subarray(0, 199 * 50));
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
    expect(e.paddingIdx).toBe(199);
    expect(Array.from(e.weight.data.subarray(199 * 50)).every((v) => v === 0)).toBe(true);
    expect(e.attrs()).toMatchObject({ num_embeddings: 200, embedding_dim: 50 });
  });

  it('Dropout is seeded, scales kept values by 1/(1-p) and passes through in eval', () => {
    const x = t(new Array(1000).fill(1), [10, 100]);
    const a = new Dropout({ p: 0.3, rng: new Rng(1) }).forward(x);
    const b = new Dropout({ p: 0.3, rng: new Rng(1) }).forward(x);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const kept = Array.from(a.data).filter((v) => v !== 0);
    expect(kept.length / 1000).toBeGreaterThan(0.6);
    expect(kept.length / 1000).toBeLessThan(0.8);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    const d = new Dropout({ p: 0.3 }).eval();
    expect(d.forward(x)).toBe(x);
  });

  it('ReLU writes its own output unless inplace; ConvModule names its children as MMCV', () => {
    const x = t([-1, 2], [1, 2]);
    new ReLU().forward(x);
    expect(Array.from(x.data)).toEqual([-1, 2]);
    new ReLU({ inplace: true }).forward(x);
    expect(Array.from(x.data)).toEqual([0, 2]);
    const cm = new ConvModule({ inChannels: 3, outChannels: 8, kernelSize: 3, normCfg: { type: 'BN' } });
    expect(cm.namedModules().map((m) => `${m.name}:${m.type}`)).toEqual([':ConvModule', 'conv:Conv2d', 'bn:BatchNorm2d', 'activate:ReLU']);
    expect(cm.conv.bias).toBeNull(); // bias='auto' with a norm layer
    const gn = new ConvModule({ inChannels: 3, outChannels: 8, kernelSize: 1, normCfg: { type: 'GN', num_groups: 2 }, actCfg: null });
    expect(gn.namedModules().map((m) => m.name)).toEqual(['', 'conv', 'gn']);
  });
});

describe('layers and models from config', () => {
  it('builds layers through LAYERS with torch argument names, MMCV aliases and clear errors', () => {
    expect(LAYERS.build({ type: 'BN', num_features: 4 }).typeName).toBe('BatchNorm2d');
    expect(LAYERS.build({ type: 'GN', num_groups: 2, num_channels: 4 }).attrs()).toMatchObject({ num_groups: 2, num_channels: 4 });
    expect(LAYERS.build({ type: 'LayerNorm', normalized_shape: 8 }).attrs()).toMatchObject({ normalized_shape: [8] });
    expect(() => LAYERS.build({ type: 'Conv2d', in_channels: 3, out_channels: 4, kernel_size: 3, kernal: 1 })).toThrow(/unexpected argument 'kernal'/);
    expect(() => LAYERS.build({ type: 'Conv2d', in_channels: 3, out_channels: 4, kernel_size: 3, groups: 2 })).toThrow(/divisible by groups/);
    expect(() => MODELS.build({ type: 'ReLU' }, 'model')).toThrow(/not registered in MODELS/);
    expect(() => LAYERS.build({ type: 'Upsample', scale_factor: 2, mode: 'bicubic' })).toThrow(/mode 'bicubic' is not supported \(expected 'nearest' or 'bilinear'\)/);
    expect(() => LAYERS.build({ type: 'Upsample', scale_factor: 2, align_corners: false })).toThrow(/align_corners can only be set with mode 'bilinear'/);
    expect(() => LAYERS.build({ type: 'Sequential', layers: [{ type: 'CrossEntropyLoss' }] })).toThrow(/layers\[0\]: CrossEntropyLoss is not a layer .*loss key/);
  });

  it("model=dict(type='Sequential', layers=[...]) describes itself as torch.nn.Sequential", () => {
    setRandomSeed(0);
    const model = MODELS.build<SequentialModel>({
      type: 'Sequential',
      layers: [
        { type: 'Conv2d', in_channels: 1, out_channels: 4, kernel_size: 3, padding: 1 },
        { type: 'BatchNorm2d', num_features: 4 },
        { type: 'ReLU' },
        { type: 'MaxPool2d', kernel_size: 2 },
        { type: 'Flatten' },
        { type: 'Linear', in_features: 64, out_features: 2 },
      ],
    }, 'model');
    expect(model).toBeInstanceOf(SequentialModel);
    const d = model.describe();
    expect(d.modules.map((m) => `${m.name}:${m.type}`)).toEqual([':Sequential', '0:Conv2d', '1:BatchNorm2d', '2:ReLU', '3:MaxPool2d', '4:Flatten', '5:Linear']);
    expect(d.param_order).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '5.weight', '5.bias']);
    expect(model.namedBuffers().map(([n]) => n)).toEqual(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
    const wrapper = new OptimWrapper({ optimizer: new AdamW(model.parameters(), { lr: 0.02 }) });
    const batch = squares(64, 1);
    const first = model.trainStep(batch, wrapper).loss;
    let last = first;
    for (let i = 0; i < 60; i++) last = model.trainStep(batch, wrapper).loss;
    expect(last).toBeLessThan(0.2 * first);
    const acc = model.predict(squares(64, 2)).filter((o) => o.predLabel === o.gtLabel).length / 64;
    expect(acc).toBeGreaterThan(0.9);
    expect(model.training).toBe(true); // predict restores the mode
  });

  it('ImageClassifier (backbone, neck, LinearClsHead) trains with gradients that scale with gradScale', () => {
    setRandomSeed(1);
    const make = () => new ImageClassifier({
      backbone: new Sequential([new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, stride: 2, padding: 1 }), new ReLU(), new MaxPool2d({ kernelSize: 2 })]),
      neck: new Flatten(),
      head: new LinearClsHead({ numClasses: 2, inChannels: 16 }),
    });
    const model = make();
    expect(model.describe().param_order).toEqual(['backbone.0.weight', 'backbone.0.bias', 'head.fc.weight', 'head.fc.bias']);
    expect(model.namedModules().map((m) => m.name)).toContain('head.loss_module');
    const batch = squares(32, 3);
    const l1 = model.forwardBackward(batch, 1).loss;
    const g1 = model.parameters().map((p) => Array.from(p.grad));
    model.parameters().forEach((p) => p.setGrad(null));
    expect(model.forwardBackward(batch, 0.25).loss).toBe(l1);
    model.parameters().forEach((p, i) => p.grad.forEach((g, k) => expect(g).toBeCloseTo(0.25 * g1[i][k], 6)));
    const wrapper = new OptimWrapper({ optimizer: new AdamW(model.parameters(), { lr: 0.03 }) });
    for (let i = 0; i < 80; i++) model.trainStep(batch, wrapper);
    expect(model.predict(squares(64, 4)).filter((o) => o.predLabel === o.gtLabel).length).toBeGreaterThan(58);
  });

  it('EncoderDecoder (FCNHead, ignore_index 255) learns per-pixel labels', () => {
    setRandomSeed(2);
    // Label each pixel 1 inside the bright square, 0 outside, 255 (ignored) on the image border.
    const img = squares(16, 5);
    const labels = new Int32Array(16 * 64);
    for (let i = 0; i < labels.length; i++) {
      const p = i % 64;
      const border = p < 8 || p >= 56 || p % 8 === 0 || p % 8 === 7;
      labels[i] = border ? 255 : img.inputs[i] > 0.5 ? 1 : 0;
    }
    const batch: SegmentationBatch = { inputs: img.inputs, shape: img.shape, labels, size: 16 };
    const model = MODELS.build({
      type: 'EncoderDecoder',
      backbone: { type: 'Sequential', layers: [
        { type: 'ConvModule', in_channels: 1, out_channels: 8, kernel_size: 3, padding: 1, norm_cfg: { type: 'BN' } },
        { type: 'ConvModule', in_channels: 8, out_channels: 8, kernel_size: 3, stride: 2, padding: 1, norm_cfg: { type: 'BN' } },
      ] },
      decode_head: { type: 'FCNHead', in_channels: 8, channels: 8, num_convs: 1, num_classes: 2, dropout_ratio: 0, norm_cfg: { type: 'BN' } },
    }, 'model') as EncoderDecoder;
    expect(model.decodeHead).toBeInstanceOf(FCNHead);
    expect(model.namedModules().map((m) => m.name).filter((n) => n.startsWith('decode_head'))).toEqual([
      'decode_head', 'decode_head.loss_decode', 'decode_head.conv_seg', 'decode_head.convs', 'decode_head.convs.0',
      'decode_head.convs.0.conv', 'decode_head.convs.0.bn', 'decode_head.convs.0.activate',
    ]);
    const wrapper = new OptimWrapper({ optimizer: new AdamW(model.parameters(), { lr: 0.02 }) });
    const first = model.trainStep(batch, wrapper).loss;
    let last = first;
    for (let i = 0; i < 80; i++) last = model.trainStep(batch, wrapper).loss;
    expect(last).toBeLessThan(0.5 * first);
    const out = model.predict(batch);
    let right = 0;
    let counted = 0;
    for (const o of out) {
      expect(o.predSeg).toHaveLength(64);
      o.gtSeg.forEach((g, p) => {
        if (g === 255) return;
        counted++;
        if (o.predSeg[p] === g) right++;
      });
    }
    expect(right / counted).toBeGreaterThan(0.9);
  });

  it("paramwise_cfg treats the layers as torch's classes (norm and depthwise multipliers)", () => {
    const model = MODELS.build({
      type: 'Sequential',
      layers: [
        { type: 'Conv2d', in_channels: 2, out_channels: 4, kernel_size: 3 },
        { type: 'BatchNorm2d', num_features: 4 },
        { type: 'Conv2d', in_channels: 4, out_channels: 4, kernel_size: 3, groups: 4 },
        { type: 'GroupNorm', num_groups: 2, num_channels: 4 },
        { type: 'Flatten' },
        { type: 'Linear', in_features: 4, out_features: 2 },
      ],
    }, 'model');
    const wrapper = buildOptimWrapper({
      optimizer: { type: 'SGD', lr: 0.1, weight_decay: 0.01 },
      paramwise_cfg: { norm_decay_mult: 0, dwconv_decay_mult: 0.5 },
    }, model);
    const names = new Map(model.namedParameters().map(([n, p]) => [p, n]));
    const wd = Object.fromEntries(wrapper.optimizer.paramGroups.map((g) => [names.get(g.params[0]), g.weight_decay]));
    expect(wd).toMatchObject({ '0.weight': 0.01, '1.weight': 0, '1.bias': 0, '3.weight': 0, '3.bias': 0, '5.weight': 0.01 });
    expect(wd['2.weight']).toBeCloseTo(0.005, 12);
  });

  it('MNIST batches are NCHW images over the same memory as the 784-feature rows', () => {
    const ds = new MNIST({ split: 'test', limit: 4 });
    const b = ds.getBatch([0, 3]);
    expect(b.shape).toEqual([2, 1, 28, 28]);
    expect(b.features).toBe(784);
    expect(b.inputs).toHaveLength(2 * 784);
  });

  it('refuses misuse with AnvilErrors', () => {
    const conv = new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 3 });
    expect(() => conv.forward(t(new Array(8).fill(0), [1, 2, 2, 2]))).toThrow(/smaller than the dilated kernel/);
    expect(() => conv.forward(t(new Array(18).fill(0), [1, 1, 3, 6]))).toThrow(AnvilError);
    expect(() => conv.backward(t([0], [1]), true)).toThrow(/backward called before forward/);
  });
});

describe('Upsample nearest and CrossEntropyLoss options', () => {
  it("Upsample defaults to torch's 'nearest' (floor(dst * in/out)) and its backward sums the copies", () => {
    const up = LAYERS.build({ type: 'Upsample', size: [1, 7] }) as Upsample;
    expect(up.attrs()).toEqual({ size: [1, 7], scale_factor: null, mode: 'nearest', align_corners: null });
    const y = up.forward(t([1, 2, 3], [1, 1, 1, 3]));
    expect(y.shape).toEqual([1, 1, 1, 7]);
    expect(Array.from(y.data)).toEqual([1, 1, 1, 2, 2, 3, 3]);
    expect(Array.from(up.backward(t([1, 2, 3, 4, 5, 6, 7], [1, 1, 1, 7]), true)!.data)).toEqual([6, 9, 13]);
    // A scale factor maps with 1/scale: 5 -> 6 by 1.3 repeats index 3 where size 6 reaches 4.
    const x = t([1, 2, 3, 4, 5], [1, 1, 1, 5]);
    expect(Array.from(new Upsample({ scaleFactor: [1, 1.3] }).forward(x).data)).toEqual([1, 1, 2, 3, 4, 4]);
    expect(Array.from(new Upsample({ size: [1, 6] }).forward(x).data)).toEqual([1, 1, 2, 3, 4, 5]);
  });

  it("reduction 'none' gives per-pixel losses whose backward takes an upstream gradient", () => {
    const logits = t([2, 0, -1, 1, 0, 0, 3, -2], [2, 2, 1, 2]); // [N=2, C=2, 1, 2]
    const target = Int32Array.from([0, 255, 1, 0]);
    const ce = new CrossEntropyLoss({ reduction: 'none', ignoreIndex: 255, lossWeight: 2 });
    const losses = ce.forward(logits, target);
    expect(losses.shape).toEqual([2, 1, 2]);
    const nll = (zt: number, zo: number) => Math.log(Math.exp(zt) + Math.exp(zo)) - zt;
    const want = [nll(2, -1), 0, nll(3, 0), nll(0, -2)].map((v) => 2 * v);
    losses.data.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    // Their sum's gradient is the 'sum' reduction's, weighted per pixel by the upstream gradient.
    const sum = new CrossEntropyLoss({ reduction: 'sum', ignoreIndex: 255, lossWeight: 2 });
    const fb = sum.forwardBackward(logits, target, 1);
    expect(fb.loss).toBeCloseTo(want.reduce((a, b) => a + b), 5);
    const ones = ce.backward(t([1, 1, 1, 1], [2, 1, 2]));
    ones.data.forEach((g, i) => expect(g).toBeCloseTo(fb.grad.data[i], 6));
    const half = Array.from(ce.backward(t([0.5, 7, 0, 1], [2, 1, 2])).data);
    // Pixel 1 (ignored) and pixel 2 (upstream 0) get nothing; sample 0 pixel 0 gets half.
    expect(half[1]).toBe(0);
    expect(half[3]).toBe(0);
    expect(half[4]).toBe(0);
    expect(half[0]).toBeCloseTo(0.5 * fb.grad.data[0], 6);
    expect(() => ce.forwardBackward(logits, target)).toThrow(/reduction 'none' gives one loss per position/);
    expect(() => ce.backward(t([1], [1]))).toThrow(/expected 4 upstream gradient values/);
    expect(() => new CrossEntropyLoss({ reduction: 'avg' as 'mean' })).toThrow(/'mean', 'sum' or 'none'/);
  });

  it("OpenMMLab's mean (MMSeg, MMPretrain): the summed losses over all positions, or the non-ignored ones with avg_non_ignore", () => {
    const logits = t([2, 0, -1, 1, 0, 0, 3, -2], [2, 2, 1, 2]);
    const target = Int32Array.from([0, 255, 1, 0]);
    const w = [0.5, 2];
    const none = new CrossEntropyLoss({ reduction: 'none', ignoreIndex: 255, weight: w }).forward(logits, target).data;
    const total = none.reduce((a, b) => a + b, 0);
    const sum = new CrossEntropyLoss({ reduction: 'sum', ignoreIndex: 255, weight: w }).forwardBackward(logits, target, 1);
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ class_weight: w }, 4], // MMPretrain / MMSeg class weights: over every position
      [{ weight: w, avg_non_ignore: false }, 4],
      [{ weight: w, avg_non_ignore: true }, 3 + 2 ** -23], // MMSeg: avg_factor + eps
    ];
    for (const [cfg, divisor] of cases) {
      const ce = LAYERS.build({ type: 'CrossEntropyLoss', ignore_index: 255, loss_weight: 2, ...cfg }) as CrossEntropyLoss;
      const fb = ce.forwardBackward(logits, target, 3);
      expect(fb.loss).toBeCloseTo((2 * total) / divisor, 6);
      fb.grad.data.forEach((g, i) => expect(g).toBeCloseTo((6 * sum.grad.data[i]) / divisor, 6));
      expect(ce.forward(logits, target).data[0]).toBeCloseTo((2 * total) / divisor, 6);
      const back = ce.backward(t([0.5], []));
      back.data.forEach((g, i) => expect(g).toBeCloseTo(sum.grad.data[i] / divisor, 6));
    }
    // torch's mean divides by the summed weights of the kept positions instead.
    const torchMean = new CrossEntropyLoss({ ignoreIndex: 255, weight: w }).forwardBackward(logits, target, 1).loss;
    expect(torchMean).toBeCloseTo(total / (0.5 + 2 + 0.5), 6);
    const named = LAYERS.build({ type: 'CrossEntropyLoss', use_sigmoid: false, loss_name: 'loss_seg' }) as CrossEntropyLoss;
    expect([named.lossName, named.avgNonIgnore]).toEqual(['loss_seg', null]);
    expect(() => LAYERS.build({ type: 'CrossEntropyLoss', use_sigmoid: true })).toThrow('CrossEntropyLoss: use_sigmoid=True (binary cross-entropy) is not supported; use BCEWithLogitsLoss');
    expect(() => LAYERS.build({ type: 'CrossEntropyLoss', weight: w, class_weight: w })).toThrow('give weight (torch) or class_weight (OpenMMLab), not both');
    expect(() => LAYERS.build({ type: 'CrossEntropyLoss', class_weight: 'weights.npy' })).toThrow('class weights must be a list of numbers (a weights file is not read), got "weights.npy"');
    expect(() => LAYERS.build({ type: 'CrossEntropyLoss', loss_name: 'ce' })).toThrow(`loss_name must be a string starting with 'loss'`);
  });

  it("an MMSeg decode head averages its loss over every pixel (MMSeg's default) and reports it under loss_name", () => {
    const build = (lossDecode: Record<string, unknown>) =>
      MODELS.build({
        type: 'EncoderDecoder',
        backbone: { type: 'Sequential', layers: [{ type: 'Conv2d', in_channels: 1, out_channels: 4, kernel_size: 3, padding: 1 }] },
        decode_head: { type: 'FCNHead', in_channels: 4, channels: 4, num_convs: 0, num_classes: 2, dropout_ratio: 0, loss_decode: lossDecode },
      }) as EncoderDecoder;
    const model = build({ type: 'CrossEntropyLoss', use_sigmoid: false, loss_weight: 1.0, loss_name: 'loss_seg' });
    expect(model.decodeHead.lossDecode.avgNonIgnore).toBe(false);
    expect(build({ type: 'CrossEntropyLoss', avg_non_ignore: true }).decodeHead.lossDecode.avgNonIgnore).toBe(true);
    const labels = Int32Array.from([0, 1, 255, 255, 1, 0, 255, 1, 0]);
    const batch: SegmentationBatch = { inputs: Float32Array.from({ length: 9 }, (_, i) => Math.cos(i)), shape: [1, 1, 3, 3], labels, size: 1 };
    const losses = model.forwardBackward(batch, 1);
    expect(Object.keys(losses)).toEqual(['loss_seg']);
    const logits = model.decodeHead.forward(model.backbone.forward({ data: batch.inputs, shape: batch.shape }));
    const perPixel = new CrossEntropyLoss({ reduction: 'none', ignoreIndex: 255 }).forward(logits, labels).data;
    expect(losses.loss_seg).toBeCloseTo(perPixel.reduce((a, b) => a + b, 0) / 9, 6);
  });

  it('probability targets (a Float32Array shaped as the logits) follow torch, one-hot equal to class indices', () => {
    const logits = t([1, 0.5, -1, 0, 2, 1], [2, 3]);
    const w = [1, 2, 0.5];
    const onehot = Float32Array.from([0, 1, 0, 0, 0, 1]);
    const soft = new CrossEntropyLoss({ weight: w, labelSmoothing: 0.1, reduction: 'sum' }).forwardBackward(logits, onehot);
    const hard = new CrossEntropyLoss({ weight: w, labelSmoothing: 0.1, reduction: 'sum' }).forwardBackward(logits, Uint32Array.from([1, 2]));
    expect(soft.loss).toBeCloseTo(hard.loss, 5);
    soft.grad.data.forEach((g, i) => expect(g).toBeCloseTo(hard.grad.data[i], 6));
    // The mean over probabilities divides by the sample count (2), not by the targets' weights.
    const mean = new CrossEntropyLoss({ weight: w, labelSmoothing: 0.1 }).forwardBackward(logits, onehot);
    expect(mean.loss).toBeCloseTo(soft.loss / 2, 5);
    const uniform = new CrossEntropyLoss().forwardBackward(t([0, 0, 0], [1, 3]), Float32Array.from([0.2, 0.3, 0.5]));
    expect(uniform.loss).toBeCloseTo(Math.log(3), 6);
    expect(Array.from(uniform.grad.data).map((v) => Number(v.toFixed(6)))).toEqual([0.133333, 0.033333, -0.166667]);
    expect(() => new CrossEntropyLoss().forwardBackward(logits, Float32Array.from([1, 2]))).toThrow(/probability targets \(a Float32Array\) must be shaped as the logits/);
    expect(() => new CrossEntropyLoss({ ignoreIndex: 255 }).forwardBackward(logits, onehot)).toThrow(/ignore_index 255 is not supported for probability targets/);
    expect(() => new CrossEntropyLoss().forwardBackward(logits, [0, 1, 2])).toThrow(/expected 2 class-index targets/);
  });
});

describe('README layers example', () => {
  it('runs as pasted (only the package import pointed at the sources)', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const root = path.resolve(__dirname, '..');
    const blocks = [...fs.readFileSync(path.join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    const example = blocks.find((b) => b.includes('new Conv2d('));
    expect(example).toBeDefined();
    const dir = path.join(root, 'test', '.tmp');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `readme-layers-${process.pid}.ts`);
    fs.writeFileSync(file, example!.replace(/from 'anvil-train'/g, `from ${JSON.stringify(path.join(root, 'ts', 'index'))}`));
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      await import(file);
    } finally {
      console.log = log;
      fs.rmSync(file, { force: true });
    }
    const acc = Number(lines.find((l) => l.startsWith('train accuracy'))!.split(' ')[2]);
    expect(acc).toBeGreaterThan(0.8);
  });
});
