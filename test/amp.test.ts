// AmpOptimWrapper on the CPU: the guide's two snippets build and train, dynamic / static / dict
// loss scales, fp16 and bf16 gradients, the fused step matching the unfused torch sequence,
// skipped steps, and `log_grad_norm` with and without AMP.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AmpOptimWrapper,
  BaseModel,
  buildOptimWrapper,
  clipGradNorm,
  Config,
  getTotalNorm,
  GradScaler,
  Module,
  OptimWrapper,
  Parameter,
  Runner,
  SGD,
} from '../ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-amp-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** A module described as torch would describe it (type name, attributes, own parameters). */
class Named extends Module {
  constructor(
    private readonly type: string,
    own: Record<string, number[]> = {},
    children: Record<string, Module> = {},
  ) {
    super();
    let k = 1;
    for (const [name, shape] of Object.entries(own)) {
      const n = shape.reduce((a, b) => a * b, 1);
      this.registerParameter(name, new Parameter(shape, { data: Array.from({ length: n }, () => ((k++ * 37) % 17) / 17 - 0.5) }));
    }
    for (const [name, m] of Object.entries(children)) this.addModule(name, m);
  }
  override get typeName(): string {
    return this.type;
  }
}

/**
 * MMSegmentation's ConvNeXt + UPerHead parameter layout (what LearningRateDecayOptimizerConstructor
 * reads), trained on a quadratic loss 0.5 * sum((p - target)^2) so every gradient is known.
 */
class TinyConvNeXtSegmentor extends BaseModel<{ target: number }, never> {
  constructor() {
    super();
    const conv = (cin: number, cout: number) => new Named('Conv2d', { weight: [cout, cin, 3, 3], bias: [cout] });
    const ln = (c: number) => new Named('LayerNorm', { weight: [c], bias: [c] });
    const block = () => new Named('ConvNeXtBlock', { gamma: [4] }, { depthwise_conv: conv(1, 4), norm: ln(4), pointwise_conv1: new Named('Linear', { weight: [8, 4], bias: [8] }) });
    this.addModule(
      'backbone',
      new Named('ConvNeXt', {}, {
        downsample_layers: new Named('ModuleList', {}, { 0: new Named('Sequential', {}, { 0: conv(3, 4), 1: ln(4) }), 1: new Named('Sequential', {}, { 0: ln(4), 1: conv(4, 4) }) }),
        stages: new Named('ModuleList', {}, { 0: new Named('Sequential', {}, { 0: block() }), 1: new Named('Sequential', {}, { 0: block() }) }),
      }),
    );
    this.addModule('decode_head', new Named('UPerHead', {}, { conv_seg: conv(4, 3) }));
  }
  override get typeName(): string {
    return 'EncoderDecoder';
  }
  forwardBackward(batch: { target: number }, gradScale: number): Record<string, number> {
    let loss = 0;
    for (const p of this.parameters()) {
      const g = p.accumulateGrad();
      for (let i = 0; i < p.numel; i++) {
        const d = p.data[i] - batch.target;
        loss += 0.5 * d * d;
        g[i] += gradScale * d;
      }
    }
    return { loss };
  }
  predict(): never[] {
    return [];
  }
}

