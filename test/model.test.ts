import { describe, expect, it } from 'vitest';
import { AdamW, AnvilError, type ClassificationBatch, Linear, MLPClassifier, OptimWrapper, ReLU, Rng, SGD, setRandomSeed } from '../ts';

/** 64 points in 2-D, labelled by the side of the line x + y = 0 they fall on (margin 0.3). */
function separable(seed = 1, n = 64): ClassificationBatch {
  const rng = new Rng(seed);
  const inputs = new Float32Array(n * 2);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; ) {
    const x = rng.uniform(-2, 2);
    const y = rng.uniform(-2, 2);
    if (Math.abs(x + y) < 0.3) continue;
    inputs.set([x, y], i * 2);
    labels[i] = x + y > 0 ? 1 : 0;
    i++;
  }
  return { inputs, labels, size: n, features: 2 };
}

describe('Linear', () => {
  function fixed(bias = true): Linear {
    const l = new Linear({ inFeatures: 3, outFeatures: 2, bias });
    l.weight.data.set([1, 2, 3, 4, 5, 6]);
    l.bias?.data.set([0.5, -1]);
    return l;
  }
  const x = new Float32Array([1, 0, -1, 2, 1, 0.5]);

  it('computes x W^T + b', () => {
    expect(Array.from(fixed().forward(x, 2))).toEqual([-1.5, -3, 6, 15]);
    expect(Array.from(fixed(false).forward(x, 2))).toEqual([-2, -2, 5.5, 16]);
    const l = fixed();
    expect(l.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['weight', [2, 3]],
      ['bias', [2]],
    ]);
  });

  it('backward matches central finite differences of a scalar loss', () => {
    const c = [0.3, -0.7, 1.1, 0.2];
    // L(y) = sum(c * y) + 0.5 * sum(y^2), so dL/dy = c + y.
    const loss = (l: Linear, input: Float32Array) => {
      const y = l.forward(input, 2);
      return Array.from(y).reduce((s, v, i) => s + c[i] * v + 0.5 * v * v, 0);
    };
    const layer = fixed();
    const y = Array.from(layer.forward(x, 2));
    const dx = Array.from(layer.backward(new Float32Array(y.map((v, i) => c[i] + v)), 2, true)!);
    const eps = 1e-2;
    const numeric = (values: Float32Array, i: number, f: () => number) => {
      const old = values[i];
      values[i] = old + eps;
      const up = f();
      values[i] = old - eps;
      const down = f();
      values[i] = old;
      return (up - down) / (2 * eps);
    };
    const probe = fixed();
    const xs = x.slice();
    const check = (analytic: ArrayLike<number>, values: Float32Array) => {
      expect(analytic.length).toBe(values.length);
      for (let i = 0; i < values.length; i++) {
        const n = numeric(values, i, () => loss(probe, xs));
        expect(Math.abs(analytic[i] - n)).toBeLessThan(1e-3 * Math.max(1, Math.abs(n)));
      }
    };
    check(layer.weight.grad, probe.weight.data);
    check(layer.bias!.grad, probe.bias!.data);
    check(dx, xs);
    expect(layer.weight.hasGrad && layer.bias!.hasGrad).toBe(true);
    // Gradients accumulate: a second backward adds the same again.
    const first = Array.from(layer.weight.grad);
    layer.backward(new Float32Array(y.map((v, i) => c[i] + v)), 2, false);
    expect(Array.from(layer.weight.grad)).toEqual(first.map((g) => Math.fround(g * 2)));
  });

  it('refuses bad sizes and backward before forward', () => {
    expect(() => new Linear({ inFeatures: 0, outFeatures: 2 })).toThrow(AnvilError);
    expect(() => new Linear({ inFeatures: 2, outFeatures: 2 }).backward(new Float32Array(2), 1, false)).toThrow(/backward called before forward/);
  });
});

