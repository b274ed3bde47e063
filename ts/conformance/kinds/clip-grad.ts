// The `clip_grad` case kind: gradients as float32 arrays through clipGradNorm / clipGradValue,
// reporting the total norm (null for value clipping) and the clipped gradients.

import { clipGradNorm, clipGradValue, type NormType } from '../../optim/clip-grad';
import type { ConformanceCase } from '../support';

interface TensorJson {
  shape: number[];
  data: Array<number | string>;
}

const NON_FINITE: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN };

function floats(data: ReadonlyArray<number | string>): Float32Array {
  return Float32Array.from(data, (x) => (typeof x === 'string' ? (NON_FINITE[x] ?? Number(x)) : x));
}

export function runClipGradCase(c: ConformanceCase, ctx: { device: string } = { device: 'cpu' }): { total_norm: number | null; grads: TensorJson[] } {
  const input = c.input as { grads: TensorJson[]; clip_grad: Record<string, unknown> };
  const grads = input.grads.map((t) => floats(t.data));
  const cfg = input.clip_grad;
  let total: number | null = null;
  if (cfg.type === 'value') {
    clipGradValue(grads, cfg.clip_value as number, { device: ctx.device });
  } else {
    total = clipGradNorm(grads, cfg.max_norm as number, (cfg.norm_type ?? 2) as NormType, { device: ctx.device });
  }
  return { total_norm: total, grads: input.grads.map((t, i) => ({ shape: [...t.shape], data: Array.from(grads[i]) })) };
}
