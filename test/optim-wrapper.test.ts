import { describe, expect, it } from 'vitest';
import { Adam, AnvilError, buildOptimWrapper, MLPClassifier, OPTIM_WRAPPERS, OptimWrapper, Parameter, parseLosses, Runner, SGD, setRandomSeed } from '../ts';

describe('OptimWrapper: gradient accumulation', () => {
  it('scales and steps as MMEngine does (accumulative_counts=4, max_iters=10)', () => {
    const p = new Parameter([1], { data: [0] });
    const wrapper = new OptimWrapper({ optimizer: new SGD([p], { lr: 1 }), accumulativeCounts: 4 });
    wrapper.initializeCountStatus(0, 10);
    const scales: number[] = [];
    const values: number[] = [];
    for (let iter = 0; iter < 10; iter++) {
      const scale = wrapper.gradientScale();
      scales.push(scale);
      p.accumulateGrad()[0] += 1 * scale; // the model's backward of a loss with gradient 1
      wrapper.updateParams(1);
      values.push(p.data[0]);
      // After a step the gradient is gone; in between it accumulates.
      expect(p.hasGrad).toBe(!wrapper.shouldUpdate());
    }
    expect(scales).toEqual([0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.5, 0.5]);
    // The parameter moves only when a window closes: after iterations 4, 8 and 10.
    expect(values).toEqual([0, 0, 0, -1, -1, -1, -1, -2, -2, -3]);
    expect(wrapper.innerIter).toBe(10);
  });

  it('uses 1/accumulative_counts before initializeCountStatus and 1 without accumulation', () => {
    const p = new Parameter([1]);
    const acc = new OptimWrapper({ optimizer: new SGD([p]), accumulativeCounts: 3 });
    expect(acc.gradientScale()).toBeCloseTo(1 / 3, 12);
    const plain = new OptimWrapper({ optimizer: new SGD([new Parameter([1])]) });
    plain.initializeCountStatus(0, 7);
    expect(plain.accumulativeCounts).toBe(1);
    expect(plain.gradientScale()).toBe(1);
    plain.updateParams(0);
    expect(plain.shouldUpdate()).toBe(true);
  });

  it('zeroGrad clears every gradient', () => {
    const ps = [new Parameter([2]), new Parameter([3])];
    const wrapper = new OptimWrapper({ optimizer: new SGD(ps, { lr: 0.1 }) });
    ps.forEach((p) => p.setGrad(p.numel === 2 ? [1, 2] : [3, 4, 5]));
    wrapper.zeroGrad();
    expect(ps.map((p) => p.hasGrad)).toEqual([false, false]);
    expect(ps.map((p) => Array.from(p.grad))).toEqual([
      [0, 0],
      [0, 0, 0],
    ]);
  });
});

describe('OptimWrapper: lr and momentum', () => {
  it('reports lr per group and momentum (SGD momentum, Adam betas[0])', () => {
    const [a, b] = [new Parameter([1]), new Parameter([1])];
    const sgd = new OptimWrapper({ optimizer: new SGD([{ params: [a] }, { params: [b], lr: 0.01 }], { lr: 0.1, momentum: 0.9 }) });
    // Several groups: MMEngine's base_param_settings (the optimizer's defaults) reported as base_lr.
    expect(sgd.getLr()).toEqual({ base_lr: [0.1], lr: [0.1, 0.01] });
    expect(sgd.paramGroups).toHaveLength(3);
    expect(sgd.paramGroups[2]).toMatchObject({ params: [], lr: 0.1, momentum: 0.9 });
    expect(sgd.getMomentum()).toEqual({ momentum: [0.9, 0.9] });
    const adam = new OptimWrapper({ optimizer: new Adam([new Parameter([1])], { betas: [0.8, 0.99] }) });
    expect(adam.getLr()).toEqual({ lr: [0.001] });
    expect(adam.getMomentum()).toEqual({ momentum: [0.8] });
    adam.optimizer.paramGroups[0].lr = 0.5;
    expect(adam.getLr().lr).toEqual([0.5]);
  });
});

