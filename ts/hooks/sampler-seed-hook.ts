// DistSamplerSeedHook: tells the train sampler which epoch starts, so each epoch (and each
// process, once distributed) shuffles differently yet reproducibly.

import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export class DistSamplerSeedHook extends Hook {
  override beforeTrainEpoch(runner: Runner): void {
    runner.trainDataloader?.sampler.setEpoch(runner.epoch);
  }
}
