// The `ema` case kind: the case's module tree (Linear, BatchNorm1d) as the source model, the
// averaged model built from MODELS; per step the source state is set, then `updateParameters`.

import '../../ema';
import type { BaseAveragedModel } from '../../ema';
import { AnvilError } from '../../errors';
import { BaseModel } from '../../models/base-model';
import { BatchNorm1d } from '../../nn/batchnorm';
import { Linear } from '../../nn/linear';
import type { Module } from '../../nn/module';
import { MODELS } from '../../registry';
import { Rng } from '../../util/rng';
import type { ConformanceCase } from '../support';

interface TensorJson {
  shape: number[];
  data: number[];
  dtype?: string;
}

/** The case's modules under their names; it only ever holds state, so it neither trains nor predicts. */
class CaseModel extends BaseModel {
  constructor(modules: Array<{ name: string; type: string; attrs?: Record<string, number> }>) {
    super();
    for (const m of modules) this.addModule(m.name, CaseModel.build(m.type, m.attrs ?? {}));
  }

  private static build(type: string, a: Record<string, number>): Module {
    // A fixed generator: building the case must not move the global random stream.
    if (type === 'Linear') return new Linear({ inFeatures: a.in_features, outFeatures: a.out_features, rng: new Rng(0) });
    if (type === 'BatchNorm1d') return new BatchNorm1d({ numFeatures: a.num_features });
    throw new AnvilError(`ema case: module type '${type}' is not supported`);
  }

  forwardBackward(): never {
    throw new AnvilError('ema case: the model is not trained');
  }

  predict(): never {
    throw new AnvilError('ema case: the model does not predict');
  }
}

export function runEmaCase(c: ConformanceCase, ctx: { device: string } = { device: 'cpu' }): { averaged: Array<Record<string, TensorJson>>; steps: number[] } {
  const input = c.input as {
    ema: Record<string, unknown>;
    model: { modules: Array<{ name: string; type: string; attrs?: Record<string, number> }> };
    params: Array<Record<string, TensorJson>>;
  };
  const model = new CaseModel(input.model.modules);
  const targets = new Map<string, Float32Array | Float64Array>([
    ...model.namedParameters().map(([n, p]) => [n, p.data] as const),
    ...model.namedBuffers().map(([n, b]) => [n, b.data] as const),
  ]);
  const ema = MODELS.build<BaseAveragedModel>(input.ema, 'ema', { model }).to(ctx.device);
  const out = { averaged: [] as Array<Record<string, TensorJson>>, steps: [] as number[] };
  for (const state of input.params) {
    for (const [name, t] of Object.entries(state)) {
      const target = targets.get(name);
      if (!target) throw new AnvilError(`ema case: the model has no tensor '${name}'`);
      target.set(t.data);
    }
    ema.updateParameters(model);
    out.averaged.push(
      Object.fromEntries(
        ema.averagedTensors().map((t) => [t.name, { shape: [...t.shape], data: Array.from(t.data), ...(t.dtype === 'int64' ? { dtype: 'int64' } : {}) }]),
      ),
    );
    out.steps.push(ema.steps);
  }
  return out;
}