describe('MLPClassifier', () => {
  it("describes its modules in named_modules order, as torch's Sequential names them", () => {
    const model = new MLPClassifier({ inFeatures: 4, hiddenSizes: [8], numClasses: 3 });
    expect(model.describe()).toEqual({
      modules: [
        { name: '', type: 'MLPClassifier' },
        { name: 'layers', type: 'Sequential' },
        { name: 'layers.0', type: 'Linear', attrs: { in_features: 4, out_features: 8 }, params: { weight: [8, 4], bias: [8] } },
        { name: 'layers.1', type: 'ReLU' },
        { name: 'layers.2', type: 'Linear', attrs: { in_features: 8, out_features: 3 }, params: { weight: [3, 8], bias: [3] } },
      ],
      param_order: ['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias'],
    });
    expect(model.namedParameters().map(([n, p]) => `${n}:${p.numel}`)).toEqual(['layers.0.weight:32', 'layers.0.bias:8', 'layers.2.weight:24', 'layers.2.bias:3']);
    expect(new ReLU().typeName).toBe('ReLU');
    expect(model.eval().training).toBe(false);
  });

  it('initialises reproducibly from the global seed', () => {
    setRandomSeed(7);
    const a = new MLPClassifier({ inFeatures: 2, numClasses: 2, hiddenSizes: [4] });
    setRandomSeed(7);
    const b = new MLPClassifier({ inFeatures: 2, numClasses: 2, hiddenSizes: [4] });
    const c = new MLPClassifier({ inFeatures: 2, numClasses: 2, hiddenSizes: [4] });
    expect(Array.from(a.parameters()[0].data)).toEqual(Array.from(b.parameters()[0].data));
    expect(Array.from(a.parameters()[0].data)).not.toEqual(Array.from(c.parameters()[0].data));
    // torch's default bound 1/sqrt(fan_in).
    expect(Array.from(a.parameters()[0].data).every((w) => Math.abs(w) <= 1 / Math.sqrt(2))).toBe(true);
  });

  it.each([
    ['SGD', (m: MLPClassifier) => new SGD(m.parameters(), { lr: 0.5, momentum: 0.9 })],
    ['AdamW', (m: MLPClassifier) => new AdamW(m.parameters(), { lr: 0.05 })],
  ])('trainStep with %s learns a separable dataset to 100%% train accuracy', (_name, makeOptimizer) => {
    setRandomSeed(0);
    const batch = separable();
    expect(new Set(batch.labels).size).toBe(2);
    const model = new MLPClassifier({ inFeatures: 2, hiddenSizes: [16], numClasses: 2 });
    const wrapper = new OptimWrapper({ optimizer: makeOptimizer(model) });
    const losses: number[] = [];
    for (let i = 0; i < 150; i++) {
      const logVars = model.trainStep(batch, wrapper);
      expect(Object.keys(logVars)).toEqual(['loss']);
      losses.push(logVars.loss);
    }
    expect(losses[0]).toBeGreaterThan(0.3);
    expect(losses.at(-1)!).toBeLessThan(0.1 * losses[0]);
    const outputs = model.predict(batch);
    expect(outputs).toHaveLength(64);
    expect(outputs.map((o) => o.gtLabel)).toEqual(Array.from(batch.labels));
    expect(outputs.filter((o) => o.predLabel === o.gtLabel)).toHaveLength(64);
  });

  it('scales gradients linearly with gradScale', () => {
    const model = new MLPClassifier({ inFeatures: 2, hiddenSizes: [5], numClasses: 2 });
    const batch = separable(3, 16);
    const full = model.forwardBackward(batch, 1);
    const g1 = model.parameters().map((p) => Array.from(p.grad));
    for (const p of model.parameters()) p.setGrad(null);
    const half = model.forwardBackward(batch, 0.5);
    const g2 = model.parameters().map((p) => Array.from(p.grad));
    expect(half.loss).toBe(full.loss);
    expect(g1.flat().some((g) => g !== 0)).toBe(true);
    expect(g2).toEqual(g1.map((gs) => gs.map((g) => g * 0.5)));
  });

  it('refuses a batch of the wrong width and bad options', () => {
    const model = new MLPClassifier({ inFeatures: 3, numClasses: 2 });
    expect(() => model.predict(separable(1, 4))).toThrow(new AnvilError('MLPClassifier: batch rows hold 2 features, the model expects 3'));
    expect(() => new MLPClassifier({ inFeatures: 3, numClasses: 1 })).toThrow(/num_classes must be an integer >= 2/);
    // A dataset with more classes than the model: a config error, not a native crash.
    const batch = { inputs: new Float32Array(4), labels: Uint32Array.of(1, 2), size: 2, features: 2 };
    expect(() => new MLPClassifier({ inFeatures: 2, numClasses: 2 }).forwardBackward(batch, 1)).toThrow(
      new AnvilError('MLPClassifier: label 2 is out of range for num_classes=2'),
    );
  });
});
