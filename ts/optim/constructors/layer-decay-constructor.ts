// MMSegmentation's LearningRateDecayOptimizerConstructor (layer-wise or stage-wise lr decay for
// ConvNeXt, BEiT and MAE backbones, groups named `layer_<id>_decay|no_decay`) and its deprecated
// BEiT alias LayerDecayOptimizerConstructor.

import { AnvilError } from '../../errors';
import { describe } from '../../registry/registry';
import type { ParamGroupSpec } from './constructor';
import { DefaultOptimWrapperConstructor, type DefaultOptimWrapperConstructorOptions } from './default-constructor';
import { layerIdForConvNeXt, layerIdForViT, stageIdForConvNeXt } from './layer-ids';
import { namedParametersOf, type ModuleTree } from './model-view';

const NAME = 'LearningRateDecayOptimizerConstructor';

export class LearningRateDecayOptimizerConstructor extends DefaultOptimWrapperConstructor {
  /**
   * One group per (layer id, decay / no_decay), in order of first appearance over
   * `named_parameters()`; frozen parameters are left out. Each group carries mmseg's
   * `param_names`, `lr_scale` (decay_rate ** (num_layers + 2 - layer_id - 1)) and `group_name`.
   */
  protected override addParams(groups: ParamGroupSpec[], model: ModuleTree): void {
    const pw = this.paramwiseCfg;
    if (typeof pw.num_layers !== 'number') throw new AnvilError(`optim_wrapper.paramwise_cfg.num_layers: ${NAME} needs the backbone's number of layers, got ${describe(pw.num_layers)}`);
    if (typeof pw.decay_rate !== 'number') throw new AnvilError(`optim_wrapper.paramwise_cfg.decay_rate: ${NAME} needs a number, got ${describe(pw.decay_rate)}`);
    const decayType = pw.decay_type ?? 'layer_wise';
    if (typeof decayType !== 'string') throw new AnvilError(`optim_wrapper.paramwise_cfg.decay_type: expected 'layer_wise', 'layer_wise_vit' or 'stage_wise', got ${describe(decayType)}`);
    if (this.baseLr === null) throw new AnvilError(`optim_wrapper.optimizer.lr: ${NAME} scales the optimizer's lr, which is missing`);
    const numLayers = pw.num_layers + 2;
    const decayRate = pw.decay_rate;
    const layerId = this.layerIdRule(model, decayType, pw.num_layers, numLayers);

    const byName = new Map<string, ParamGroupSpec>();
    for (const [name, param] of namedParametersOf(model)) {
      if (!param.requiresGrad) continue;
      const noDecay = param.shape.length === 1 || name.endsWith('.bias') || name === 'pos_embed' || name === 'cls_token';
      const id = layerId(name);
      const groupName = `layer_${id}_${noDecay ? 'no_decay' : 'decay'}`;
      let group = byName.get(groupName);
      if (!group) {
        const scale = decayRate ** (numLayers - id - 1);
        group = {
          weight_decay: noDecay ? 0 : this.baseWd,
          params: [],
          param_names: [],
          lr_scale: scale,
          group_name: groupName,
          lr: scale * this.baseLr,
        };
        byName.set(groupName, group);
      }
      group.params.push(param);
      (group.param_names as string[]).push(name);
    }
    groups.push(...byName.values());
  }

  /** The layer-id function for the backbone's class and the decay type, as mmseg picks it. */
  private layerIdRule(model: ModuleTree, decayType: string, cfgLayers: number, numLayers: number): (name: string) => number {
    const backbone = model.namedModules().find((m) => m.name === 'backbone');
    if (!backbone) throw new AnvilError(`${NAME}: the model has no 'backbone' module`);
    const cls = backbone.type;
    const unsupported = () =>
      new AnvilError(`${NAME}: decay_type '${decayType}' is not implemented for a ${cls} backbone (ConvNeXt: layer_wise or stage_wise; BEiT, MAE: layer_wise)`);
    if (decayType.includes('layer_wise')) {
      if (cls.includes('ConvNeXt')) return (name) => layerIdForConvNeXt(name, cfgLayers);
      if (cls.includes('BEiT') || cls.includes('MAE')) return (name) => layerIdForViT(name, numLayers);
      throw unsupported();
    }
    if (decayType === 'stage_wise') {
      if (cls.includes('ConvNeXt')) return (name) => stageIdForConvNeXt(name, numLayers);
      throw unsupported();
    }
    throw new AnvilError(`optim_wrapper.paramwise_cfg.decay_type: unknown decay type '${decayType}' (layer_wise, layer_wise_vit or stage_wise)`);
  }
}

/** The deprecated BEiT constructor: `layer_decay_rate` becomes `decay_rate`, decay type `layer_wise_vit`. */
export class LayerDecayOptimizerConstructor extends LearningRateDecayOptimizerConstructor {
  constructor(options: DefaultOptimWrapperConstructorOptions) {
    const pw = options.paramwiseCfg;
    if (pw === null || typeof pw !== 'object' || !Object.hasOwn(pw, 'layer_decay_rate')) {
      throw new AnvilError("optim_wrapper.paramwise_cfg.layer_decay_rate: LayerDecayOptimizerConstructor needs it (or use LearningRateDecayOptimizerConstructor with decay_rate)");
    }
    const { layer_decay_rate, ...rest } = pw;
    super({ ...options, paramwiseCfg: { ...rest, decay_type: 'layer_wise_vit', decay_rate: layer_decay_rate } });
  }
}
