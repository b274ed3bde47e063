// The layer library: exports every nn class and registers them in LAYERS under torch's class
// names (plus MMCV's short aliases Conv, BN, BN1d, BN2d, GN, LN), with torch's argument names.

import { AnvilError } from '../errors';
import { LAYERS } from '../registry';
import { GELU, Sigmoid, Tanh } from './activation';
import { BatchNorm1d, BatchNorm2d } from './batchnorm';
import { type ChildLayer, Flatten, Identity, Sequential } from './container';
import { Conv2d } from './conv';
import { ConvModule } from './conv-module';
import { Dropout } from './dropout';
import { Embedding } from './embedding';
import { Linear } from './linear';
import { BCEWithLogitsLoss, CrossEntropyLoss, MSELoss } from './loss';
import { GroupNorm, LayerNorm } from './norm';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './pooling';
import { ReLU } from './relu';
import type { TensorLayer } from './tensor';
import { Upsample } from './upsample';

export { GELU, Sigmoid, Tanh } from './activation';
export type { GELUOptions } from './activation';
export { BatchNorm1d, BatchNorm2d, BatchNormBase } from './batchnorm';
export type { BatchNormOptions } from './batchnorm';
export { Flatten, Identity, Sequential } from './container';
export type { ChildLayer, FlattenOptions } from './container';
export { Conv2d } from './conv';
export type { Conv2dOptions } from './conv';
export { ConvModule } from './conv-module';
export type { ConvModuleOptions } from './conv-module';
export { Dropout } from './dropout';
export type { DropoutOptions } from './dropout';
export { Embedding } from './embedding';
export type { EmbeddingOptions } from './embedding';
export { Linear } from './linear';
export type { LinearOptions } from './linear';
export { BCEWithLogitsLoss, CrossEntropyLoss, MSELoss } from './loss';
export type { BCEWithLogitsLossOptions, CrossEntropyLossOptions, CrossEntropyReduction, CrossEntropyTarget, LossResult, MSELossOptions, Reduction } from './loss';
export { Module } from './module';
export type { ModelDescription, ModuleInfo } from './module';
export { GroupNorm, LayerNorm } from './norm';
export type { GroupNormOptions, LayerNormOptions } from './norm';
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './pooling';
export type { AdaptiveAvgPool2dOptions, AvgPool2dOptions, MaxPool2dOptions } from './pooling';
export { ReLU } from './relu';
export type { ReLUOptions } from './relu';
export { Layer, shapeNumel, tensor } from './tensor';
export type { Tensor, TensorLayer } from './tensor';
export { Upsample } from './upsample';
export type { UpsampleMode, UpsampleOptions } from './upsample';

/** Builds each dict of a `layers=[...]` list through LAYERS; `where` names the config key. */
export function buildLayers(cfgs: unknown, where: string): ChildLayer[] {
  if (!Array.isArray(cfgs)) throw new AnvilError(`${where}: expected a list of layer dicts, got ${JSON.stringify(cfgs)?.slice(0, 60)}`);
  return cfgs.map((c, i) => {
    const layer = LAYERS.build(c, `${where}[${i}]`);
    const l = layer as unknown as Partial<TensorLayer>;
    const isLoss = layer instanceof CrossEntropyLoss || layer instanceof MSELoss || layer instanceof BCEWithLogitsLoss;
    if (isLoss || typeof l.forward !== 'function' || typeof l.backward !== 'function') {
      throw new AnvilError(`${where}[${i}]: ${layer.typeName} is not a layer with forward and backward (a loss goes in the model's loss key)`);
    }
    return layer as ChildLayer;
  });
}

function registerLayers(): void {
  const conv = ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'dilation', 'groups', 'bias', 'padding_mode'];
  const bn = ['num_features', 'eps', 'momentum', 'affine', 'track_running_stats'];
  const gn = ['num_groups', 'num_channels', 'eps', 'affine'];
  const ln = ['normalized_shape', 'eps', 'elementwise_affine', 'bias'];
  LAYERS.registerClass('Linear', Linear, { accepts: ['in_features', 'out_features', 'bias'] });
  LAYERS.registerClass('Conv2d', Conv2d, { accepts: conv });
  LAYERS.registerClass('Conv', Conv2d, { accepts: conv });
  LAYERS.registerClass('ConvModule', ConvModule, { accepts: [...conv.filter((k) => k !== 'padding_mode'), 'norm_cfg', 'act_cfg', 'inplace'] });
  LAYERS.registerClass('BatchNorm1d', BatchNorm1d, { accepts: bn });
  LAYERS.registerClass('BatchNorm2d', BatchNorm2d, { accepts: bn });
  LAYERS.registerClass('BN1d', BatchNorm1d, { accepts: bn });
  LAYERS.registerClass('BN2d', BatchNorm2d, { accepts: bn });
  LAYERS.registerClass('BN', BatchNorm2d, { accepts: bn });
  LAYERS.registerClass('LayerNorm', LayerNorm, { accepts: ln });
  LAYERS.registerClass('LN', LayerNorm, { accepts: ln });
  LAYERS.registerClass('GroupNorm', GroupNorm, { accepts: gn });
  LAYERS.registerClass('GN', GroupNorm, { accepts: gn });
  LAYERS.registerClass('ReLU', ReLU, { accepts: ['inplace'] });
  LAYERS.registerClass('GELU', GELU, { accepts: ['approximate'] });
  LAYERS.registerClass('Sigmoid', Sigmoid, { accepts: [] });
  LAYERS.registerClass('Tanh', Tanh, { accepts: [] });
  LAYERS.registerClass('Dropout', Dropout, { accepts: ['p', 'inplace'] });
  LAYERS.registerClass('MaxPool2d', MaxPool2d, { accepts: ['kernel_size', 'stride', 'padding', 'dilation', 'ceil_mode', 'return_indices'] });
  LAYERS.registerClass('AvgPool2d', AvgPool2d, { accepts: ['kernel_size', 'stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override'] });
  LAYERS.registerClass('AdaptiveAvgPool2d', AdaptiveAvgPool2d, { accepts: ['output_size'] });
  LAYERS.registerClass('Upsample', Upsample, { accepts: ['size', 'scale_factor', 'mode', 'align_corners'] });
  LAYERS.registerClass('Embedding', Embedding, { accepts: ['num_embeddings', 'embedding_dim', 'padding_idx'] });
  LAYERS.registerClass('Flatten', Flatten, { accepts: ['start_dim', 'end_dim'] });
  LAYERS.registerClass('Identity', Identity, { accepts: [] });
  LAYERS.register('Sequential', (args) => {
    const { layers, ...rest } = args;
    const extra = Object.keys(rest);
    if (extra.length) throw new AnvilError(`Sequential: unexpected argument '${extra[0]}' (accepted: layers)`);
    return new Sequential(buildLayers(layers, 'layers'));
  });
  LAYERS.registerClass('CrossEntropyLoss', CrossEntropyLoss, {
    accepts: ['weight', 'ignore_index', 'reduction', 'label_smoothing', 'loss_weight', 'avg_non_ignore', 'class_weight', 'use_sigmoid', 'loss_name'],
  });
  LAYERS.registerClass('MSELoss', MSELoss, { accepts: ['reduction', 'loss_weight'] });
  LAYERS.registerClass('BCEWithLogitsLoss', BCEWithLogitsLoss, { accepts: ['weight', 'pos_weight', 'reduction', 'loss_weight'] });
}

if (!LAYERS.has('Conv2d')) registerLayers();
