// The `scheduler` case kind: builds the case's schedulers as the runner does on a one-parameter
// optimizer, drives them through ParamSchedulerHook over the run, and reports each iteration's values.

import '../../optim';
import { ParamSchedulerHook } from '../../hooks/param-scheduler-hook';
import { OptimWrapper, buildParamSchedulers } from '../../optim';
import type { Optimizer } from '../../optim/optimizer';
import { OPTIMIZERS } from '../../registry';
import type { Runner } from '../../runner/runner';
import { Parameter } from '../../store/parameter';
import type { ConformanceCase } from '../support';

interface TrainInput {
  by_epoch: boolean;
  max_iters?: number;
  max_epochs?: number;
  iters_per_epoch?: number;
}

/** The group keys a case reports: lr, momentum for *Momentum schedulers, any other `param_name`. */
function reportedKeys(configs: Array<Record<string, unknown>>): string[] {
  const keys = new Set(['lr']);
  for (const s of configs) {
    if (typeof s.type === 'string' && s.type.endsWith('Momentum')) keys.add('momentum');
    if (typeof s.param_name === 'string') keys.add(s.param_name);
  }
  return [...keys];
}

export function runSchedulerCase(c: ConformanceCase): Record<string, number[]> {
  const input = c.input as { optimizer: Record<string, unknown>; param_scheduler: unknown; train: TrainInput };
  const optimizer = OPTIMIZERS.build<Optimizer>({ ...input.optimizer, params: [new Parameter([1])] }, 'optimizer');
  const wrapper = new OptimWrapper({ optimizer });
  const { by_epoch: byEpoch, max_iters, max_epochs = 1, iters_per_epoch } = input.train;
  const epochLength = byEpoch ? iters_per_epoch! : (iters_per_epoch ?? max_iters!);
  const total = byEpoch ? max_epochs * epochLength : max_iters!;
  const schedulers = buildParamSchedulers(input.param_scheduler, wrapper, { maxIters: total, maxEpochs: byEpoch ? max_epochs : 1, epochLength });
  const configs = (Array.isArray(input.param_scheduler) ? input.param_scheduler : [input.param_scheduler]) as Array<Record<string, unknown>>;
  const keys = reportedKeys(configs);
  const out: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
  const hook = new ParamSchedulerHook();
  const runner = { paramSchedulers: schedulers } as unknown as Runner;
  for (let i = 0; i < total; i++) {
    for (const k of keys) out[k].push(k === 'momentum' ? wrapper.getMomentum().momentum[0] : (optimizer.paramGroups[0][k] as number));
    hook.afterTrainIter(runner);
    if (byEpoch && (i + 1) % epochLength === 0) hook.afterTrainEpoch(runner);
  }
  return out;
}
