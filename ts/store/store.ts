// ParameterStore: the named parameters and buffers of one model, the unit that optimizers
// pack into buckets, checkpoints save and EMA averages.

import { AnvilError } from '../errors';
import { numel } from './bucket';
import type { Parameter } from './parameter';

/** A tensor the model keeps but does not train (BatchNorm statistics, counters). */
export class ModelBuffer {
  readonly numel: number;
  readonly data: Float32Array | Float64Array;

  /** `int64` buffers are stored as exact integers in a Float64Array (|n| < 2^53). */
  constructor(
    readonly shape: readonly number[],
    readonly dtype: 'float32' | 'int64' = 'float32',
  ) {
    this.numel = numel(shape);
    this.data = dtype === 'float32' ? new Float32Array(this.numel) : new Float64Array(this.numel);
  }
}

export class ParameterStore {
  private readonly params = new Map<string, Parameter>();
  private readonly buffers = new Map<string, ModelBuffer>();

  constructor(params: Iterable<[string, Parameter]>, buffers: Iterable<[string, ModelBuffer]> = []) {
    for (const [name, p] of params) {
      if (this.params.has(name)) throw new AnvilError(`ParameterStore: duplicate parameter name '${name}'`);
      this.params.set(name, p);
    }
    for (const [name, b] of buffers) this.buffers.set(name, b);
  }

  parameter(name: string): Parameter {
    const p = this.params.get(name);
    if (!p) throw new AnvilError(`ParameterStore: no parameter named '${name}'`);
    return p;
  }

  namedParameters(): [string, Parameter][] {
    return [...this.params];
  }

  namedBuffers(): [string, ModelBuffer][] {
    return [...this.buffers];
  }

  /** Total trained elements. */
  get numel(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.numel;
    return n;
  }
}