describe('parseLosses', () => {
  it('sums keys containing "loss", sums lists, logs the rest without summing', () => {
    const { loss, logVars } = parseLosses({ loss_cls: 1, loss_bbox: [0.5, 0.25], acc: 0.9, my_loss_aux: 2 });
    expect(loss).toBe(3.75);
    expect(logVars).toEqual({ loss: 3.75, loss_cls: 1, loss_bbox: 0.75, acc: 0.9, my_loss_aux: 2 });
    expect(Object.keys(logVars)[0]).toBe('loss');
  });

  it('logs only non-loss keys as a total of 0 and refuses non-numbers', () => {
    expect(parseLosses({ acc: 0.5 })).toEqual({ loss: 0, logVars: { loss: 0, acc: 0.5 } });
    expect(() => parseLosses({ loss: 'big' as unknown as number })).toThrow(new AnvilError('parse_losses: loss is not a number or a list of numbers'));
  });
});

describe('OptimWrapper: configuration errors', () => {
  const optimizer = () => new SGD([new Parameter([1])], { lr: 0.1 });

  it('refuses clip_grad configs MMEngine refuses', () => {
    const build = (clip_grad: unknown) => () => OPTIM_WRAPPERS.build({ type: 'OptimWrapper', optimizer: optimizer(), clip_grad }, 'optim_wrapper');
    expect(build({})).toThrow(/^optim_wrapper \(OptimWrapper\): OptimWrapper: clip_grad: if given, it should be a non-empty dict/);
    expect(build({ type: 'norm' })).toThrow(/should contain other arguments besides type/);
    expect(build({ type: 'abs', max_norm: 1 })).toThrow(/type of clip_grad should be "norm" or "value" but got "abs"/);
    expect(build({ max_norm: 1, norm: 2 })).toThrow(/unexpected argument 'norm' for clip_grad_norm_/);
    expect(build({ type: 'value', max_norm: 1 })).toThrow(/unexpected argument 'max_norm' for clip_grad_value_/);
    // clip_grad=None is the default and accepted.
    expect(OPTIM_WRAPPERS.build({ type: 'OptimWrapper', optimizer: optimizer(), clip_grad: null })).toBeInstanceOf(OptimWrapper);
  });

  it.each([0, -2, 1.5, '4'])('refuses accumulative_counts=%j', (acc) => {
    expect(() => OPTIM_WRAPPERS.build({ type: 'OptimWrapper', optimizer: optimizer(), accumulative_counts: acc })).toThrow(
      /accumulative_counts must be a positive integer/,
    );
  });

  it('builds from an optim_wrapper config and refuses unknown keys', () => {
    const trained = new Parameter([2]);
    const frozen = new Parameter([2], { requiresGrad: false });
    const w = buildOptimWrapper({ optimizer: { type: 'AdamW', lr: 0.01 }, accumulative_counts: 2 }, [trained, frozen]);
    expect(w.accumulativeCounts).toBe(2);
    expect(w.optimizer.type).toBe('AdamW');
    expect(w.optimizer.paramGroups[0].params).toEqual([trained]);
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, acumulative_counts: 2 }, [trained])).toThrow(
      /OptimWrapper: unexpected argument 'acumulative_counts'/,
    );
    expect(() => buildOptimWrapper({ type: 'AmpOptimWrapper', optimizer: { type: 'SGD', lr: 0.1 }, loss_scale: 'static' }, [trained])).toThrow(
      /AmpOptimWrapper: loss_scale must be of type float, dict, or "dynamic", but got "static"/,
    );
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, paramwise_cfg: { norm_decay_mult: 0 } }, [trained])).toThrow(AnvilError);
    expect(() => buildOptimWrapper({}, [trained])).toThrow(/optim_wrapper\.optimizer: expected a dict/);
  });
});