describe("the guide's AmpOptimWrapper snippets", () => {
  it("optim_wrapper = dict(type='AmpOptimWrapper', optimizer=optimizer) trains an MNIST model, logging loss_scale", () => {
    const lines: string[] = [];
    const runner = Runner.fromConfig(
      {
        model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [32], num_classes: 10 },
        train_dataloader: { batch_size: 50, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 1000 } },
        train_cfg: { type: 'IterBasedTrainLoop', max_iters: 40 },
        optim_wrapper: { type: 'AmpOptimWrapper', optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weight_decay: 0.0001 } },
        default_hooks: { logger: { type: 'LoggerHook', interval: 10 }, checkpoint: null },
        randomness: { seed: 0 },
      },
      { echo: (l) => lines.push(l) },
    );
    expect(runner.optimWrapper).toBeInstanceOf(AmpOptimWrapper);
    const amp = runner.optimWrapper as AmpOptimWrapper;
    // MMEngine's 'dynamic' default: torch's GradScaler defaults.
    expect(amp.lossScaler.stateDict()).toEqual({ scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 0 });
    expect(amp.gradientScale()).toBe(65536);
    runner.train();
    const loss = runner.messageHub.getScalar('train/loss')!.toArray();
    expect(loss[loss.length - 1]).toBeLessThan(0.8 * loss[0]);
    expect(lines.find((l) => l.includes('Iter(train) [40/40]'))).toMatch(/loss_scale: 65536\.0000  skipped_steps: 0\.0000/);
    expect(amp.skippedSteps).toBe(0);
  });

  it("the LearningRateDecayOptimizerConstructor example (stage_wise, loss_scale='dynamic', _delete_) builds and trains", () => {
    const dir = path.join(tmpRoot, 'cfg');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'base.py'), "optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01), clip_grad=None)\n");
    fs.writeFileSync(
      path.join(dir, 'convnext.py'),
      `_base_ = './base.py'
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg={
        'decay_rate': 0.9,
        'decay_type': 'stage_wise',
        'num_layers': 12
    },
    constructor='LearningRateDecayOptimizerConstructor',
    loss_scale='dynamic')
`,
    );
    const cfg = Config.fromFile(path.join(dir, 'convnext.py')).toDict() as Record<string, unknown>;
    const model = new TinyConvNeXtSegmentor();
    const wrapper = buildOptimWrapper(cfg.optim_wrapper, model);
    expect(wrapper).toBeInstanceOf(AmpOptimWrapper);
    expect(wrapper.optimizer.type).toBe('AdamW');
    const names = wrapper.optimizer.paramGroups.map((g) => g.group_name);
    expect(names).toContain('layer_0_decay');
    expect(names).toContain('layer_13_no_decay');
    wrapper.initializeCountStatus(0, 30);
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) losses.push(model.trainStep({ target: 0.25 }, wrapper).loss);
    expect(losses[29]).toBeLessThan(losses[0]);
    expect((wrapper as AmpOptimWrapper).skippedSteps).toBe(0);
  });
});

/** Two identical parameters trained by SGD on a quadratic loss through `wrapper`. */
function quadratic(wrapper: OptimWrapper, params: Parameter[], steps: number, target = 0.3): void {
  for (let s = 0; s < steps; s++) {
    const scale = wrapper.gradientScale();
    for (const p of params) {
      const g = p.accumulateGrad();
      for (let i = 0; i < p.numel; i++) g[i] += scale * (p.data[i] - target) * (i + 1);
    }
    wrapper.updateParams(0);
  }
}

const make = (gradDtype?: 'float16' | 'bfloat16') => [new Parameter([4], { data: [1, -2, 3, 0.5], gradDtype }), new Parameter([3], { data: [0.25, 4, -1], gradDtype })];

