// The `optim_wrapper` case kind: a Linear model with a mean-squared-error loss trained through an
// OptimWrapper built from the case's config (accumulation, clipping), iteration by iteration.

import '../../optim';
import { buildOptimWrapper } from '../../optim/constructors';
import { Linear } from '../../nn/linear';
import type { ConformanceCase } from '../support';

interface TensorJson {
  shape: number[];
  data: number[];
}

interface OptimWrapperInput {
  model: { type: 'Linear'; in_features: number; out_features: number; weight: TensorJson; bias: TensorJson };
  optim_wrapper: Record<string, unknown>;
  max_iters: number;
  batches: Array<{ x: TensorJson; y: TensorJson }>;
}

const tensor = (shape: readonly number[], data: Float32Array): TensorJson => ({ shape: [...shape], data: Array.from(data) });

/** `mean((x W^T + b - y)^2)` forward and backward; the gradient is scaled by `gradScale`. Returns the loss. */
function mseStep(model: Linear, x: TensorJson, y: TensorJson, gradScale: number): number {
  const batch = x.shape[0];
  const out = model.forward(Float32Array.from(x.data), batch);
  const n = out.length;
  const diff = new Float32Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    diff[i] = out[i] - y.data[i];
    sum += diff[i] * diff[i];
  }
  const dy = new Float32Array(n);
  for (let i = 0; i < n; i++) dy[i] = ((2 * diff[i]) / n) * gradScale;
  model.backward(dy, batch, false);
  return Math.fround(sum / n);
}

export function runOptimWrapperCase(c: ConformanceCase): Record<string, unknown> {
  const input = c.input as unknown as OptimWrapperInput;
  const { in_features: inFeatures, out_features: outFeatures, weight, bias } = input.model;
  const model = new Linear({ inFeatures, outFeatures });
  model.weight.data.set(weight.data);
  model.bias!.data.set(bias.data);
  const wrapper = buildOptimWrapper(input.optim_wrapper, model);
  let gradNorm: number | null = null;
  wrapper.messageHub = { updateScalar: (key, value) => (key === 'train/grad_norm' ? (gradNorm = value) : undefined) };
  wrapper.initializeCountStatus(0, input.max_iters);
  const out = { weight: [] as TensorJson[], bias: [] as TensorJson[], grad_norm: [] as Array<number | null>, loss: [] as number[], updated: [] as boolean[] };
  for (let i = 0; i < input.max_iters; i++) {
    gradNorm = null;
    const { x, y } = input.batches[i];
    const loss = wrapper.optimContext(() => mseStep(model, x, y, wrapper.gradientScale()));
    wrapper.updateParams(loss);
    out.weight.push(tensor(model.weight.shape, model.weight.data));
    out.bias.push(tensor(model.bias!.shape, model.bias!.data));
    out.grad_norm.push(gradNorm);
    out.loss.push(loss);
    out.updated.push(wrapper.shouldUpdate());
  }
  return out;
}
