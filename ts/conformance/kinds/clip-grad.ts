// The `clip_grad` case kind: the case's gradients on Parameters (a null one has none, as torch's
// `grad is None`) clipped through the clip_grad dict as MMEngine's OptimWrapper reads it, so every
// argument of clip_grad_norm_ / clip_grad_value_ (error_if_nonfinite, foreach) is honoured.
// Reports the total norm (null for value clipping) and the clipped gradients.

import { parseClipGrad } from '../../optim/clip-grad-config';
import { Parameter } from '../../store/parameter';
import type { ConformanceCase } from '../support';

interface TensorJson {
  shape: number[];
  data: Array<number | string>;
}

const NON_FINITE: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN };

function floats(data: ReadonlyArray<number | string>): number[] {
  return data.map((x) => (typeof x === 'string' ? (NON_FINITE[x] ?? Number(x)) : x));
}

export function runClipGradCase(c: ConformanceCase, ctx: { device: string } = { device: 'cpu' }): { total_norm: number | null; grads: Array<TensorJson | null> } {
  const input = c.input as { grads: Array<TensorJson | null>; clip_grad: Record<string, unknown> };
  const clipper = parseClipGrad(input.clip_grad, 'clip_grad');
  const params = input.grads.map((t) => {
    const p = new Parameter(t ? t.shape : [0]);
    p.setGrad(t ? floats(t.data) : null);
    return p;
  });
  const total = clipper.clip(params, ctx.device);
  return { total_norm: total, grads: input.grads.map((t, i) => (t ? { shape: [...t.shape], data: Array.from(params[i].grad) } : null)) };
}
