import { describe, expect, it } from 'vitest';
import { Adam, AnvilError, buildOptimWrapper, OPTIM_WRAPPERS, OptimWrapper, Parameter, parseLosses, SGD } from '../ts';

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
    expect(sgd.getLr()).toEqual({ lr: [0.1, 0.01] });
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

  it('refuses clip_grad (not available yet)', () => {
    expect(() => new OptimWrapper({ optimizer: optimizer(), clipGrad: { max_norm: 1 } })).toThrow(AnvilError);
    expect(() => OPTIM_WRAPPERS.build({ type: 'OptimWrapper', optimizer: optimizer(), clip_grad: { max_norm: 1 } }, 'optim_wrapper')).toThrow(
      /^optim_wrapper \(OptimWrapper\): OptimWrapper: clip_grad/,
    );
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
    expect(() => buildOptimWrapper({ type: 'AmpOptimWrapper', optimizer: { type: 'SGD', lr: 0.1 } }, [trained])).toThrow(
      /^optim_wrapper\.type: 'AmpOptimWrapper' is not registered in OPTIM_WRAPPERS/,
    );
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, paramwise_cfg: { norm_decay_mult: 0 } }, [trained])).toThrow(AnvilError);
    expect(() => buildOptimWrapper({}, [trained])).toThrow(/optim_wrapper\.optimizer: expected a dict/);
  });
});
