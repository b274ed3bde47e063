// Optimizer base: torch.optim's param groups (hyper-parameters under torch's snake_case keys,
// which schedulers and MMEngine read), groups with identical hyper-parameters packed into one
// bucket, and a fused native step per bucket.

import { cudaKernels, parseDevice, type CudaKernels, type Kernels } from '../cuda/kernels';
import { AnvilError } from '../errors';
import { native, type BucketArrays, type StepBucket } from '../native';
import type { Bucket, GradDtype } from '../store/bucket';
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

/** Per-call options of `step()`. */
export interface StepOptions {
  /**
   * Multiplies every gradient as the kernel reads it (default 1), without touching the stored
   * gradients: AMP's unscale (1 / loss scale) fused into the update pass.
   */
  gradScale?: number;
}

/** The optimizer step calls (`native.adamStep` ...), sync or async: `stepBucket` calls one of them. */
type StepName = 'sgdStep' | 'adamStep' | 'adamaxStep' | 'nadamStep' | 'radamStep' | 'adagradStep' | 'rmspropStep' | 'adadeltaStep' | 'asgdStep' | 'rpropStep' | 'lionStep' | 'lambStep';
export type StepCalls = {
  [K in StepName]: (bucket: StepBucket | BucketArrays, options: Parameters<(typeof native)[K]>[1], gradScale?: number | null) => void | Promise<void>;
};

/** The CPU step calls that run on the libuv thread pool, under the synchronous names. */
const ASYNC_CALLS: StepCalls = {
  sgdStep: (b, o, s) => native.sgdStepAsync(registered(b), o, s),
  adamStep: (b, o, s) => native.adamStepAsync(registered(b), o, s),
  adamaxStep: (b, o, s) => native.adamaxStepAsync(registered(b), o, s),
  nadamStep: (b, o, s) => native.nadamStepAsync(registered(b), o, s),
  radamStep: (b, o, s) => native.radamStepAsync(registered(b), o, s),
  adagradStep: (b, o, s) => native.adagradStepAsync(registered(b), o, s),
  rmspropStep: (b, o, s) => native.rmspropStepAsync(registered(b), o, s),
  adadeltaStep: (b, o, s) => native.adadeltaStepAsync(registered(b), o, s),
  asgdStep: (b, o, s) => native.asgdStepAsync(registered(b), o, s),
  rpropStep: (b, o, s) => native.rpropStepAsync(registered(b), o, s),
  lionStep: (b, o, s) => native.lionStepAsync(registered(b), o, s),
  lambStep: (b, o, s) => native.lambStepAsync(registered(b), o, s),
};

function registered(b: StepBucket | BucketArrays): StepBucket {
  if (!(b instanceof native.StepBucket)) throw new AnvilError('async steps run over a registered bucket (StepBucket)');
  return b;
}

export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: Array<Record<string, unknown> & { params: number[] }>;
}

