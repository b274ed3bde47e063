// Optimizer base: torch.optim's param groups (hyper-parameters under torch's snake_case keys,
// which schedulers and MMEngine read), one bucket per group, and a fused native step per bucket.

import { AnvilError } from '../errors';
import type { Bucket } from '../store/bucket';
import { packBucket, type Parameter } from '../store/parameter';
import { camelToSnake } from '../util/names';

export interface ParamGroup {
  params: Parameter[];
  lr: number;
  [key: string]: unknown;
}

/** Parameters, or torch-style param groups whose own keys override the defaults. */
export type ParamsInput = Parameter[] | Array<{ params: Parameter[]; [key: string]: unknown }>;

/** State of one parameter as torch's `optimizer.state[p]` holds it. */
export type ParamState = Record<string, number | Float32Array>;

export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: Array<Record<string, unknown> & { params: number[] }>;
}

export abstract class Optimizer {
  /** torch's class name, e.g. 'AdamW'. Set first, so validation during construction can name it. */
  readonly type: string;
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly paramGroups: ParamGroup[];
  private readonly buckets: Bucket[];

  /**
   * `defaults` are torch's constructor defaults; `options` may use torch's snake_case keys
   * (config) or camelCase (TypeScript). Unknown option keys are an error, as in torch.
   */
  protected constructor(type: string, params: ParamsInput, options: Record<string, unknown>, defaults: Record<string, unknown>) {
    this.type = type;
    const merged: Record<string, unknown> = { ...defaults };
    for (const [key, value] of Object.entries(options)) {
      const k = camelToSnake(key);
      if (!(k in defaults)) {
        throw new AnvilError(`${type}: unexpected argument '${k}' (accepted: ${Object.keys(defaults).join(', ')})`);
      }
      if (value !== undefined) merged[k] = value;
    }
    this.defaults = merged;
    this.paramGroups = normalizeGroups(type, params, merged);
    for (const g of this.paramGroups) this.validate(g);
    this.buckets = this.paramGroups.map((g) => packBucket(g.params));
  }

  /** Throws an AnvilError for out-of-range hyper-parameters (torch's checks and wording). */
  protected abstract validate(group: ParamGroup): void;

  /** Names of the state buffers this group's configuration keeps, in kernel order. */
  protected abstract stateNames(group: ParamGroup): string[];

  /** Whether torch reports a per-parameter `step` in the state. */
  protected abstract readonly reportsStep: boolean;

  /** Runs the fused native update over one group's bucket. */
  protected abstract stepBucket(bucket: Bucket, group: ParamGroup): void;

  step(): void {
    this.paramGroups.forEach((g, i) => {
      this.validate(g);
      this.stepBucket(this.buckets[i], g);
    });
  }

  /** torch's `zero_grad()` (set_to_none): every gradient becomes absent. */
  zeroGrad(): void {
    for (const b of this.buckets) b.zeroGrad();
  }

  /** The bucket holding group `i`'s parameters. */
  bucket(i: number): Bucket {
    return this.buckets[i];
  }

  /** State of every parameter, keyed by its index over all groups (as torch's state_dict). */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    let index = 0;
    const param_groups = this.paramGroups.map((g, gi) => {
      const bucket = this.buckets[gi];
      const names = this.stateNames(g);
      const ids = g.params.map((p, pi) => {
        const entry: ParamState = {};
        if (p.step > 0) {
          if (this.reportsStep) entry.step = p.step;
          for (const n of names) if (bucket.hasState(n)) entry[n] = bucket.stateView(n, pi).slice();
        }
        state[index] = entry;
        return index++;
      });
      const { params: _params, ...hyper } = g;
      return { ...hyper, params: ids };
    });
    return { state, param_groups };
  }
}

function normalizeGroups(type: string, params: ParamsInput, defaults: Record<string, unknown>): ParamGroup[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new AnvilError(`${type}: optimizer got an empty parameter list`);
  }
  const raw = isParameterList(params) ? [{ params }] : (params as Array<{ params: Parameter[] }>);
  const seen = new Set<Parameter>();
  return raw.map((g, i) => {
    if (!g || !Array.isArray(g.params)) throw new AnvilError(`${type}: param group ${i} needs a 'params' list`);
    const unique = [...new Set(g.params)];
    for (const p of unique) {
      if (seen.has(p)) throw new AnvilError(`${type}: some parameters appear in more than one parameter group`);
      seen.add(p);
    }
    const own = Object.fromEntries(Object.entries(g).filter(([k]) => k !== 'params').map(([k, v]) => [camelToSnake(k), v]));
    return { ...defaults, ...own, params: unique } as ParamGroup;
  });
}

function isParameterList(params: ParamsInput): params is Parameter[] {
  return params.every((p) => !('params' in (p as object)));
}

/** A number-valued hyper-parameter of a group, checked. */
export function num(group: ParamGroup, key: string, type: string): number {
  const v = group[key];
  if (typeof v !== 'number' || Number.isNaN(v)) throw new AnvilError(`${type}: '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** A boolean hyper-parameter of a group, checked. */
export function flag(group: ParamGroup, key: string, type: string): boolean {
  const v = group[key];
  if (typeof v !== 'boolean') throw new AnvilError(`${type}: '${key}' must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A pair such as Adam's `betas`. */
export function pair(group: ParamGroup, key: string, type: string): [number, number] {
  const v = group[key];
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number')) {
    throw new AnvilError(`${type}: '${key}' must be a pair of numbers, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}
