// The torch.nn class families paramwise_cfg rules test with isinstance(), by class name: norm
// layers, 2-d convolutions and deformable convolutions. Sets are exported so a model's own types can join.

import type { ModuleInfo } from '../../nn/module';

/** Subclasses of torch's _BatchNorm, _InstanceNorm, GroupNorm and LayerNorm (MMEngine's `is_norm`). */
export const NORM_TYPES: Set<string> = new Set([
  'BatchNorm1d', 'BatchNorm2d', 'BatchNorm3d', 'SyncBatchNorm', 'LazyBatchNorm1d', 'LazyBatchNorm2d', 'LazyBatchNorm3d',
  '_BatchNormXd', 'NaiveSyncBatchNorm1d', 'NaiveSyncBatchNorm2d', 'NaiveSyncBatchNorm3d',
  'InstanceNorm1d', 'InstanceNorm2d', 'InstanceNorm3d', 'LazyInstanceNorm1d', 'LazyInstanceNorm2d', 'LazyInstanceNorm3d',
  'GroupNorm', 'LayerNorm', 'LayerNorm2d',
]);

/** torch.nn.Conv2d and its subclasses (MMEngine's `is_dwconv` needs a Conv2d). */
export const CONV2D_TYPES: Set<string> = new Set(['Conv2d', 'Conv2dAdaptivePadding']);

/** mmcv's deformable convolutions: their children get `is_dcn_module` (MMEngine's DCN rules). */
export const DCN_TYPES: Set<string> = new Set([
  'DeformConv2d', 'DeformConv2dPack', 'ModulatedDeformConv2d', 'ModulatedDeformConv2dPack',
]);

export function isNorm(m: ModuleInfo): boolean {
  return NORM_TYPES.has(m.type);
}

export function isConv2d(m: ModuleInfo): boolean {
  return CONV2D_TYPES.has(m.type);
}

/** A Conv2d whose `in_channels` equals its `groups`. */
export function isDepthwiseConv(m: ModuleInfo): boolean {
  return isConv2d(m) && m.attrs.in_channels !== undefined && m.attrs.in_channels === m.attrs.groups;
}

export function isDcn(m: ModuleInfo): boolean {
  return DCN_TYPES.has(m.type);
}
