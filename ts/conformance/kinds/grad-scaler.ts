// The `grad_scaler` case kind: the case's optimizer (from OPTIMIZERS) under a GradScaler; per
// step the scaled gradients are set, then `scaler.step(optimizer)` and `scaler.update()`.

import '../../optim';
import { GradScaler } from '../../optim/grad-scaler';
import type { Optimizer } from '../../optim/optimizer';
import { OPTIMIZERS } from '../../registry';
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

export function runGradScalerCase(c: ConformanceCase, ctx: { device: string } = { device: 'cpu' }): { scale: number[]; skipped: boolean[]; params: TensorJson[][]; growth_tracker: number } {
  const input = c.input as {
    scaler: Record<string, unknown>;
    optimizer: Record<string, unknown>;
    params: TensorJson[];
    scaled_grads: Array<Array<TensorJson | null>>;
  };
  const params = input.params.map((t) => new Parameter(t.shape, { data: floats(t.data) }));
  const optimizer = OPTIMIZERS.build<Optimizer>({ ...input.optimizer, params }, 'optimizer').to(ctx.device);
  const scaler = new GradScaler(input.scaler);
  const out = { scale: [] as number[], skipped: [] as boolean[], params: [] as TensorJson[][] };
  for (const grads of input.scaled_grads) {
    params.forEach((p, i) => p.setGrad(grads[i] ? floats(grads[i].data) : null));
    out.skipped.push(scaler.step(optimizer).skipped);
    scaler.update();
    out.scale.push(scaler.getScale());
    out.params.push(params.map((p) => ({ shape: [...p.shape], data: Array.from(p.data) })));
  }
  return { ...out, growth_tracker: scaler.getGrowthTracker() };
}
