// TfjsModel: a TensorFlow.js model (loss and `tf.variableGrads`) behind Anvil's model contract, its
// variables mirrored as store Parameters so Anvil's optimizers, clipping, scaler and hooks apply.

import { AnvilError } from '../errors';
import { BaseModel } from '../models/base-model';
import { Parameter } from '../store/parameter';

/** The slice of a tf.Tensor this adapter uses. */
export interface TfTensorLike {
  readonly shape: number[];
  dataSync(): ArrayLike<number>;
  dispose(): void;
}

/** The slice of a tf.Variable this adapter uses. */
export interface TfVariableLike extends TfTensorLike {
  /** tf's variable name: `variableGrads` keys its gradients by it. */
  readonly name: string;
  assign(value: TfTensorLike): void;
  readonly trainable?: boolean;
}

/** The slice of the tfjs module this adapter uses (`import * as tf from '@tensorflow/tfjs'`), passed in so Anvil does not depend on tfjs. */
export interface TfLike {
  tensor(values: Float32Array, shape: number[], dtype?: 'float32'): TfTensorLike;
  variableGrads(f: () => TfTensorLike, varList?: TfVariableLike[]): { value: TfTensorLike; grads: Record<string, TfTensorLike> };
  tidy<T>(fn: () => T): T;
}

export interface TfjsModelOptions<Batch, Output> {
  tf: TfLike;
  /** The trainable variables by name (their names become Anvil parameter names). */
  variables: Record<string, TfVariableLike>;
  /** Forward and loss on one batch, as a tf scalar (run inside variableGrads). */
  loss: (batch: Batch) => TfTensorLike;
  /** Inference on one batch (the variables hold Anvil's current values when it runs). */
  predict?: (batch: Batch) => Output[];
  /** torch-style type name the model describes itself with. */
  typeName?: string;
}

/**
 * The contract for any engine that hands over float32 gradients: parameters live in Anvil's store;
 * before each forward the engine's copies are refreshed from them; `forwardBackward` adds
 * `gradScale * dloss/dparam` into `param.accumulateGrad()` and returns the named losses.
 */
export class TfjsModel<Batch = unknown, Output = unknown> extends BaseModel<Batch, Output> {
  private readonly tf: TfLike;
  private readonly vars: Array<{ name: string; variable: TfVariableLike; param: Parameter }>;
  private readonly lossFn: (batch: Batch) => TfTensorLike;
  private readonly predictFn?: (batch: Batch) => Output[];
  private readonly type: string;

  constructor(options: TfjsModelOptions<Batch, Output>) {
    super();
    this.tf = options.tf;
    this.lossFn = options.loss;
    this.predictFn = options.predict;
    this.type = options.typeName ?? 'TfjsModel';
    this.vars = Object.entries(options.variables).map(([name, variable]) => {
      const param = new Parameter(variable.shape, { data: variable.dataSync(), requiresGrad: variable.trainable !== false });
      this.registerParameter(name.replace(/[^A-Za-z0-9_]/g, '_'), param);
      return { name, variable, param };
    });
    if (!this.vars.length) throw new AnvilError('TfjsModel: no variables given');
  }

  override get typeName(): string {
    return this.type;
  }

  /** Copies Anvil's parameter values into the tf variables (after optimizer steps). */
  syncToEngine(): void {
    for (const { variable, param } of this.vars) {
      const t = this.tf.tensor(param.data, [...param.shape], 'float32');
      variable.assign(t);
      t.dispose();
    }
  }

  forwardBackward(batch: Batch, gradScale: number): Record<string, number> {
    this.syncToEngine();
    const trained = this.vars.filter((v) => v.param.requiresGrad);
    const { value, grads } = this.tf.variableGrads(() => this.lossFn(batch), trained.map((v) => v.variable));
    try {
      for (const { name, variable, param } of trained) {
        const g = grads[variable.name];
        if (!g) throw new AnvilError(`TfjsModel: tf returned no gradient for '${name}' (tf name '${variable.name}')`);
        const src = g.dataSync();
        if (src.length !== param.numel) throw new AnvilError(`TfjsModel: gradient of '${name}' holds ${src.length} values, the variable ${param.numel}`);
        const dst = param.accumulateGrad();
        for (let k = 0; k < dst.length; k++) dst[k] += gradScale * src[k];
      }
      return { loss: value.dataSync()[0] };
    } finally {
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
    }
  }

  predict(batch: Batch): Output[] {
    if (!this.predictFn) throw new AnvilError('TfjsModel: no predict function was given');
    this.syncToEngine();
    return this.predictFn(batch);
  }
}
