// Registers the optimizers and wrappers under MMEngine's type names; the constructors that build
// an `optim_wrapper` config for a model and the param schedulers live in their own folders.

import { AnvilError } from '../errors';
import { OPTIM_WRAPPERS, OPTIMIZERS } from '../registry';
import { Adadelta } from './adadelta';
import { Adagrad } from './adagrad';
import { Adam, AdamW } from './adam';
import { Adamax } from './adamax';
import { AmpOptimWrapper, type AmpOptimWrapperOptions } from './amp-optim-wrapper';
import { ASGD } from './asgd';
import { Lamb } from './lamb';
import { Lion } from './lion';
import { NAdam } from './nadam';
import type { Optimizer, ParamsInput } from './optimizer';
import { OptimWrapper } from './optim-wrapper';
import { OptimWrapperDict } from './optim-wrapper-dict';
import { RAdam } from './radam';
import { RMSprop } from './rmsprop';
import { Rprop } from './rprop';
import { SGD } from './sgd';

export { Adadelta } from './adadelta';
export type { AdadeltaOptions } from './adadelta';
export { Adagrad } from './adagrad';
export type { AdagradOptions } from './adagrad';
export { Adam, AdamW } from './adam';
export type { AdamOptions, AdamWOptions } from './adam';
export { Adamax } from './adamax';
export type { AdamaxOptions } from './adamax';
export { AmpOptimWrapper } from './amp-optim-wrapper';
export type { AmpOptimWrapperOptions } from './amp-optim-wrapper';
export { ASGD } from './asgd';
export type { ASGDOptions } from './asgd';
export { clipGradNorm, clipGradValue, getTotalNorm } from './clip-grad';
export type { ClipGradNormOptions, NormType } from './clip-grad';
export type { GradsInput, GradTensor, HalfDtype } from './grad-buffers';
export { GradScaler } from './grad-scaler';
export type { GradScalerOptions, GradScalerStateDict } from './grad-scaler';
export { Lamb } from './lamb';
export type { LambOptions } from './lamb';
export { Lion } from './lion';
export type { LionOptions } from './lion';
export { NAdam } from './nadam';
export type { NAdamOptions } from './nadam';
export { Optimizer } from './optimizer';
export type { OptimizerStateDict, ParamGroup, ParamsInput, ParamState, StepOptions } from './optimizer';
export { RAdam } from './radam';
export type { RAdamOptions } from './radam';
export { RMSprop } from './rmsprop';
export type { RMSpropOptions } from './rmsprop';
export { Rprop } from './rprop';
export type { RpropOptions } from './rprop';
export { OptimWrapper } from './optim-wrapper';
export type { OptimWrapperOptions, OptimWrapperStateDict, ScalarSink } from './optim-wrapper';
export { OptimWrapperDict } from './optim-wrapper-dict';
export { parseLosses } from './parse-losses';
export type { LossValue, ParsedLosses } from './parse-losses';
export { SGD } from './sgd';
export type { SgdOptions } from './sgd';
export * from './constructors';
export * from './schedulers';

function optimizerBuilder(make: (params: ParamsInput, options: Record<string, unknown>) => Optimizer) {
  return ({ params, ...options }: Record<string, unknown>) => {
    if (!Array.isArray(params)) throw new AnvilError("optimizer: 'params' must be a list of parameters or param groups");
    return make(params as ParamsInput, options);
  };
}

OPTIMIZERS.register('SGD', optimizerBuilder((p, o) => new SGD(p, o)));
OPTIMIZERS.register('Adam', optimizerBuilder((p, o) => new Adam(p, o)));
OPTIMIZERS.register('AdamW', optimizerBuilder((p, o) => new AdamW(p, o)));
OPTIMIZERS.register('Adamax', optimizerBuilder((p, o) => new Adamax(p, o)));
OPTIMIZERS.register('NAdam', optimizerBuilder((p, o) => new NAdam(p, o)));
OPTIMIZERS.register('RAdam', optimizerBuilder((p, o) => new RAdam(p, o)));
OPTIMIZERS.register('Adagrad', optimizerBuilder((p, o) => new Adagrad(p, o)));
OPTIMIZERS.register('RMSprop', optimizerBuilder((p, o) => new RMSprop(p, o)));
OPTIMIZERS.register('Adadelta', optimizerBuilder((p, o) => new Adadelta(p, o)));
OPTIMIZERS.register('ASGD', optimizerBuilder((p, o) => new ASGD(p, o)));
OPTIMIZERS.register('Rprop', optimizerBuilder((p, o) => new Rprop(p, o)));
OPTIMIZERS.register('Lion', optimizerBuilder((p, o) => new Lion(p, o)));
OPTIMIZERS.register('Lamb', optimizerBuilder((p, o) => new Lamb(p, o)));

/** The arguments every wrapper takes (MMEngine's OptimWrapper's, plus Anvil's `log_grad_norm`). */
function wrapperOptions(type: string, { optimizer, accumulative_counts, clip_grad, log_grad_norm, ...rest }: Record<string, unknown>, extra: readonly string[]) {
  const unknown = Object.keys(rest).find((k) => !extra.includes(k));
  if (unknown !== undefined) throw new AnvilError(`${type}: unexpected argument '${unknown}'`);
  return {
    optimizer: optimizer as Optimizer,
    accumulativeCounts: accumulative_counts as number | undefined,
    clipGrad: clip_grad as Record<string, unknown> | null | undefined,
    logGradNorm: log_grad_norm as boolean | undefined,
  };
}

OPTIM_WRAPPERS.register('OptimWrapper', (args) => new OptimWrapper(wrapperOptions('OptimWrapper', args, [])));
OPTIM_WRAPPERS.register('AmpOptimWrapper', (args) => {
  const { loss_scale, dtype } = args;
  return new AmpOptimWrapper({
    ...wrapperOptions('AmpOptimWrapper', args, ['loss_scale', 'dtype']),
    lossScale: loss_scale as AmpOptimWrapperOptions['lossScale'],
    dtype: dtype as AmpOptimWrapperOptions['dtype'],
  });
});
// Values are built wrappers (MMEngine builds the dict from OptimWrapper objects, not configs).
OPTIM_WRAPPERS.register('OptimWrapperDict', (args) => new OptimWrapperDict(args as Record<string, OptimWrapper>) as unknown as OptimWrapper);
