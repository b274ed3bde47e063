import { describe, expect, it } from 'vitest';
import {
  AnvilError,
  buildOptimWrapper,
  DefaultOptimWrapperConstructor,
  DescribedModel,
  Module,
  namedParametersOf,
  OPTIM_WRAPPER_CONSTRUCTORS,
  type ModuleTree,
  type OptimWrapper,
  type ParamGroupSpec,
  Parameter,
  Runner,
  SGD,
} from '../ts';

/** A module of a given torch type with its own parameters and children (what constructors read). */
class Mod extends Module {
  constructor(
    private readonly type: string,
    own: Record<string, number[] | Parameter> = {},
    children: Record<string, Module> = {},
    private readonly attributes: Record<string, unknown> = {},
  ) {
    super();
    for (const [name, p] of Object.entries(own)) this.registerParameter(name, p instanceof Parameter ? p : new Parameter(p));
    for (const [name, m] of Object.entries(children)) this.addModule(name, m);
  }
  override get typeName(): string {
    return this.type;
  }
  override attrs(): Record<string, unknown> {
    return this.attributes;
  }
}

const conv = (cin: number, cout: number, groups = 1, bias = true) =>
  new Mod('Conv2d', bias ? { weight: [cout, cin / groups, 3, 3], bias: [cout] } : { weight: [cout, cin / groups, 3, 3] }, {}, { in_channels: cin, out_channels: cout, groups });
const norm = (type: string, c: number) => new Mod(type, { weight: [c], bias: [c] });
const linear = (i: number, o: number) => new Mod('Linear', { weight: [o, i], bias: [o] }, {}, { in_features: i, out_features: o });

/** A small ViT: the parameters the guide's custom_keys example names (pos_embed, cls_token, norm). */
function vit(): Mod {
  const block = () => new Mod('TransformerBlock', {}, { norm1: norm('LayerNorm', 8), attn: linear(8, 8), norm2: norm('LayerNorm', 8), mlp: linear(8, 8) });
  return new Mod('EncoderDecoder', {}, {
    backbone: new Mod('VisionTransformer', { cls_token: [1, 1, 8], pos_embed: [1, 5, 8] }, {
      patch_embed: conv(3, 8),
      layers: new Mod('ModuleList', {}, { 0: block(), 1: block() }),
      norm: norm('LayerNorm', 8),
    }),
    decode_head: new Mod('Head', {}, { conv_seg: conv(8, 4) }),
  });
}

/** A small ConvNeXt segmentor (what mmseg's layer-decay constructor recognizes by class name). */
function convnext(): Mod {
  const block = () => new Mod('ConvNeXtBlock', { gamma: [4] }, { depthwise_conv: conv(4, 4, 4), norm: norm('LayerNorm', 4), pointwise_conv1: linear(4, 8) });
  const stage = (n: number) => new Mod('Sequential', {}, Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), block()])));
  return new Mod('EncoderDecoder', {}, {
    backbone: new Mod('ConvNeXt', {}, {
      downsample_layers: new Mod('ModuleList', {}, {
        0: new Mod('Sequential', {}, { 0: conv(3, 4), 1: norm('LayerNorm', 4) }),
        1: new Mod('Sequential', {}, { 0: norm('LayerNorm', 4), 1: conv(4, 4) }),
      }),
      stages: new Mod('ModuleList', {}, { 0: stage(1), 1: stage(1), 2: stage(4) }),
    }),
    decode_head: new Mod('UPerHead', {}, { conv_seg: conv(4, 3) }),
  });
}

/** Param groups as the conformance cases write them: parameter names and hyper-parameters. */
function groups(wrapper: OptimWrapper, model: ModuleTree): Array<Record<string, unknown>> {
  const names = new Map(namedParametersOf(model).map(([n, p]) => [p, n]));
  return wrapper.optimizer.paramGroups.map(({ params, ...rest }) => ({ params: params.map((p) => names.get(p)), ...rest }));
}

