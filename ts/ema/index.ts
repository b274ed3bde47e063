// MMEngine's averaged models, registered in MODELS under MMEngine's names: MMEngine registers
// them there and EMAHook builds `ema_type` from MODELS with the model as a default argument.
// They extend BaseModel (MMEngine's are nn.Modules whose forward runs the averaged copy), so
// MODELS keeps its BaseModel type and needs no registry of its own.

import { AnvilError } from '../errors';
import { MODELS } from '../registry';
import { camelizeKeys } from '../util/names';
import { ExponentialMovingAverage, MomentumAnnealingEMA, StochasticWeightAverage, type AveragedSource } from './averaged-model';

export { BaseAveragedModel, ExponentialMovingAverage, MomentumAnnealingEMA, StochasticWeightAverage } from './averaged-model';
export type { AveragedModelOptions, AveragedSource, AveragedTensor } from './averaged-model';

/** A builder taking MMEngine's keyword arguments: `model` plus the accepted options. */
function builder<T>(type: string, accepts: readonly string[], make: (model: AveragedSource, options: Record<string, unknown>) => T) {
  return ({ model, ...options }: Record<string, unknown>): T => {
    const unknown = Object.keys(options).find((k) => !accepts.includes(k));
    if (unknown !== undefined) throw new AnvilError(`${type}: unexpected argument '${unknown}' (accepted: model, ${accepts.join(', ')})`);
    if (model === undefined) throw new AnvilError(`${type}: missing argument 'model' (the model to average)`);
    return make(model as AveragedSource, camelizeKeys(options));
  };
}

const COMMON = ['interval', 'device', 'update_buffers'];
MODELS.register('ExponentialMovingAverage', builder('ExponentialMovingAverage', ['momentum', ...COMMON], (m, o) => new ExponentialMovingAverage(m, o)));
MODELS.register('MomentumAnnealingEMA', builder('MomentumAnnealingEMA', ['momentum', 'gamma', ...COMMON], (m, o) => new MomentumAnnealingEMA(m, o)));
MODELS.register('StochasticWeightAverage', builder('StochasticWeightAverage', COMMON, (m, o) => new StochasticWeightAverage(m, o)));
