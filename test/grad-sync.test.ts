// The distributed gradient sync's overlap of all-reduce with backward (ts/dist/grad-sync.ts), over
// a simulated rank 0 of two whose peer always holds twice our gradients: every mean is 1.5x ours,
// so the reduced values are checked exactly, and the collectives' order and timing are recorded.

import { afterEach, describe, expect, it } from 'vitest';

import { MLPClassifier, OptimWrapper, Parameter, SGD } from '../ts';
import { allReduceGradients, optimizerBuckets, setDist } from '../ts/dist';
import { GradSync } from '../ts/dist/grad-sync';
import type { ClassificationBatch } from '../ts/data/batch';
import { setRandomSeed } from '../ts/util/random';
import { SimulatedGroup } from './helpers/simulated-group';

/** Rank 0 of two whose peer always holds twice our values. */
const twiceGroup = () => new SimulatedGroup((d) => d.map((x) => 2 * x));

function batch(seed: number): ClassificationBatch {
  const size = 4;
  const features = 6;
  const inputs = Float32Array.from({ length: size * features }, (_, i) => Math.sin(seed * 7 + i));
  return { inputs, labels: Uint32Array.from({ length: size }, (_, i) => (seed + i) % 3), size, features };
}

function setup(options: { accumulativeCounts?: number; bucketCapMb?: number; overlap?: boolean } = {}) {
  setRandomSeed(3);
  const model = new MLPClassifier({ inFeatures: 6, hiddenSizes: [5, 4], numClasses: 3 });
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  const wrapper = new OptimWrapper({ optimizer, accumulativeCounts: options.accumulativeCounts });
  wrapper.dataParallel = { bucketCapMb: options.bucketCapMb, overlap: options.overlap };
  return { model, optimizer, wrapper };
}

/** The reduced gradients each step hands the optimizer (after the sync, before the update). */
function captureGrads(wrapper: OptimWrapper, params: Parameter[]): Float32Array[][] {
  const seen: Float32Array[][] = [];
  const step = wrapper.optimizer.step.bind(wrapper.optimizer);
  wrapper.optimizer.step = () => {
    seen.push(params.map((p) => p.grad.slice()));
    step();
  };
  return seen;
}

/** Three steps without overlap: the blocking path the overlapped one must equal. */
function blockingGrads(): Float32Array[][] {
  setDist(twiceGroup());
  const { model, wrapper } = setup({ overlap: false });
  const seen = captureGrads(wrapper, model.parameters());
  for (let step = 0; step < 3; step++) model.trainStep(batch(step), wrapper);
  setDist(null);
  return seen;
}

afterEach(() => setDist(null));

