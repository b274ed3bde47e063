// The `optimizer` case kind: builds the optimizer from OPTIMIZERS over fresh Parameters, steps
// it with the case's gradients, and reports params per step and the final state as the case writes them.

import '../../optim';
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

function tensor(shape: readonly number[], data: Float32Array): TensorJson {
  return { shape: [...shape], data: Array.from(data) };
}

export function runOptimizerCase(c: ConformanceCase, ctx: { device: string } = { device: 'cpu' }): { params: TensorJson[][]; state: Record<string, unknown> } {
  const input = c.input as { optimizer: Record<string, unknown>; params: TensorJson[]; grads: Array<Array<TensorJson | null>> };
  const params = input.params.map((t) => new Parameter(t.shape, { data: floats(t.data) }));
  const optimizer = OPTIMIZERS.build<Optimizer>({ ...input.optimizer, params }, 'optimizer').to(ctx.device);
  const history = input.grads.map((grads) => {
    params.forEach((p, i) => p.setGrad(grads[i] ? floats(grads[i].data) : null));
    optimizer.step();
    return params.map((p) => tensor(p.shape, p.data));
  });
  const state: Record<string, unknown> = {};
  for (const [index, entry] of Object.entries(optimizer.stateDict().state)) {
    const shape = params[Number(index)].shape;
    state[index] = Object.fromEntries(
      Object.entries(entry).map(([k, v]) => [k, typeof v === 'number' ? v : shape.length === 0 ? v[0] : tensor(shape, v)]),
    );
  }
  return { params: history, state };
}