describe('OptimWrapper: clip_grad', () => {
  it('clips by norm before the step and records train/grad_norm on updating iterations', () => {
    const p = new Parameter([2], { data: [0, 0] });
    const recorded: Array<[string, number]> = [];
    const wrapper = new OptimWrapper({ optimizer: new SGD([p], { lr: 1 }), accumulativeCounts: 2, clipGrad: { max_norm: 1 }, messageHub: { updateScalar: (k, v) => recorded.push([k, v]) } });
    wrapper.initializeCountStatus(0, 4);
    for (let i = 0; i < 4; i++) {
      p.accumulateGrad().set([3 * wrapper.gradientScale(), 4 * wrapper.gradientScale()].map((g, j) => p.grad[j] + g));
      wrapper.updateParams(0);
    }
    // Each window's gradient is (3, 4): norm 5, clipped to norm 1 (factor 1 / (5 + 1e-6)).
    expect(recorded).toEqual([
      ['train/grad_norm', 5],
      ['train/grad_norm', 5],
    ]);
    expect(wrapper.lastGradNorm).toBe(5);
    const f = Math.fround(1 / (5 + 1e-6));
    expect(p.data[0]).toBeCloseTo(-2 * 3 * f, 5);
    expect(p.data[1]).toBeCloseTo(-2 * 4 * f, 5);
  });

  it('clips by value without recording a norm', () => {
    const p = new Parameter([3], { data: [0, 0, 0] });
    const recorded: string[] = [];
    const wrapper = new OptimWrapper({ optimizer: new SGD([p], { lr: 1 }), clipGrad: { type: 'value', clip_value: 0.5 }, messageHub: { updateScalar: (k) => recorded.push(k) } });
    p.setGrad([-2, 0.25, 1]);
    wrapper.updateParams(0);
    expect(Array.from(p.data)).toEqual([0.5, -0.25, -0.5]);
    expect(recorded).toEqual([]);
  });

  it("runs the guide's clip_grad snippet in a runner: grad_norm in the message hub and the log", () => {
    const lines: string[] = [];
    const runner = Runner.fromConfig(
      {
        model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [16], num_classes: 10 },
        train_dataloader: { batch_size: 4, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 64 } },
        train_cfg: { type: 'IterBasedTrainLoop', max_iters: 8 },
        optim_wrapper: {
          type: 'OptimWrapper',
          optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weight_decay: 0.0001 },
          clip_grad: { max_norm: 0.2, norm_type: 2 },
          accumulative_counts: 4,
        },
        default_hooks: { logger: { type: 'LoggerHook', interval: 4 } },
        randomness: { seed: 0 },
      },
      { workDir: null, echo: (l) => lines.push(l) },
    );
    runner.train();
    const norms = runner.messageHub.getScalar('train/grad_norm')!;
    expect(norms.count).toBe(2); // iterations 4 and 8 update
    expect(norms.current()).toBeGreaterThan(0);
    const trainLines = lines.filter((l) => l.includes('Iter(train)'));
    expect(trainLines).toHaveLength(2);
    for (const l of trainLines) expect(l).toMatch(/  grad_norm: \d+\.\d{4}/);
  });

  it('batch 4 x accumulative_counts 4 gives the weights of batch 16 x 1', () => {
    const rows = Array.from({ length: 16 }, (_, i) => [Math.sin(i), Math.cos(i * 0.7), (i % 5) / 5 - 0.4]);
    const labels = rows.map((r) => (r[0] + r[1] > 0 ? 1 : 0));
    const batch = (from: number, size: number) => ({
      inputs: Float32Array.from(rows.slice(from, from + size).flat()),
      labels: Uint32Array.from(labels.slice(from, from + size)),
      size,
      features: 3,
    });
    const train = (batchSize: number, acc: number) => {
      setRandomSeed(7);
      const model = new MLPClassifier({ inFeatures: 3, hiddenSizes: [8], numClasses: 2 });
      const wrapper = buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.5, momentum: 0.9 }, accumulative_counts: acc, clip_grad: { max_norm: 10 } }, model);
      const iters = 3 * (16 / batchSize);
      wrapper.initializeCountStatus(0, iters);
      for (let i = 0; i < iters; i++) model.trainStep(batch((i * batchSize) % 16, batchSize), wrapper);
      return model.parameters().flatMap((p) => Array.from(p.data));
    };
    const big = train(16, 1);
    const small = train(4, 4);
    small.forEach((v, i) => expect(v).toBeCloseTo(big[i], 5));
  });
});