describe('GradSync: all-reduce overlapped with backward', () => {
  it('learns the layout in the first synced backward, then starts buckets during backward, last layer first', () => {
    const want = blockingGrads();
    const group = twiceGroup();
    setDist(group);
    const { model, wrapper } = setup({ bucketCapMb: 1e-5 }); // 10 bytes: one tensor per bucket
    const params = model.parameters();
    const seen = captureGrads(wrapper, params);
    const firstWeight = params[0];
    const firstLayerDone: boolean[] = [];
    group.onStart = () => firstLayerDone.push(firstWeight.hasGrad);
    for (let step = 0; step < 3; step++) {
      group.calls.length = 0;
      firstLayerDone.length = 0;
      model.trainStep(batch(step), wrapper);
      const stats = wrapper.gradSyncStats!;
      if (step === 0) {
        // Learning: the layout is broadcast from rank 0, the gradients reduced at the end.
        expect(group.calls).toEqual(['broadcast:12', 'allReduce:max:6', 'allReduce:mean:74']);
        expect(stats.overlapped).toBe(0);
      } else {
        // Six tensors, six buckets started in the order backward finishes them (fc3.weight,
        // fc3.bias, fc2.weight, ...), all before finish, four before the first layer's backward.
        expect(group.calls).toEqual(['start:mean:12', 'start:mean:3', 'start:mean:20', 'start:mean:4', 'start:mean:30', 'start:mean:5', 'allReduce:max:6']);
        expect(stats).toEqual({ overlapped: 6, collectives: 7 });
        expect(firstLayerDone).toEqual([false, false, false, false, true, true]);
      }
    }
    // The same values as reducing everything at the end, and 1.5x the local gradients.
    expect(seen.map((g) => g.map((t) => Array.from(t)))).toEqual(want.map((g) => g.map((t) => Array.from(t))));
    const { model: alone } = setup();
    alone.forwardBackward(batch(0), 1);
    expect(Array.from(seen[0][0])).toEqual(Array.from(alone.parameters()[0].grad).map((g) => Math.fround(1.5 * g)));
  });

  it('packs adjacent tensors up to bucket_cap_mb (the first bucket at most 1 MiB) and gives the blocking path’s values', () => {
    const group = twiceGroup();
    setDist(group);
    const { model, wrapper } = setup({ bucketCapMb: 25 });
    model.trainStep(batch(0), wrapper);
    group.calls.length = 0;
    model.trainStep(batch(1), wrapper);
    // 74 float32 values fit one bucket, started when the first layer's weight is done: still before finish.
    expect(group.calls).toEqual(['start:mean:74', 'allReduce:max:6']);
    expect(wrapper.gradSyncStats!.overlapped).toBe(1);
  });

  it('accumulating backwards start nothing (no_sync); the window’s last one does', () => {
    const group = twiceGroup();
    setDist(group);
    const { model, wrapper } = setup({ accumulativeCounts: 2, bucketCapMb: 1e-5 });
    wrapper.initializeCountStatus(0, 8);
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      group.calls.length = 0;
      model.trainStep(batch(i), wrapper);
      counts.push(group.calls.filter((l) => l.startsWith('start')).length);
    }
    expect(counts).toEqual([0, 0, 0, 6, 0, 6]);
  });

  it('overlap_grad_reduce=False reduces everything at the end, as allReduceGradients', () => {
    const group = twiceGroup();
    setDist(group);
    const { model, wrapper } = setup({ overlap: false });
    for (let i = 0; i < 2; i++) {
      group.calls.length = 0;
      model.trainStep(batch(i), wrapper);
      expect(group.calls).toEqual(['allReduce:max:6', 'allReduce:mean:74']);
    }
  });

  it('refuses a write into a gradient whose all-reduce is in flight, and more ready marks than learned', () => {
    const group = twiceGroup();
    const p = new Parameter([2], { data: [1, 2] });
    const q = new Parameter([3], { data: [1, 2, 3] });
    const sgd = new SGD([p, q], { lr: 0.1 });
    const sync = new GradSync(optimizerBuckets(sgd), group, { bucketCapMb: 1e-6 });
    const backward = () => {
      q.accumulateGrad().fill(1);
      q.gradReady();
      p.accumulateGrad().fill(2);
      p.gradReady();
    };
    sync.arm();
    backward();
    sync.finish();
    sync.arm();
    q.accumulateGrad().fill(1);
    q.gradReady();
    expect(() => q.accumulateGrad()).toThrow(/tensor 1's gradient is being all-reduced, yet backward adds into it again/);
    expect(() => q.gradReady()).toThrow('a gradient was marked ready (gradReady) more often than in the first synced backward (1 times)');
    sync.finish();
    // Finished: the gradients may be written again, and the flags agree.
    expect(() => q.accumulateGrad()).not.toThrow();
  });

  it('a model that never marks gradients still gets them reduced (at the end), and half buckets too', () => {
    const group = twiceGroup();
    const a = new Parameter([2], { data: [1, 1] });
    const h = new Parameter([2], { data: [1, 1], gradDtype: 'float16' });
    const sgd = new SGD([{ params: [a] }, { params: [h], lr: 0.2 }], { lr: 0.1 });
    const sync = new GradSync(optimizerBuckets(sgd), group);
    for (let i = 0; i < 2; i++) {
      sgd.zeroGrad();
      sync.arm();
      a.setGrad([2, 4]);
      h.setGrad([2, 4]);
      sync.finish();
      expect(Array.from(a.grad)).toEqual([3, 6]);
      expect(Array.from(h.gradBits())).toEqual([0x4200, 0x4600]); // 3 and 6 in float16
    }
    // Same values as the blocking path.
    sgd.zeroGrad();
    a.setGrad([2, 4]);
    allReduceGradients(optimizerBuckets(sgd), group);
    expect(Array.from(a.grad)).toEqual([3, 6]);
  });
});
