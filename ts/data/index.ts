// Registers the bundled datasets and samplers, and builds `*_dataloader` config dicts.

import { AnvilError } from '../errors';
import { DATA_SAMPLERS, DATASETS } from '../registry';
import { DataLoader } from './dataloader';
import type { Dataset } from './dataset';
import { MNIST } from './mnist';
import { MNISTSegmentation } from './mnist-seg';
import { DefaultSampler, type Sampler } from './sampler';

export type { ClassificationBatch, ClassificationOutput, ImageBatch, SampleImage, SegmentationBatch, SegmentationOutput } from './batch';
export { imageShape } from './batch';
export { DataLoader } from './dataloader';
export type { DataLoaderOptions, DataLoaderStateDict } from './dataloader';
export type { Dataset } from './dataset';
export { MNIST } from './mnist';
export type { MNISTOptions } from './mnist';
export { MNISTSegmentation } from './mnist-seg';
export type { MNISTSegmentationOptions } from './mnist-seg';
export { DefaultSampler } from './sampler';
export type { DefaultSamplerOptions, Sampler } from './sampler';

DATASETS.registerClass('MNIST', MNIST, { accepts: ['split', 'data_root', 'limit'] });
DATASETS.registerClass('MNISTSegmentation', MNISTSegmentation, { accepts: ['split', 'data_root', 'limit', 'threshold', 'ignore_band', 'ignore_index'] });
DATA_SAMPLERS.registerClass('DefaultSampler', DefaultSampler, { accepts: ['shuffle', 'seed', 'round_up'] });

/** Keys of torch's DataLoader that change nothing for an in-process loader. */
const IGNORED = new Set(['num_workers', 'persistent_workers', 'pin_memory']);

/** Builds a dataloader config (`batch_size`, `sampler`, `dataset`, ...); `seed` feeds the sampler. */
export function buildDataLoader(cfg: unknown, where: string, seed: number): DataLoader {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new AnvilError(`${where}: expected a dict with dataset and batch_size`);
  const { dataset, sampler = { type: 'DefaultSampler', shuffle: false }, batch_size, drop_last, ...rest } = cfg as Record<string, unknown>;
  for (const key of Object.keys(rest)) {
    if (!IGNORED.has(key)) throw new AnvilError(`${where}.${key}: unknown dataloader option`);
  }
  const samplerCfg = sampler as Record<string, unknown>;
  return new DataLoader({
    dataset: DATASETS.build<Dataset>(dataset, `${where}.dataset`),
    sampler: DATA_SAMPLERS.build<Sampler>({ seed, ...samplerCfg }, `${where}.sampler`),
    batchSize: batch_size as number,
    dropLast: drop_last as boolean | undefined,
  });
}
