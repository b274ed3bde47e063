// MMSegmentation's layer-id and stage-id rules for learning-rate decay: which depth a ConvNeXt or
// BEiT/ViT/MAE parameter sits at, read from its full name (`backbone.stages.2.4.dwconv.weight`).

import { AnvilError } from '../../errors';

const EMBEDDINGS = ['backbone.cls_token', 'backbone.mask_token', 'backbone.pos_embed'];

/** Python's int() of the name's `index`-th dot-separated part. */
function part(name: string, index: number): number {
  const s = name.split('.')[index];
  if (s === undefined || !/^\s*[+-]?\d+\s*$/.test(s)) {
    throw new AnvilError(`LearningRateDecayOptimizerConstructor: '${name}' has no stage/block number at position ${index}`);
  }
  return Number.parseInt(s, 10);
}

function unassigned(name: string, stage: number): never {
  throw new AnvilError(`LearningRateDecayOptimizerConstructor: '${name}' is in stage ${stage}; ConvNeXt has stages 0 to 3`);
}

/** mmseg's `get_layer_id_for_convnext` (`maxLayerId` is paramwise_cfg.num_layers). */
export function layerIdForConvNeXt(name: string, maxLayerId: number): number {
  if (EMBEDDINGS.includes(name)) return 0;
  if (name.startsWith('backbone.downsample_layers')) {
    const stage = part(name, 2);
    if (stage === 0) return 0;
    if (stage === 1) return 2;
    if (stage === 2) return 3;
    if (stage === 3) return maxLayerId;
    return unassigned(name, stage);
  }
  if (name.startsWith('backbone.stages')) {
    const stage = part(name, 2);
    const block = part(name, 3);
    if (stage === 0) return 1;
    if (stage === 1) return 2;
    if (stage === 2) return 3 + Math.floor(block / 3);
    if (stage === 3) return maxLayerId;
    return unassigned(name, stage);
  }
  return maxLayerId + 1;
}

/** mmseg's `get_stage_id_for_convnext` (`maxStageId` is num_layers + 2). */
export function stageIdForConvNeXt(name: string, maxStageId: number): number {
  if (EMBEDDINGS.includes(name)) return 0;
  if (name.startsWith('backbone.downsample_layers')) return 0;
  if (name.startsWith('backbone.stages')) return part(name, 2) + 1;
  return maxStageId - 1;
}

/** mmseg's `get_layer_id_for_vit`, used for BEiT and MAE (`maxLayerId` is num_layers + 2). */
export function layerIdForViT(name: string, maxLayerId: number): number {
  if (EMBEDDINGS.includes(name)) return 0;
  if (name.startsWith('backbone.patch_embed')) return 0;
  if (name.startsWith('backbone.layers')) return part(name, 2) + 1;
  return maxLayerId - 1;
}
