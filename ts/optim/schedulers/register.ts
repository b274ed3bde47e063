// Registers every scheduler in PARAM_SCHEDULERS under MMEngine's names, with the config keys each
// accepts and how `convert_to_iter_based` rescales its epoch counts (MMEngine's `build_iter_from_epoch`).

import { AnvilError } from '../../errors';
import { PARAM_SCHEDULERS } from '../../registry';
import { camelizeKeys } from '../../util/names';
import { CosineAnnealingParamScheduler, CosineRestartParamScheduler, PolyParamScheduler } from './annealing';
import {
  ConstantParamScheduler,
  ExponentialParamScheduler,
  LinearParamScheduler,
  MultiStepParamScheduler,
  StepParamScheduler,
} from './multiplicative';
import { OneCycleParamScheduler } from './one-cycle';
import { INF, type ParamScheduler } from './param-scheduler';
import { ReduceOnPlateauParamScheduler } from './reduce-on-plateau';
import * as variants from './variants';

const COMMON = ['optimizer', 'begin', 'end', 'last_step', 'by_epoch', 'step_per_update', 'verbose'];

/** Per family: its own config keys, and the keys counted in epochs (null: cannot be converted). */
const FAMILIES: Record<string, { generic: new (o: never) => ParamScheduler; keys: string[]; epochKeys: string[] | null; momentum: boolean }> = {
  Constant: { generic: ConstantParamScheduler, keys: ['factor'], epochKeys: [], momentum: true },
  CosineAnnealing: { generic: CosineAnnealingParamScheduler, keys: ['T_max', 'eta_min', 'eta_min_ratio'], epochKeys: ['T_max'], momentum: true },
  Exponential: { generic: ExponentialParamScheduler, keys: ['gamma'], epochKeys: [], momentum: true },
  Linear: { generic: LinearParamScheduler, keys: ['start_factor', 'end_factor'], epochKeys: [], momentum: true },
  MultiStep: { generic: MultiStepParamScheduler, keys: ['milestones', 'gamma'], epochKeys: ['milestones'], momentum: true },
  Step: { generic: StepParamScheduler, keys: ['step_size', 'gamma'], epochKeys: ['step_size'], momentum: true },
  Poly: { generic: PolyParamScheduler, keys: ['eta_min', 'power'], epochKeys: [], momentum: true },
  OneCycle: {
    generic: OneCycleParamScheduler,
    keys: ['eta_max', 'total_steps', 'pct_start', 'anneal_strategy', 'div_factor', 'final_div_factor', 'three_phase'],
    epochKeys: ['total_steps'],
    momentum: false,
  },
  CosineRestart: { generic: CosineRestartParamScheduler, keys: ['periods', 'restart_weights', 'eta_min', 'eta_min_ratio'], epochKeys: ['periods'], momentum: true },
  ReduceOnPlateau: {
    generic: ReduceOnPlateauParamScheduler,
    keys: ['monitor', 'rule', 'factor', 'patience', 'threshold', 'threshold_rule', 'cooldown', 'min_value', 'eps'],
    epochKeys: null,
    momentum: true,
  },
};

/** MMEngine's `build_iter_from_epoch`: epoch counts times `epoch_length`, `by_epoch` off. */
function toIterBased(type: string, args: Record<string, unknown>, epochLength: unknown, epochKeys: string[] | null): Record<string, unknown> {
  if (epochKeys === null) throw new AnvilError(`${type}: cannot be converted to iter-based (convert_to_iter_based)`);
  if (args.by_epoch === false) throw new AnvilError(`${type}: Only epoch-based kwargs whose \`by_epoch=True\` can be converted to iter-based.`);
  if (!Number.isInteger(epochLength) || (epochLength as number) <= 0) {
    throw new AnvilError(`${type}: \`epoch_length\` must be a positive integer, but got ${JSON.stringify(epochLength)}.`);
  }
  const len = epochLength as number;
  const out: Record<string, unknown> = { ...args, by_epoch: false };
  for (const key of epochKeys) {
    const v = args[key];
    if (typeof v === 'number') out[key] = v * len;
    else if (Array.isArray(v)) out[key] = v.map((x) => (x as number) * len);
  }
  out.begin = Math.trunc(((args.begin as number | undefined) ?? 0) * len);
  const end = (args.end as number | undefined) ?? INF;
  if (end !== INF) out.end = Math.trunc(end * len);
  return out;
}

/**
 * A PARAM_SCHEDULERS builder: `convert_to_iter_based` (with `epoch_length`, which the runner
 * passes) converts epoch counts first; other keys must be the scheduler's own.
 */
export function schedulerBuilder(
  type: string,
  cls: new (options: never) => ParamScheduler,
  accepts: readonly string[],
  epochKeys: string[] | null,
): (args: Record<string, unknown>) => ParamScheduler {
  const ctor = cls as unknown as new (options: Record<string, unknown>) => ParamScheduler;
  return ({ convert_to_iter_based, epoch_length, ...args }) => {
    const cfg = convert_to_iter_based ? toIterBased(type, args, epoch_length, epochKeys) : args;
    const unknown = Object.keys(cfg).find((k) => !accepts.includes(k));
    if (unknown !== undefined) throw new AnvilError(`${type}: unexpected argument '${unknown}' (accepted: ${accepts.filter((k) => k !== 'optimizer').join(', ')})`);
    return new ctor(camelizeKeys(cfg));
  };
}

const byName = variants as unknown as Record<string, new (o: never) => ParamScheduler>;
for (const [family, { generic, keys, epochKeys, momentum }] of Object.entries(FAMILIES)) {
  const register = (type: string, cls: new (o: never) => ParamScheduler, accepts: string[]) =>
    PARAM_SCHEDULERS.register(type, schedulerBuilder(type, cls, accepts, epochKeys));
  register(`${family}ParamScheduler`, generic, [...COMMON, 'param_name', ...keys]);
  register(`${family}LR`, byName[`${family}LR`], [...COMMON, ...keys]);
  if (momentum) register(`${family}Momentum`, byName[`${family}Momentum`], [...COMMON, ...keys]);
}