describe('DefaultOptimWrapperConstructor', () => {
  it("runs the guide's paramwise_cfg: no decay for pos_embed, cls_token and norm layers", () => {
    const model = vit();
    const wrapper = buildOptimWrapper(
      {
        type: 'OptimWrapper',
        optimizer: { type: 'AdamW', lr: 0.00006, betas: [0.9, 0.999], weight_decay: 0.01 },
        paramwise_cfg: { custom_keys: { pos_embed: { decay_mult: 0 }, cls_token: { decay_mult: 0 }, norm: { decay_mult: 0 } } },
      },
      model,
    );
    const gs = groups(wrapper, model);
    // One group per parameter, in named_parameters() order.
    expect(gs.map((g) => g.params)).toEqual(namedParametersOf(model).map(([n]) => [n]));
    const noDecay = gs.filter((g) => g.weight_decay === 0).map((g) => (g.params as string[])[0]);
    expect(noDecay).toEqual([
      'backbone.cls_token',
      'backbone.pos_embed',
      'backbone.layers.0.norm1.weight', 'backbone.layers.0.norm1.bias', 'backbone.layers.0.norm2.weight', 'backbone.layers.0.norm2.bias',
      'backbone.layers.1.norm1.weight', 'backbone.layers.1.norm1.bias', 'backbone.layers.1.norm2.weight', 'backbone.layers.1.norm2.bias',
      'backbone.norm.weight', 'backbone.norm.bias',
    ]);
    expect(gs.find((g) => (g.params as string[])[0] === 'backbone.pos_embed')).toMatchObject({ lr: 0.00006, weight_decay: 0, decay_mult: 0 });
    expect(gs.find((g) => (g.params as string[])[0] === 'backbone.layers.0.attn.weight')).toEqual({
      params: ['backbone.layers.0.attn.weight'],
      lr: 0.00006,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weight_decay: 0.01,
      amsgrad: false,
      maximize: false,
      decoupled_weight_decay: true,
      foreach: null,
      capturable: false,
      differentiable: false,
      fused: null,
    });
  });

  it("matches custom keys longest first, ties alphabetically, against 'prefix.name' (root parameters as '.name')", () => {
    const model = new Mod('Net', { scale: [1] }, { backbone: new Mod('Backbone', {}, { fc: linear(2, 2) }) });
    const build = (custom_keys: Record<string, unknown>) =>
      groups(buildOptimWrapper({ optimizer: { type: 'SGD', lr: 1, weight_decay: 1 }, paramwise_cfg: { custom_keys } }, model), model).map((g) => g.lr);
    expect(build({ backbone: { lr_mult: 0.1 }, 'backbone.fc': { lr_mult: 0.5 } })).toEqual([1, 0.5, 0.5]);
    expect(build({ bone: { lr_mult: 0.3 }, back: { lr_mult: 0.7 } })).toEqual([1, 0.7, 0.7]);
    expect(build({ '.scale': { lr_mult: 2 }, '.fc': { lr_mult: 3 } })).toEqual([2, 3, 3]);
  });

  it('applies bias, norm, depthwise and flat multipliers in MMEngine precedence and copies extra custom-key fields', () => {
    const model = new Mod('Net', {}, { conv: conv(3, 4), bn: norm('BatchNorm2d', 4), dw: conv(4, 4, 4), head: linear(4, 2) });
    const wrapper = buildOptimWrapper(
      {
        optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 0.01 },
        paramwise_cfg: { bias_lr_mult: 2, bias_decay_mult: 0.5, norm_decay_mult: 0, dwconv_decay_mult: 0.1, flat_decay_mult: 0.3, custom_keys: { head: { lr_mult: 10, momentum: 0.5 } } },
      },
      model,
    );
    const byName = Object.fromEntries(groups(wrapper, model).map((g) => [(g.params as string[])[0], g]));
    expect(byName['conv.weight']).toMatchObject({ lr: 0.1, weight_decay: 0.01 });
    expect(byName['conv.bias']).toMatchObject({ lr: 0.2, weight_decay: 0.005 });
    expect(byName['bn.weight']).toMatchObject({ lr: 0.1, weight_decay: 0 });
    expect(byName['bn.bias']).toMatchObject({ lr: 0.1, weight_decay: 0 }); // norm: no bias_lr_mult
    expect(byName['dw.weight'].weight_decay).toBeCloseTo(0.001, 15);
    expect(byName['dw.bias']).toMatchObject({ lr: 0.2, weight_decay: 0.005 }); // bias_decay_mult before dwconv
    expect(byName['head.weight']).toMatchObject({ lr: 1, weight_decay: 0.01, lr_mult: 10, momentum: 0.5 });
  });

  it('leaves frozen parameters out under paramwise_cfg, keeps them (never stepped) without it', () => {
    const frozen = new Parameter([2], { requiresGrad: false, data: [1, 2] });
    const model = new Mod('Net', { frozen, w: [2] });
    const plain = buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 } }, model);
    expect(plain.optimizer.paramGroups).toHaveLength(1);
    expect(plain.optimizer.paramGroups[0].params[0]).toBe(frozen);
    frozen.setGrad([1, 1]);
    plain.optimizer.step();
    expect(Array.from(frozen.data)).toEqual([1, 2]);
    const paramwise = buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, paramwise_cfg: { bias_lr_mult: 2 } }, model);
    expect(groups(paramwise, model).map((g) => g.params)).toEqual([['w']]);
  });

  it('refuses a shared parameter in two groups unless bypass_duplicate', () => {
    const shared = new Parameter([2, 2]);
    const model = new Mod('Net', {}, { a: new Mod('Linear', { weight: shared }), b: new Mod('Linear', { weight: shared, bias: [2] }) });
    const cfg = { optimizer: { type: 'SGD', lr: 0.1, weight_decay: 1e-4 }, paramwise_cfg: { bias_decay_mult: 0 } };
    expect(() => buildOptimWrapper(cfg, model)).toThrow(/some parameters appear in more than one parameter group/);
    const w = buildOptimWrapper({ ...cfg, paramwise_cfg: { bias_decay_mult: 0, bypass_duplicate: true } }, model);
    expect(groups(w, model).map((g) => g.params)).toEqual([['a.weight'], ['b.bias']]);
    // Without paramwise_cfg a shared parameter is listed once, as model.parameters() does.
    expect(buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 } }, model).optimizer.paramGroups[0].params).toHaveLength(2);
  });

  it('reports bad configs with key paths', () => {
    const model = vit();
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, paramwise_cfg: { custom_keys: { head: { decay_mult: 0 } } } }, model)).toThrow(
      new AnvilError('optim_wrapper.paramwise_cfg.custom_keys.head.decay_mult: base_wd should not be None (set optim_wrapper.optimizer.weight_decay)'),
    );
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, paramwise_cfg: { norm_decay_mult: 0 } }, model)).toThrow(/^optim_wrapper\.paramwise_cfg\.norm_decay_mult: base_wd should not be None/);
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, constructor: 'NoSuchConstructor' }, model)).toThrow(
      /^optim_wrapper\.constructor: 'NoSuchConstructor' is not registered in OPTIM_WRAPPER_CONSTRUCTORS \(registered: .*DefaultOptimWrapperConstructor/,
    );
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, paramwise_cfg: { custom_keys: { head: 0.1 } } }, model)).toThrow(/custom_keys\.head: expected a dict/);
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD' }, paramwise_cfg: { bias_lr_mult: 2 } }, model)).toThrow(/optim_wrapper\.optimizer\.lr: an lr multiplier applies to/);
    expect(() => buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, paramwise_cfg: { bias_lr_mult: 2 } }, [new Parameter([1])])).toThrow(/need a model/);
  });

  it('describes and rebuilds a model with the same groups (the conformance cases read descriptions)', () => {
    const model = convnext();
    const cfg = { optimizer: { type: 'SGD', lr: 0.1, weight_decay: 1e-4 }, paramwise_cfg: { bias_lr_mult: 2, norm_decay_mult: 0, dwconv_decay_mult: 0.5 } };
    const described = new DescribedModel(model.describe());
    expect(groups(buildOptimWrapper(cfg, described), described)).toEqual(groups(buildOptimWrapper(cfg, model), model));
  });

  it('packs groups with identical hyper-parameters into one bucket and steps them as separate groups would', () => {
    const model = new Mod('Net', {}, { a: linear(3, 2), b: linear(2, 2) });
    const params = model.parameters();
    params.forEach((p, i) => p.data.set(Array.from({ length: p.numel }, (_, j) => (i + 1) * 0.1 + j * 0.01)));
    const reference = params.map((p) => new Parameter(p.shape, { data: p.data }));
    const wrapper = buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 0.01 }, paramwise_cfg: { bias_lr_mult: 2 } }, model);
    const opt = wrapper.optimizer;
    // Four MMEngine groups, two buckets: the weights together, the biases together.
    expect(opt.paramGroups).toHaveLength(4);
    expect(opt.bucket(0)).toBe(opt.bucket(2));
    expect(opt.bucket(1)).toBe(opt.bucket(3));
    expect(opt.bucket(0)).not.toBe(opt.bucket(1));
    const separate = reference.map((p, i) => new SGD([p], { lr: i % 2 ? 0.2 : 0.1, momentum: 0.9, weightDecay: 0.01 }));
    const stepBoth = (lrOfGroup2?: number) => {
      if (lrOfGroup2 !== undefined) {
        opt.paramGroups[2].lr = lrOfGroup2;
        separate[2].paramGroups[0].lr = lrOfGroup2;
      }
      [...params, ...reference].forEach((p, i) => p.setGrad(Array.from({ length: p.numel }, (_, j) => ((i % 4) - 1.5) * 0.3 + j * 0.05)));
      opt.step();
      separate.forEach((o) => o.step());
    };
    stepBoth();
    stepBoth(0.05); // group 2 drifts from group 0: it gets a bucket of its own
    expect(opt.bucket(0)).not.toBe(opt.bucket(2));
    stepBoth();
    params.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(reference[i].data)));
  });

  it('builds user constructors registered in OPTIM_WRAPPER_CONSTRUCTORS', () => {
    class HeadOnlyConstructor extends DefaultOptimWrapperConstructor {
      protected override addParams(gs: ParamGroupSpec[], model: ModuleTree): void {
        gs.push({ params: namedParametersOf(model).filter(([n]) => n.startsWith('decode_head')).map(([, p]) => p), lr: 0.5 });
      }
    }
    OPTIM_WRAPPER_CONSTRUCTORS.registerClass('TestHeadOnlyConstructor', HeadOnlyConstructor, { accepts: ['optim_wrapper_cfg', 'paramwise_cfg'] });
    const model = vit();
    const w = buildOptimWrapper({ optimizer: { type: 'SGD', lr: 0.1 }, constructor: 'TestHeadOnlyConstructor', paramwise_cfg: { any: 1 } }, model);
    expect(groups(w, model)).toEqual([expect.objectContaining({ params: ['decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'], lr: 0.5 })]);
  });

  it('builds paramwise_cfg from a runner config', () => {
    const runner = Runner.fromConfig(
      {
        model: { type: 'MLPClassifier', in_features: 4, hidden_sizes: [3], num_classes: 2 },
        optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'SGD', lr: 0.1, weight_decay: 1e-4 }, paramwise_cfg: { bias_decay_mult: 0 } },
      },
      { workDir: null, echo: () => {} },
    );
    const wd = runner.optimWrapper!.optimizer.paramGroups.map((g) => g.weight_decay);
    expect(wd).toEqual([1e-4, 0, 1e-4, 0]);
  });
});