describe('AmpOptimWrapper', () => {
  it('the fused step with clip_grad gives the bits of torch\'s unscale_, clip_grad_norm_, step sequence', () => {
    const pa = make();
    const fused = new AmpOptimWrapper({ optimizer: new SGD(pa, { lr: 0.1, momentum: 0.9 }), clipGrad: { max_norm: 1.0 } });
    quadratic(fused, pa, 5);
    const pb = make();
    const sgd = new SGD(pb, { lr: 0.1, momentum: 0.9 });
    const scaler = new GradScaler();
    const norms: number[] = [];
    for (let s = 0; s < 5; s++) {
      for (const p of pb) {
        const g = p.accumulateGrad();
        for (let i = 0; i < p.numel; i++) g[i] += scaler.getScale() * (p.data[i] - 0.3) * (i + 1);
      }
      scaler.unscale(sgd);
      norms.push(clipGradNorm(pb, 1.0));
      scaler.step(sgd);
      scaler.update();
      sgd.zeroGrad();
    }
    pa.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(pb[i].data)));
    expect(fused.lastGradNorm).toBe(norms[4]);
  });

  it('a static loss scale stays put after an overflow; a dict configures the GradScaler', () => {
    const ps = make();
    const w = new AmpOptimWrapper({ optimizer: new SGD(ps, { lr: 0.1 }), lossScale: 512 });
    expect(w.gradientScale()).toBe(512);
    ps[0].setGrad([Infinity, 0, 0, 0]);
    w.step();
    expect(w.skippedSteps).toBe(1);
    expect(w.lossScaler.getScale()).toBe(512);
    expect(Array.from(ps[0].data)).toEqual([1, -2, 3, 0.5]);
    const d = new AmpOptimWrapper({ optimizer: new SGD(make(), { lr: 0.1 }), lossScale: { init_scale: 8, growth_interval: 1 }, accumulativeCounts: 4 });
    expect(d.gradientScale()).toBe(2);
    expect(() => new AmpOptimWrapper({ optimizer: new SGD(make(), { lr: 0.1 }), lossScale: { init_scal: 8 } })).toThrow(/GradScaler: unexpected argument 'init_scal'/);
    expect(() => new AmpOptimWrapper({ optimizer: new SGD(make(), { lr: 0.1 }), dtype: 'float8' as never })).toThrow(/dtype should be any of \('float16', 'bfloat16', None\), got "float8"/);
  });

  it.each(['float16', 'bfloat16'] as const)('dtype=%s keeps gradients as half-precision bits that models still add float32 into', (dtype) => {
    const ps = make();
    const w = new AmpOptimWrapper({ optimizer: new SGD(ps, { lr: 0.05 }), dtype, lossScale: 1024 });
    expect(ps.map((p) => p.gradDtype)).toEqual([dtype, dtype]);
    quadratic(w, ps, 20);
    expect(w.skippedSteps).toBe(0);
    for (const p of ps) for (const v of p.data) expect(Math.abs(v - 0.3)).toBeLessThan(Math.abs(4 - 0.3));
    // What a model adds is rounded into the bits when they are read: 1 + 2^-12 is 1 in both types.
    const q = ps[0];
    q.accumulateGrad()[0] = 1 + 2 ** -12;
    q.accumulateGrad()[1] = 70000;
    const bits = q.gradBits();
    expect(bits[0]).toBe(dtype === 'float16' ? 0x3c00 : 0x3f80);
    expect(bits[1]).toBe(dtype === 'float16' ? 0x7c00 : 0x4789); // fp16 overflows to inf; bf16 rounds to 70144
  });

  it('an fp16 overflow of the scaled gradients skips the step and backs the scale off', () => {
    const ps = make('float16');
    const w = new AmpOptimWrapper({ optimizer: new SGD(ps, { lr: 0.05 }), lossScale: { init_scale: 2 ** 15 } });
    quadratic(w, ps, 1); // 2^15 * 3.7 * 3 overflows float16
    expect(w.skippedSteps).toBe(1);
    expect(w.lossScaler.getScale()).toBe(2 ** 14);
    expect(Array.from(ps[1].data)).toEqual([0.25, 4, -1]);
  });
});

describe('log_grad_norm', () => {
  it('records train/grad_norm without clipping, for OptimWrapper and (unscaled) AmpOptimWrapper', () => {
    const recorded: Record<string, number[]> = {};
    const hub = { updateScalar: (k: string, v: number) => (recorded[k] ??= []).push(v) };
    const pa = make();
    const plain = new OptimWrapper({ optimizer: new SGD(pa, { lr: 0.1 }), logGradNorm: true, messageHub: hub });
    for (const p of pa) p.setGrad(Array.from({ length: p.numel }, (_, i) => i + 0.5));
    const expected = getTotalNorm(pa);
    plain.step();
    expect(recorded['train/grad_norm']).toEqual([expected]);
    const pb = make();
    const amp = new AmpOptimWrapper({ optimizer: new SGD(pb, { lr: 0.1 }), logGradNorm: true, messageHub: hub });
    for (const p of pb) p.setGrad(Array.from({ length: p.numel }, (_, i) => (i + 0.5) * amp.lossScaler.getScale()));
    amp.step();
    expect(recorded['train/grad_norm'][1]).toBe(expected);
    pa.forEach((p, i) => expect(Array.from(pb[i].data)).toEqual(Array.from(p.data)));
    expect(() => new OptimWrapper({ optimizer: new SGD(make(), { lr: 0.1 }), logGradNorm: 'yes' as never })).toThrow(/log_grad_norm must be true or false/);
  });
});
