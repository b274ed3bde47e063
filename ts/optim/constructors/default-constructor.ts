// MMEngine's DefaultOptimWrapperConstructor: builds the optimizer (one param group per parameter
// under `paramwise_cfg`: custom_keys, bias/norm/dwconv/flat multipliers, duplicates, frozen
// parameters) and wraps it in the configured OptimWrapper.

import { AnvilError } from '../../errors';
import { OPTIM_WRAPPERS, OPTIMIZERS } from '../../registry';
import { describe } from '../../registry/registry';
import type { Parameter } from '../../store/parameter';
import type { Optimizer } from '../optimizer';
import type { OptimWrapper } from '../optim-wrapper';
import type { ModelSource, OptimWrapperConstructor, ParamGroupSpec } from './constructor';
import { namedParametersOf, type ModuleTree } from './model-view';
import { isConv2d, isDcn, isDepthwiseConv, isNorm } from './module-types';

export interface DefaultOptimWrapperConstructorOptions {
  /** The `optim_wrapper` config without `constructor` and `paramwise_cfg` (it holds `optimizer`). */
  optimWrapperCfg: Record<string, unknown>;
  paramwiseCfg?: Record<string, unknown> | null;
}

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

export class DefaultOptimWrapperConstructor implements OptimWrapperConstructor {
  readonly optimWrapperCfg: Dict;
  readonly optimizerCfg: Dict;
  readonly paramwiseCfg: Dict;
  /** `optimizer.lr` and `optimizer.weight_decay` as configured (null when absent). */
  readonly baseLr: number | null;
  readonly baseWd: number | null;

  constructor(options: DefaultOptimWrapperConstructorOptions) {
    const cfg = options.optimWrapperCfg;
    if (!isDict(cfg)) throw new AnvilError(`optim_wrapper: expected a dict with an optimizer, got ${describe(cfg)}`);
    const { optimizer, ...wrapperCfg } = cfg;
    if (!isDict(optimizer)) {
      throw new AnvilError("optim_wrapper.optimizer: expected a dict such as dict(type='AdamW', lr=1e-3)");
    }
    const paramwise = options.paramwiseCfg ?? {};
    if (!isDict(paramwise)) throw new AnvilError(`optim_wrapper.paramwise_cfg: paramwise_cfg should be None or a dict, but got ${describe(paramwise)}`);
    this.optimWrapperCfg = wrapperCfg;
    this.optimizerCfg = optimizer;
    this.paramwiseCfg = paramwise;
    this.baseLr = optionalNumber(optimizer.lr, 'optim_wrapper.optimizer.lr');
    this.baseWd = optionalNumber(optimizer.weight_decay, 'optim_wrapper.optimizer.weight_decay');
    this.validate();
  }

  /** MMEngine's `_validate_cfg`: decay multipliers need a base weight decay. */
  private validate(): void {
    const pw = this.paramwiseCfg;
    if (Object.hasOwn(pw, 'custom_keys')) {
      const keys = pw.custom_keys;
      if (!isDict(keys)) throw new AnvilError(`optim_wrapper.paramwise_cfg.custom_keys: If specified, custom_keys must be a dict, but got ${describe(keys)}`);
      for (const [key, entry] of Object.entries(keys)) {
        if (!isDict(entry)) throw new AnvilError(`optim_wrapper.paramwise_cfg.custom_keys.${key}: expected a dict such as dict(lr_mult=0.1), got ${describe(entry)}`);
        if (this.baseWd === null && Object.hasOwn(entry, 'decay_mult')) {
          throw new AnvilError(`optim_wrapper.paramwise_cfg.custom_keys.${key}.decay_mult: base_wd should not be None (set optim_wrapper.optimizer.weight_decay)`);
        }
      }
    }
    for (const key of ['bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult']) {
      if (Object.hasOwn(pw, key) && this.baseWd === null) {
        throw new AnvilError(`optim_wrapper.paramwise_cfg.${key}: base_wd should not be None (set optim_wrapper.optimizer.weight_decay)`);
      }
    }
  }

  /** Builds the optimizer over the model's parameters and wraps it (MMEngine's `__call__`). */
  build(model: ModelSource): OptimWrapper {
    let params: Parameter[] | ParamGroupSpec[];
    if (isParameterList(model)) {
      if (Object.keys(this.paramwiseCfg).length > 0) {
        throw new AnvilError('optim_wrapper.paramwise_cfg: parameter-wise settings need a model (module and parameter names), not a bare list of parameters');
      }
      params = model.filter((p) => p.requiresGrad);
    } else if (Object.keys(this.paramwiseCfg).length === 0) {
      // torch's model.parameters(): every parameter once, frozen ones included.
      params = namedParametersOf(model).map(([, p]) => p);
    } else {
      const groups: ParamGroupSpec[] = [];
      this.addParams(groups, model);
      params = groups;
    }
    const optimizer = OPTIMIZERS.build<Optimizer>(this.optimizerCfg, 'optim_wrapper.optimizer', { params });
    return OPTIM_WRAPPERS.build({ type: 'OptimWrapper', ...this.optimWrapperCfg }, 'optim_wrapper', { optimizer });
  }

