// Anvil's layers against PyTorch: forward values, input and parameter gradients and BatchNorm's
// running statistics on the fixed inputs of test/fixtures/layers/*.json, which
// scripts/gen-layer-fixtures.py generates with torch (float64 reference from float32 inputs),
// CrossEntropyLoss also with reduction 'none' and with class-probability targets.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';
import { type CrossEntropyLoss, LAYERS, type Module, type Tensor, type TensorLayer } from '../ts';

interface Arr {
  shape: number[];
  data: number[];
}

interface Case {
  name: string;
  type: string;
  args: Record<string, unknown>;
  train?: boolean;
  params?: Record<string, Arr>;
  buffers?: Record<string, Arr>;
  x: Arr;
  dy?: Arr;
  target?: Arr;
  expected: { y?: Arr; dx: Arr | null; loss?: number; grads?: Record<string, Arr>; buffers?: Record<string, Arr> };
}

const DIR = path.join(__dirname, 'fixtures', 'layers');

function load(file: string): Case[] {
  return JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')).cases as Case[];
}

/** Element-wise |got - want| <= atol + rtol |want|, reporting the first offender. */
function close(what: string, got: ArrayLike<number>, want: Arr | number[], atol = 2e-5, rtol = 2e-4): void {
  const w = Array.isArray(want) ? want : want.data;
  expect(got.length, `${what}: length`).toBe(w.length);
  for (let i = 0; i < w.length; i++) {
    if (!(Math.abs(got[i] - w[i]) <= atol + rtol * Math.abs(w[i]))) {
      expect.fail(`${what}[${i}]: got ${got[i]}, torch ${w[i]}`);
    }
  }
}

function build(c: Case): Module {
  return LAYERS.build({ type: c.type, ...c.args }, c.name);
}

function runModuleCase(c: Case): void {
  const layer = build(c) as Module & TensorLayer;
  for (const [name, p] of layer.namedParameters()) {
    const want = c.params![name];
    expect(p.shape, `${name} shape`).toEqual(want.shape);
    p.data.set(want.data);
  }
  expect(layer.namedParameters().map(([n]) => n).sort()).toEqual(Object.keys(c.params ?? {}).sort());
  for (const [name, b] of layer.namedBuffers()) if (c.buffers?.[name]) b.data.set(c.buffers[name].data);
  layer.train(c.train ?? true);
  const x: Tensor = { data: Float32Array.from(c.x.data), shape: c.x.shape };
  const y = layer.forward(x);
  expect(y.shape, 'output shape').toEqual(c.expected.y!.shape);
  close('y', y.data, c.expected.y!);
  const dy: Tensor = { data: Float32Array.from(c.dy!.data), shape: c.dy!.shape };
  const dx = layer.backward(dy, true);
  if (c.expected.dx) {
    expect(dx?.shape, 'dx shape').toEqual(c.x.shape);
    close('dx', dx!.data, c.expected.dx);
  }
  for (const [name, p] of layer.namedParameters()) close(`d${name}`, p.grad, c.expected.grads![name]);
  for (const [name, b] of layer.namedBuffers()) {
    if (c.expected.buffers?.[name]) close(name, b.data, c.expected.buffers[name], 1e-6, 1e-5);
  }
}

function runLossCase(c: Case): void {
  const x: Tensor = { data: Float32Array.from(c.x.data), shape: c.x.shape };
  // As torch decides: a cross-entropy target shaped as the logits holds class probabilities.
  const probs = c.type !== 'CrossEntropyLoss' || c.target!.shape.join() === c.x.shape.join();
  const target = probs ? Float32Array.from(c.target!.data) : Int32Array.from(c.target!.data);
  if (c.args.reduction === 'none') {
    const ce = build(c) as CrossEntropyLoss;
    const y = ce.forward(x, target);
    expect(y.shape, 'losses shape').toEqual(c.expected.y!.shape);
    close('losses', y.data, c.expected.y!, 1e-6, 1e-5);
    const dx = ce.backward({ data: Float32Array.from(c.dy!.data), shape: c.dy!.shape });
    close('dx', dx.data, c.expected.dx!, 1e-6, 1e-4);
    return;
  }
  const loss = build(c) as Module & { forwardBackward(x: Tensor, t: ArrayLike<number>, scale?: number): { loss: number; grad: Tensor } };
  const out = loss.forwardBackward(x, target, 1);
  expect(Math.abs(out.loss - c.expected.loss!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(c.expected.loss!)));
  close('dx', out.grad.data, c.expected.dx!, 1e-6, 1e-4);
  // A scale multiplies the gradient, not the loss.
  const scaled = loss.forwardBackward(x, target, 0.5);
  expect(scaled.loss).toBeCloseTo(out.loss, 6);
  close('scaled dx', scaled.grad.data, c.expected.dx!.data.map((v) => v * 0.5), 1e-6, 1e-4);
  if (c.type !== 'CrossEntropyLoss') return;
  // forward/backward give the same: the loss as a [] tensor, dlogits for an upstream gradient.
  const ce = loss as unknown as CrossEntropyLoss;
  const y = ce.forward(x, target);
  expect(y.shape).toEqual([]);
  expect(y.data[0]).toBeCloseTo(out.loss, 6);
  close('backward dx', ce.backward({ data: Float32Array.of(2), shape: [] }).data, c.expected.dx!.data.map((v) => v * 2), 1e-6, 1e-4);
}

const LOSSES = new Set(['CrossEntropyLoss', 'MSELoss', 'BCEWithLogitsLoss']);

for (const file of ['linear.json', 'conv2d.json', 'batchnorm2d.json', 'layernorm.json', 'cross_entropy.json', 'extras.json']) {
  describe(`PyTorch fixtures: ${file}`, () => {
    for (const c of load(file)) {
      it(`${c.type} ${c.name}`, () => (LOSSES.has(c.type) ? runLossCase(c) : runModuleCase(c)));
    }
  });
}
