// MMEngine's averaged models (ExponentialMovingAverage, MomentumAnnealingEMA,
// StochasticWeightAverage): running averages of a model's parameters, and optionally buffers,
// in memory of their own (one float32 slab), updated by one native call over all tensors.

import { cudaKernels, parseDevice, type CudaKernels, type Kernels } from '../cuda/kernels';
import { AnvilError } from '../errors';
import { BaseModel } from '../models/base-model';
import { native } from '../native';
import { nativeCall } from '../optim/grad-buffers';
import type { LossValue } from '../optim/parse-losses';
import type { Parameter } from '../store/parameter';
import type { ModelBuffer } from '../store/store';

/** What an averaged model reads: a Module (a model) or a ParameterStore. */
export interface AveragedSource {
  namedParameters(): [string, Parameter][];
  namedBuffers(): [string, ModelBuffer][];
}

/** One tensor of the averaged module's state dict. */
export interface AveragedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int64';
  /** The averaged values (int64 counters as exact integers, as ModelBuffer keeps them). */
  readonly data: Float32Array | Float64Array;
  /** A buffer (BatchNorm statistics, counters) rather than a parameter. */
  readonly isBuffer: boolean;
}

export interface AveragedModelOptions {
  /** Average every `interval` calls of `updateParameters` (the first call always copies). Default 1. */
  interval?: number;
  /** Average the buffers too (integer ones keep their first copy); otherwise copy them every call. Default false. */
  updateBuffers?: boolean;
  /** MMEngine's `device`: only the host ('cpu' or null) here. */
  device?: string | null;
}

export abstract class BaseAveragedModel<Batch = unknown, Output = unknown> extends BaseModel<Batch, Output> {
  readonly interval: number;
  readonly updateBuffers: boolean;
  private stepCount = 0;
  private readonly tensors: AveragedTensor[];
  /** The tensors `updateParameters` averages: parameters, plus buffers with `updateBuffers`. */
  private readonly averagedSet: AveragedTensor[];
  private readonly source: AveragedSource;

  /** Copies the model's current parameters and buffers (MMEngine deep-copies the model). */
  protected constructor(model: AveragedSource, options: AveragedModelOptions) {
    super();
    const interval = options.interval ?? 1;
    if (!Number.isInteger(interval) || interval < 1) {
      throw new AnvilError(`${this.typeName}: interval must be a positive integer, got ${JSON.stringify(interval)}`);
    }
    const updateBuffers = options.updateBuffers ?? false;
    if (typeof updateBuffers !== 'boolean') throw new AnvilError(`${this.typeName}: update_buffers must be true or false`);
    if (options.device != null && options.device !== 'cpu') {
      throw new AnvilError(`${this.typeName}: device '${options.device}' is not available (averaged models live on the host)`);
    }
    if (!model || typeof model.namedParameters !== 'function' || typeof model.namedBuffers !== 'function') {
      throw new AnvilError(`${this.typeName}: 'model' must be a model (a Module) or a ParameterStore`);
    }
    this.interval = interval;
    this.updateBuffers = updateBuffers;
    this.source = model;

    const params = model.namedParameters();
    const buffers = model.namedBuffers();
    const floats = params.reduce((n, [, p]) => n + p.numel, 0) + buffers.reduce((n, [, b]) => n + (b.dtype === 'float32' ? b.numel : 0), 0);
    const slab = new Float32Array(floats);
    let offset = 0;
    const floatView = (n: number) => slab.subarray(offset, (offset += n));
    this.tensors = [
      ...params.map(([name, p]) => ({ name, shape: [...p.shape], dtype: 'float32' as const, data: floatView(p.numel), isBuffer: false })),
      ...buffers.map(([name, b]) => ({
        name,
        shape: [...b.shape],
        dtype: b.dtype,
        data: b.dtype === 'float32' ? floatView(b.numel) : new Float64Array(b.numel),
        isBuffer: true,
      })),
    ];
    this.averagedSet = this.tensors.filter((t) => !t.isBuffer || updateBuffers);
    const copy = this.sources(model);
    this.tensors.forEach((t, i) => t.data.set(copy[i]));
  }

