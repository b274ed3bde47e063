// TfjsModel: a TensorFlow.js model (variables + ops, gradients from tf.variableGrads) trained by
// Anvil's optimizer wrapper (AdamW, accumulation, gradient clipping) through the model contract.

import * as tf from '@tensorflow/tfjs-core';
// The pieces the umbrella '@tensorflow/tfjs' package loads: the gradients and the CPU backend.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, OptimWrapper, Rng, TfjsModel, type TfLike } from '../ts';

interface Batch {
  x: number[][];
  y: number[];
}

/** Points in 2-D labelled by the side of x + y = 0 (margin 0.3). */
function separable(n: number, seed: number): Batch {
  const rng = new Rng(seed);
  const x: number[][] = [];
  const y: number[] = [];
  while (x.length < n) {
    const a = rng.uniform(-2, 2);
    const b = rng.uniform(-2, 2);
    if (Math.abs(a + b) < 0.3) continue;
    x.push([a, b]);
    y.push(a + b > 0 ? 1 : 0);
  }
  return { x, y };
}

/** A 2-16-2 MLP as plain tfjs variables and ops. */
function tfModel(seed: number) {
  const w1 = tf.variable(tf.randomNormal([2, 16], 0, 0.5, 'float32', seed), true, `m${seed}_w1`);
  const b1 = tf.variable(tf.zeros([16]), true, `m${seed}_b1`);
  const w2 = tf.variable(tf.randomNormal([16, 2], 0, 0.5, 'float32', seed + 1), true, `m${seed}_w2`);
  const b2 = tf.variable(tf.zeros([2]), true, `m${seed}_b2`);
  const logits = (x: number[][]) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.tensor2d(x), w1), b1)), w2), b2);
  return {
    variables: { w1, b1, w2, b2 },
    logits,
    loss: (b: Batch) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(b.y, 'int32'), 2), logits(b.x)),
  };
}

function adapter(seed: number) {
  const m = tfModel(seed);
  const model = new TfjsModel<Batch, { predLabel: number; gtLabel: number }>({
    tf: tf as unknown as TfLike,
    variables: m.variables,
    loss: m.loss,
    predict: (b) => {
      const pred = tf.tidy(() => tf.argMax(m.logits(b.x), 1).dataSync());
      return b.y.map((gt, i) => ({ predLabel: pred[i], gtLabel: gt }));
    },
  });
  return { model, tfm: m };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('TfjsModel (TensorFlow.js adapter)', () => {
  it('hands tfjs gradients, scaled, to Anvil parameters', () => {
    const { model, tfm } = adapter(1);
    expect(model.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['w1', [2, 16]], ['b1', [16]], ['w2', [16, 2]], ['b2', [2]]]);
    const batch = separable(32, 2);
    const { value, grads } = tf.variableGrads(() => tfm.loss(batch) as tf.Scalar);
    const { loss } = model.forwardBackward(batch, 0.5);
    expect(loss).toBeCloseTo(value.dataSync()[0], 6);
    const w1 = model.namedParameters()[0][1];
    const want = grads[tfm.variables.w1.name].dataSync();
    w1.grad.forEach((g, i) => expect(g).toBeCloseTo(0.5 * want[i], 6));
    expect(w1.hasGrad).toBe(true);
  });

  it("trains with Anvil's AdamW, accumulation and clipping, the tf variables following", () => {
    const { model, tfm } = adapter(3);
    const wrapper = new OptimWrapper({
      optimizer: new AdamW(model.parameters(), { lr: 0.05 }),
      accumulativeCounts: 2,
      clipGrad: { max_norm: 5 },
    });
    const batch = separable(64, 4);
    const before = tfm.variables.w1.dataSync().slice();
    const losses: number[] = [];
    for (let i = 0; i < 120; i++) losses.push(model.trainStep(batch, wrapper).loss);
    expect(losses.at(-1)!).toBeLessThan(0.2 * losses[0]);
    const test = separable(200, 5);
    const correct = model.predict(test).filter((o) => o.predLabel === o.gtLabel).length;
    expect(correct / 200).toBeGreaterThan(0.95);
    // predict refreshed the tf variables from Anvil's parameters.
    expect(Array.from(tfm.variables.w1.dataSync())).toEqual(Array.from(model.namedParameters()[0][1].data));
    expect(Array.from(tfm.variables.w1.dataSync())).not.toEqual(Array.from(before));
  });
});