export abstract class Optimizer {
  /** torch's class name, e.g. 'AdamW'. Set first, so validation during construction can name it. */
  readonly type: string;
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly paramGroups: ParamGroup[];
  /** Buckets of groups whose hyper-parameters are identical (MMEngine makes one group per parameter). */
  private buckets: Bucket[] = [];
  /** Group `i` lives in `buckets[groupBucket[i]]`; the groups of a bucket are in `bucketGroups`. */
  private groupBucket: number[] = [];
  private bucketGroups: number[][] = [];
  /** The gradient type every bucket is packed with (null: the parameters' own). */
  private gradDtype: GradDtype | null = null;
  /** Where steps run: the CPU kernels, or a GPU's (set by `to`). */
  private deviceName = 'cpu';
  private gpu: CudaKernels | null = null;
  /**
   * Each bucket's arrays registered with the addon once (a step is then one call with the
   * hyper-parameters only), with the state names they were registered with. Dropped on repack.
   */
  private handles: Array<{ bucket: Bucket; key: string; handle: StepBucket } | undefined> = [];
  /** Set while a `stepAsync` runs: the buffers belong to the worker thread until it settles. */
  private inFlight = false;

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
    this.packBySignature(this.paramGroups.map((g) => this.signature(g)));
  }

  /** A group's hyper-parameters (torch's constructor arguments, i.e. the keys of `defaults`) as one string. */
  private signature(group: ParamGroup): string {
    return JSON.stringify(Object.keys(this.defaults).map((k) => group[k]));
  }

  /** One bucket per distinct signature, holding its groups' parameters in group order. */
  private packBySignature(signatures: string[]): void {
    const bySignature = new Map<string, number[]>();
    signatures.forEach((s, i) => {
      const members = bySignature.get(s);
      if (members) members.push(i);
      else bySignature.set(s, [i]);
    });
    this.bucketGroups = [...bySignature.values()];
    this.handles = [];
    this.buckets = this.bucketGroups.map((members) => packBucket(members.flatMap((i) => this.paramGroups[i].params), this.gradDtype ?? undefined));
    this.groupBucket = new Array<number>(this.paramGroups.length);
    this.bucketGroups.forEach((members, b) => members.forEach((i) => (this.groupBucket[i] = b)));
  }

  /** The kernels steps (and GradScaler's passes over this optimizer's gradients) run on: the CPU addon's, or the GPU's after `to('cuda')`. */
  get kernels(): Kernels {
    return this.gpu ?? native;
  }

  /** 'cpu', or 'cuda:N' after `to('cuda:N')`. */
  get device(): string {
    return this.deviceName;
  }

  /**
   * Runs the steps on `device` ('cpu', 'cuda' or 'cuda:N'; a clear error when CUDA is missing).
   * On a GPU each bucket's optimizer state lives in device memory; a step uploads the gradients
   * and copies the updated parameters back (the models run on the host). `stateDict` brings the
   * state back on demand.
   */
  to(device: string): this {
    this.assertIdle('to');
    const spec = parseDevice(device, `${this.type}.to`);
    this.syncStatesFromDevice();
    this.forgetDeviceCopies();
    this.gpu = spec.type === 'cuda' ? cudaKernels(spec.index) : null;
    this.deviceName = spec.name;
    return this;
  }

  /** Copies the state kept on the GPU into the host buckets. */
  private syncStatesFromDevice(): void {
    if (this.gpu) for (const b of this.buckets) this.gpu.downloadStates(b.params);
  }

  /** Drops the GPU copies (after the host state changed): the next step uploads afresh. */
  private forgetDeviceCopies(): void {
    if (this.gpu) for (const b of this.buckets) this.gpu.forget(b.params);
  }

  /** Throws an AnvilError for out-of-range hyper-parameters (torch's checks and wording). */
  protected abstract validate(group: ParamGroup): void;

  /** Names of the state buffers this group's configuration keeps, in kernel order. */
  protected abstract stateNames(group: ParamGroup): string[];

  /** Names of the per-tensor scalar states (NAdam's `mu_product`), in kernel order. */
  protected tensorStateNames(_group: ParamGroup): string[] {
    return [];
  }

  /** Whether torch creates the state at construction (Adagrad), so even unstepped parameters report it. */
  protected get stateAtConstruction(): boolean {
    return false;
  }

  /** Whether torch reports a per-parameter `step` in the state. */
  protected abstract readonly reportsStep: boolean;

  /**
   * Runs the fused update over one bucket with its groups' hyper-parameters: `calls.<name>Step(
   * bucket, options, gradScale)`, returning what it returns (a Promise for `stepAsync`). `bucket`
   * is the registered bucket on the CPU, the arrays on a GPU.
   */
  protected abstract stepBucket(bucket: StepBucket | BucketArrays, group: ParamGroup, gradScale: number, calls: StepCalls): void | Promise<void>;

  /** The factor the kernels multiply gradients by, from the caller's (Lamb folds its global clip in). */
  protected stepGradScale(gradScale: number): number {
    return gradScale;
  }

  /** Refuses `what` while a `stepAsync` is in flight (its worker thread owns the buffers). */
  protected assertIdle(what: string): void {
    if (this.inFlight) {
      throw new AnvilError(`${this.type}.${what}: a stepAsync() of this optimizer is still running; await it first (until it settles the parameters, gradients and state must not be touched)`);
    }
  }

  /** Whether a `stepAsync` is running. */
  get stepping(): boolean {
    return this.inFlight;
  }

  step(options: StepOptions = {}): void {
    this.assertIdle('step');
    const gradScale = this.prepareStep(options);
    for (let b = 0; b < this.buckets.length; b++) {
      const g = this.paramGroups[this.bucketGroups[b][0]];
      this.stepBucket(this.target(b, g, gradScale), g, gradScale, this.kernels);
    }
  }

  /**
   * `step` off the JS thread: each bucket's update runs on the libuv thread pool (and the
   * kernels' worker threads), so JS keeps running (e.g. loading the next batch) and the
   * promise resolves when every bucket is done. The result is bit-identical to `step`. Until
   * it settles, the parameters, gradients and optimizer state must not be read or written from
   * JS (no forward/backward into them); stepping, `zeroGrad`, `stateDict`, `loadStateDict` and
   * `setGradDtype` on this optimizer throw. On a GPU it runs as `step` does.
   */
  async stepAsync(options: StepOptions = {}): Promise<void> {
    this.assertIdle('stepAsync');
    if (this.gpu) return this.step(options);
    const gradScale = this.prepareStep(options);
    this.inFlight = true;
    try {
      for (let b = 0; b < this.buckets.length; b++) {
        const g = this.paramGroups[this.bucketGroups[b][0]];
        await this.stepBucket(this.target(b, g, gradScale), g, gradScale, ASYNC_CALLS);
      }
    } finally {
      this.inFlight = false;
    }
  }

  /** Checks the groups, repacks drifted ones, marks frozen parameters; the kernels' grad scale. */
  private prepareStep(options: StepOptions): number {
    const { gradScale = 1 } = options;
    if (typeof gradScale !== 'number' || Number.isNaN(gradScale)) {
      throw new AnvilError(`${this.type}: gradScale must be a number, got ${String(gradScale)}`);
    }
    for (const g of this.paramGroups) this.validate(g);
    // Groups of one bucket may have drifted apart (a hyper-parameter changed in some of them):
    // repack by the current signatures before stepping, so every fused call is one configuration.
    const signatures = this.paramGroups.map((g) => this.signature(g));
    if (this.bucketGroups.some((members) => members.some((i) => signatures[i] !== signatures[members[0]]))) {
      this.syncStatesFromDevice();
      this.packBySignature(signatures);
    }
    this.bucketGroups.forEach((members, b) => {
      const bucket = this.buckets[b];
      // A frozen parameter has no gradient (torch: requires_grad=False leaves grad None).
      for (const i of members) for (const p of this.paramGroups[i].params) if (!p.requiresGrad) bucket.hasGrad[p.location.index] = 0;
    });
    return this.stepGradScale(gradScale);
  }

  /** What bucket `b` is stepped through: its arrays on a GPU, else its registered handle. */
  private target(b: number, g: ParamGroup, gradScale: number): StepBucket | BucketArrays {
    const bucket = this.buckets[b];
    const names = this.stateNames(g);
    const scalars = this.tensorStateNames(g);
    if (this.gpu) return bucket.arrays(names, scalars, gradScale);
    // Staged float32 gradients (half buckets) are rounded into the bits the kernel reads.
    bucket.flushStagedGrads();
    const key = scalars.length === 0 ? names.join(',') : `${names.join(',')}|${scalars.join(',')}`;
    const cached = this.handles[b];
    if (cached && cached.bucket === bucket && cached.key === key) return cached.handle;
    const handle = new native.StepBucket(bucket.arrays(names, scalars));
    this.handles[b] = { bucket, key, handle };
    return handle;
  }

  /**
   * Keeps every parameter's gradient as `dtype` from now on (AmpOptimWrapper's `dtype`): the
   * buckets are repacked with float16/bfloat16 (or float32) gradients over the fp32 values.
   */
  setGradDtype(dtype: GradDtype): void {
    this.assertIdle('setGradDtype');
    if (!['float32', 'float16', 'bfloat16'].includes(dtype)) {
      throw new AnvilError(`${this.type}: gradient dtype must be float32, float16 or bfloat16, got ${JSON.stringify(dtype)}`);
    }
    this.gradDtype = dtype;
    this.syncStatesFromDevice();
    this.packBySignature(this.paramGroups.map((g) => this.signature(g)));
  }

  /** torch's `zero_grad()` (set_to_none): every gradient becomes absent. */
  zeroGrad(): void {
    this.assertIdle('zeroGrad');
    for (const b of this.buckets) b.zeroGrad();
  }

  /** The bucket holding group `i`'s parameters (shared with the groups of identical hyper-parameters). */
  bucket(i: number): Bucket {
    return this.buckets[this.groupBucket[i]];
  }

  /** State of every parameter, keyed by its index over all groups (as torch's state_dict). */
  stateDict(): OptimizerStateDict {
    this.assertIdle('stateDict');
    this.syncStatesFromDevice();
    const state: Record<number, ParamState> = {};
    let index = 0;
    const param_groups = this.paramGroups.map((g) => {
      const names = this.stateNames(g);
      const scalarNames = this.tensorStateNames(g);
      const ids = g.params.map((p) => {
        const entry: ParamState = {};
        const { bucket, index: pi } = p.location;
        if (p.step > 0 || this.stateAtConstruction) {
          if (this.reportsStep) entry.step = p.step;
          for (const n of scalarNames) if (bucket.hasTensorState(n)) entry[n] = bucket.tensorState(n)[pi];
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

  /**
   * torch's `load_state_dict`: `state` keyed by parameter index over all groups (as `stateDict`
   * writes it), `param_groups` matched to this optimizer's groups by position. Each group takes
   * the saved hyper-parameters (its `params` stay); each parameter its step, per-tensor scalars
   * and state buffers. Optimizers that report no `step` (SGD, Lion) resume as already stepped
   * when their entry holds state, so a loaded momentum buffer is used, not re-initialised.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const who = `${this.type}.loadStateDict`;
    this.assertIdle('loadStateDict');
    const { state, param_groups: saved } = (stateDict ?? {}) as Partial<OptimizerStateDict>;
    if (!Array.isArray(saved) || state === null || typeof state !== 'object') {
      throw new AnvilError(`${who}: expected { state, param_groups } as stateDict() returns`);
    }
    if (saved.length !== this.paramGroups.length) {
      throw new AnvilError(`${who}: loaded state dict has ${saved.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    saved.forEach((s, i) => {
      if (!Array.isArray(s?.params) || s.params.length !== this.paramGroups[i].params.length) {
        throw new AnvilError(`${who}: param_groups[${i}] holds ${Array.isArray(s?.params) ? s.params.length : 'no'} parameters, the optimizer's group ${this.paramGroups[i].params.length}`);
      }
    });
    // Check everything before changing anything, so a bad state dict leaves the optimizer as it was.
    const groups = saved.map((s, i) => {
      const { params: _ids, ...hyper } = s;
      const group = { ...hyper, params: this.paramGroups[i].params } as ParamGroup;
      this.validate(group);
      return group;
    });
    const entries = groups.flatMap((g, i) => g.params.map((p, j) => ({ p, g, key: saved[i].params[j] })));
    for (const { p, g, key } of entries) {
      const entry = (state as Record<string, unknown>)[key];
      if (entry === undefined) continue;
      if (entry === null || typeof entry !== 'object') throw new AnvilError(`${who}: state[${key}] must be a dict, got ${JSON.stringify(entry)}`);
      const buffers = this.stateNames(g);
      const scalars = this.tensorStateNames(g);
      for (const [name, value] of Object.entries(entry)) {
        if (name === 'step' || scalars.includes(name)) {
          if (typeof value !== 'number' || (name === 'step' && (!Number.isInteger(value) || value < 0))) {
            throw new AnvilError(`${who}: state[${key}].${name} must be a ${name === 'step' ? 'non-negative integer' : 'number'}, got ${JSON.stringify(value)}`);
          }
        } else if (buffers.includes(name)) {
          const n = (value as ArrayLike<number> | null)?.length;
          if (n !== p.numel) throw new AnvilError(`${who}: state[${key}].${name} must hold ${p.numel} values, got ${n ?? JSON.stringify(value)}`);
        } else if (value !== null) {
          throw new AnvilError(`${who}: state[${key}] has '${name}', which ${this.type} with these hyper-parameters does not keep (it keeps ${['step', ...scalars, ...buffers].join(', ')})`);
        }
      }
    }
    this.syncStatesFromDevice();
    groups.forEach((g, i) => {
      const target = this.paramGroups[i];
      for (const k of Object.keys(target)) if (k !== 'params' && !(k in g)) delete target[k];
      Object.assign(target, g);
    });
    for (const { p, key } of entries) {
      const entry = ((state as Record<string, unknown>)[key] ?? {}) as ParamState;
      const { bucket, index } = p.location;
      const hasState = Object.values(entry).some((v) => v !== null);
      bucket.steps[index] = typeof entry.step === 'number' ? entry.step : hasState && !this.reportsStep ? 1 : 0;
      // torch replaces the state: what the entry does not hold starts over.
      for (const name of bucket.stateNames()) bucket.stateView(name, index).fill(0);
      for (const name of bucket.tensorStateNames()) bucket.tensorState(name)[index] = 0;
      for (const [name, value] of Object.entries(entry)) {
        if (name === 'step' || value === null) continue;
        if (typeof value === 'number') bucket.tensorState(name)[index] = value;
        else bucket.stateView(name, index).set(value);
      }
    }
    this.forgetDeviceCopies();
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