  /**
   * The averaging step for the floating tensors (MMEngine's `avg_func`): `averaged[i]` moves
   * toward `source[i]`; `steps` is the number of earlier `updateParameters` calls.
   */
  protected abstract average(averaged: Float32Array[], source: Float32Array[], steps: number): void;

  private gpu: CudaKernels | null = null;

  /** The averaging kernels: the CPU's, or a GPU's after `to('cuda')`. */
  protected get kernels(): Pick<Kernels, 'emaLerp' | 'swaAddDifference'> {
    return this.gpu ?? native;
  }

  /** Runs the averaging updates on `device` ('cpu', 'cuda' or 'cuda:N'); the averaged copy stays readable on the host. */
  to(device: string): this {
    const spec = parseDevice(device, `${this.typeName}.to`);
    this.gpu = spec.type === 'cuda' ? cudaKernels(spec.index) : null;
    return this;
  }

  /** The source tensor matching each of ours, by name, checked. */
  private sources(model: AveragedSource, tensors: readonly AveragedTensor[] = this.tensors): Array<Float32Array | Float64Array> {
    const params = new Map(model.namedParameters());
    const buffers = new Map(model.namedBuffers());
    return tensors.map((t) => {
      const src = t.isBuffer ? buffers.get(t.name) : params.get(t.name);
      if (!src) throw new AnvilError(`${this.typeName}: the model has no ${t.isBuffer ? 'buffer' : 'parameter'} '${t.name}'`);
      const dtype = 'dtype' in src ? src.dtype : 'float32';
      if (dtype !== t.dtype || src.data.length !== t.data.length) {
        throw new AnvilError(
          `${this.typeName}: '${t.name}' is ${dtype} with ${src.data.length} elements in the model, ${t.dtype} with ${t.data.length} in the average`,
        );
      }
      return src.data;
    });
  }

  /**
   * MMEngine's `update_parameters(model)`: the first call copies the model; later calls average
   * every `interval`-th time (floating tensors only); buffers are copied every call unless
   * `updateBuffers`. Then the step counter advances.
   */
  updateParameters(model: AveragedSource): void {
    const k = this.stepCount;
    if (k === 0) {
      const src = this.sources(model, this.averagedSet);
      this.averagedSet.forEach((t, i) => t.data.set(src[i]));
    } else if (k % this.interval === 0) {
      const floats = this.averagedSet.filter((t) => t.dtype === 'float32');
      const src = this.sources(model, floats) as Float32Array[];
      this.average(floats.map((t) => t.data as Float32Array), src, k);
    }
    if (!this.updateBuffers) {
      const buffers = this.tensors.filter((t) => t.isBuffer);
      const src = this.sources(model, buffers);
      buffers.forEach((t, i) => t.data.set(src[i]));
    }
    this.stepCount = k + 1;
  }

  /** MMEngine's `steps` buffer: calls of `updateParameters` so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** The averaged module's state dict: parameters, then buffers, in the model's order. */
  averagedTensors(): readonly AveragedTensor[] {
    return this.tensors;
  }

  /** MMEngine's `state_dict()` of the averaged model: `steps` and `module.<name>` copies. */
  stateDict(): Record<string, number | Float32Array | Float64Array> {
    const out: Record<string, number | Float32Array | Float64Array> = { steps: this.stepCount };
    for (const t of this.tensors) out[`module.${t.name}`] = t.data.slice();
    return out;
  }

  loadStateDict(state: Record<string, unknown>): void {
    const steps = state.steps;
    if (!Number.isInteger(steps) || (steps as number) < 0) throw new AnvilError(`${this.typeName}: state dict needs an integer 'steps'`);
    for (const t of this.tensors) {
      const v = state[`module.${t.name}`];
      if (!ArrayBuffer.isView(v) || (v as Float32Array).length !== t.data.length) {
        throw new AnvilError(`${this.typeName}: state dict needs 'module.${t.name}' with ${t.data.length} values`);
      }
    }
    for (const t of this.tensors) t.data.set(state[`module.${t.name}`] as Float32Array);
    this.stepCount = steps as number;
  }