describe('LearningRateDecayOptimizerConstructor', () => {
  it("runs the guide's stage_wise example on a ConvNeXt: groups per stage, named and ordered as mmseg's", () => {
    const model = convnext();
    const wrapper = buildOptimWrapper(
      {
        type: 'OptimWrapper',
        optimizer: { type: 'AdamW', lr: 0.0001, betas: [0.9, 0.999], weight_decay: 0.05 },
        paramwise_cfg: { decay_rate: 0.9, decay_type: 'stage_wise', num_layers: 12 },
        constructor: 'LearningRateDecayOptimizerConstructor',
      },
      model,
    );
    const gs = groups(wrapper, model);
    expect(gs.map((g) => g.group_name)).toEqual([
      'layer_0_decay', 'layer_0_no_decay', 'layer_1_no_decay', 'layer_1_decay', 'layer_2_no_decay', 'layer_2_decay',
      'layer_3_no_decay', 'layer_3_decay', 'layer_13_decay', 'layer_13_no_decay',
    ]);
    for (const g of gs) {
      const id = Number((g.group_name as string).split('_')[1]);
      expect(g.lr_scale).toBeCloseTo(0.9 ** (14 - id - 1), 15);
      expect(g.lr).toBeCloseTo((g.lr_scale as number) * 0.0001, 18);
      expect(g.weight_decay).toBe((g.group_name as string).endsWith('no_decay') ? 0 : 0.05);
      expect(g.param_names).toEqual(g.params);
    }
    expect(gs[0].params).toEqual(['backbone.downsample_layers.0.0.weight', 'backbone.downsample_layers.1.1.weight']);
    expect(gs[8].params).toEqual(['decode_head.conv_seg.weight']);
  });

  it('uses the BEiT/MAE rule for layer_wise and refuses other backbones', () => {
    const beit = new Mod('EncoderDecoder', {}, {
      backbone: new Mod('BEiT', { cls_token: [1, 1, 4] }, { patch_embed: conv(3, 4), layers: new Mod('ModuleList', {}, { 0: linear(4, 4), 1: linear(4, 4) }) }),
    });
    const cfg = (backbone: unknown) => ({
      optimizer: { type: 'AdamW', lr: 1, weight_decay: 0.05 },
      paramwise_cfg: { decay_rate: 0.5, num_layers: 2, decay_type: backbone },
      constructor: 'LearningRateDecayOptimizerConstructor',
    });
    const gs = groups(buildOptimWrapper(cfg('layer_wise'), beit), beit);
    expect(gs.map((g) => [g.group_name, g.lr])).toEqual([
      ['layer_0_decay', 0.5 ** 3],
      ['layer_0_no_decay', 0.5 ** 3],
      ['layer_1_decay', 0.5 ** 2],
      ['layer_1_no_decay', 0.5 ** 2],
      ['layer_2_decay', 0.5],
      ['layer_2_no_decay', 0.5],
    ]);
    expect(() => buildOptimWrapper(cfg('stage_wise'), beit)).toThrow(/decay_type 'stage_wise' is not implemented for a BEiT backbone/);
    expect(() => buildOptimWrapper(cfg('block_wise'), beit)).toThrow(/unknown decay type 'block_wise'/);
    expect(() => buildOptimWrapper(cfg('layer_wise'), vit())).toThrow(/not implemented for a VisionTransformer backbone/);
    const legacy = buildOptimWrapper({ ...cfg(undefined), paramwise_cfg: { layer_decay_rate: 0.5, num_layers: 2 }, constructor: 'LayerDecayOptimizerConstructor' }, beit);
    expect(groups(legacy, beit)).toEqual(gs);
    expect(() => buildOptimWrapper({ ...cfg(undefined), paramwise_cfg: { num_layers: 2 }, constructor: 'LayerDecayOptimizerConstructor' }, beit)).toThrow(/layer_decay_rate/);
  });
});