  /**
   * Appends one param group per parameter, walking modules in `named_modules()` order with each
   * module's own parameters (MMEngine's recursive `add_params`).
   */
  protected addParams(groups: ParamGroupSpec[], model: ModuleTree): void {
    const pw = this.paramwiseCfg;
    const customKeys = (pw.custom_keys ?? {}) as Record<string, Dict>;
    // Longest key first; ties in alphabetical order.
    const sortedKeys = Object.keys(customKeys).sort().sort((a, b) => b.length - a.length);
    const mult = (key: string) => optionalNumber(pw[key], `optim_wrapper.paramwise_cfg.${key}`);
    const biasLrMult = mult('bias_lr_mult');
    const biasDecayMult = mult('bias_decay_mult');
    const normDecayMult = mult('norm_decay_mult');
    const dwconvDecayMult = mult('dwconv_decay_mult');
    const flatDecayMult = mult('flat_decay_mult');
    const dcnOffsetLrMult = mult('dcn_offset_lr_mult');
    const bypassDuplicate = Boolean(pw.bypass_duplicate ?? false);

    const modules = model.namedModules();
    const types = new Map(modules.map((m) => [m.name, m]));
    const seen = new Set<Parameter>();
    for (const m of modules) {
      const prefix = m.name;
      const parent = prefix === '' ? undefined : types.get(prefix.includes('.') ? prefix.slice(0, prefix.lastIndexOf('.')) : '');
      const inDcn = parent !== undefined && isDcn(parent);
      const norm = isNorm(m);
      const dwconv = isDepthwiseConv(m);
      for (const [name, param] of Object.entries(m.params)) {
        const fullName = prefix ? `${prefix}.${name}` : name;
        if (bypassDuplicate && seen.has(param)) continue;
        if (!param.requiresGrad) {
          const frozen = this.frozenGroup(param);
          if (frozen) {
            groups.push(frozen);
            seen.add(param);
          }
          continue;
        }
        const group: ParamGroupSpec = { params: [param] };
        let isCustom = false;
        for (const key of sortedKeys) {
          // MMEngine matches against `prefix.name`, so a root parameter is `.name`.
          if (!`${prefix}.${name}`.includes(key)) continue;
          isCustom = true;
          const entry = customKeys[key];
          group.lr = this.scaledLr(optionalNumber(entry.lr_mult, `optim_wrapper.paramwise_cfg.custom_keys.${key}.lr_mult`) ?? 1, fullName);
          if (this.baseWd !== null) {
            group.weight_decay = this.baseWd * (optionalNumber(entry.decay_mult, `optim_wrapper.paramwise_cfg.custom_keys.${key}.decay_mult`) ?? 1);
          }
          Object.assign(group, entry);
          break;
        }
        if (this.appliesDefaultRules(isCustom)) {
          if (name === 'bias' && !(norm || inDcn) && biasLrMult !== null) group.lr = this.scaledLr(biasLrMult, fullName);
          if (prefix.includes('conv_offset') && inDcn && dcnOffsetLrMult !== null && isConv2d(m)) group.lr = this.scaledLr(dcnOffsetLrMult, fullName);
          if (this.baseWd !== null) {
            if (norm && normDecayMult !== null) group.weight_decay = this.baseWd * normDecayMult;
            else if (name === 'bias' && !inDcn && biasDecayMult !== null) group.weight_decay = this.baseWd * biasDecayMult;
            else if (dwconv && dwconvDecayMult !== null) group.weight_decay = this.baseWd * dwconvDecayMult;
            else if (param.shape.length === 1 && !inDcn && flatDecayMult !== null) group.weight_decay = this.baseWd * flatDecayMult;
          }
        }
        groups.push(group);
        seen.add(param);
      }
    }
  }

  /** The group for a parameter with requires_grad false, or null to leave it out (MMEngine skips it). */
  protected frozenGroup(_param: Parameter): ParamGroupSpec | null {
    return null;
  }

  /** Whether the bias/norm/dwconv/flat rules apply to a parameter (MMEngine: when no custom key matched). */
  protected appliesDefaultRules(isCustom: boolean): boolean {
    return !isCustom;
  }

  private scaledLr(mult: number, paramName: string): number {
    if (this.baseLr === null) throw new AnvilError(`optim_wrapper.optimizer.lr: an lr multiplier applies to '${paramName}', so the optimizer needs an lr`);
    return this.baseLr * mult;
  }
}

function optionalNumber(v: unknown, where: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number') throw new AnvilError(`${where}: expected a number, got ${describe(v)}`);
  return v;
}

function isParameterList(model: ModelSource): model is readonly Parameter[] {
  return Array.isArray(model);
}