  /** Averaged models are not trained: train the source model and call `updateParameters`. */
  forwardBackward(): Record<string, LossValue> {
    throw new AnvilError(`${this.typeName}: an averaged model is not trained; train the source model and call updateParameters(model)`);
  }

  /**
   * MMEngine's forward runs the averaged copy: here the source model predicts with the averaged
   * values swapped into its tensors for the call.
   */
  predict(batch: Batch): Output[] {
    const model = this.source;
    if (!(model instanceof BaseModel)) throw new AnvilError(`${this.typeName}: predict needs the source to be a model (BaseModel)`);
    const src = this.sources(model);
    const saved = src.map((s) => s.slice());
    src.forEach((s, i) => s.set(this.tensors[i].data));
    try {
      return (model as BaseModel<Batch, Output>).predict(batch);
    } finally {
      src.forEach((s, i) => s.set(saved[i]));
    }
  }
}

/** MMEngine's ExponentialMovingAverage: `averaged = (1 - momentum) * averaged + momentum * source` (torch `lerp_`). */
export class ExponentialMovingAverage<Batch = unknown, Output = unknown> extends BaseAveragedModel<Batch, Output> {
  readonly momentum: number;

  constructor(model: AveragedSource, options: AveragedModelOptions & { momentum?: number } = {}) {
    const { momentum = 0.0002, ...rest } = options;
    super(model, rest);
    if (typeof momentum !== 'number' || !(momentum > 0 && momentum < 1)) {
      throw new AnvilError(`${this.typeName}: momentum must be in range (0.0, 1.0) but got ${JSON.stringify(momentum)}`);
    }
    if (momentum > 0.5) {
      console.warn(
        `${this.typeName}: The value of momentum in EMA is usually a small number, which is different from the conventional notion of momentum but got ${momentum}. Please make sure the value is correct.`,
      );
    }
    this.momentum = momentum;
  }

  override get typeName(): string {
    return 'ExponentialMovingAverage';
  }

  /** The lerp weight at call `steps`. */
  protected weight(_steps: number): number {
    return this.momentum;
  }

  protected average(averaged: Float32Array[], source: Float32Array[], steps: number): void {
    nativeCall(this.typeName, () => this.kernels.emaLerp(averaged, source, this.weight(steps)));
  }
}

/** MMEngine's MomentumAnnealingEMA: momentum `max(momentum, gamma / (gamma + steps))`, large early, annealed. */
export class MomentumAnnealingEMA<Batch = unknown, Output = unknown> extends ExponentialMovingAverage<Batch, Output> {
  readonly gamma: number;

  constructor(model: AveragedSource, options: AveragedModelOptions & { momentum?: number; gamma?: number } = {}) {
    const { gamma = 100, ...rest } = options;
    super(model, rest);
    if (typeof gamma !== 'number' || !(gamma > 0)) throw new AnvilError(`${this.typeName}: gamma must be greater than 0, but got ${JSON.stringify(gamma)}`);
    this.gamma = gamma;
  }

  override get typeName(): string {
    return 'MomentumAnnealingEMA';
  }

  protected override weight(steps: number): number {
    return Math.max(this.momentum, this.gamma / (this.gamma + steps));
  }
}

/** MMEngine's StochasticWeightAverage: the running mean, `averaged += (source - averaged) / (steps // interval + 1)`. */
export class StochasticWeightAverage<Batch = unknown, Output = unknown> extends BaseAveragedModel<Batch, Output> {
  constructor(model: AveragedSource, options: AveragedModelOptions = {}) {
    super(model, options);
  }

  override get typeName(): string {
    return 'StochasticWeightAverage';
  }

  protected average(averaged: Float32Array[], source: Float32Array[], steps: number): void {
    const alpha = 1 / (Math.floor(steps / this.interval) + 1);
    nativeCall(this.typeName, () => this.kernels.swaAddDifference(averaged, source, alpha));
  }
}
