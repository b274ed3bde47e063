// PyTorch's default initialisations, drawn from a seeded generator.

import type { Parameter } from '../store/parameter';
import type { Rng } from '../util/rng';

/** U(-bound, bound) in place. */
export function uniform(p: Parameter, bound: number, rng: Rng): void {
  const d = p.data;
  for (let i = 0; i < d.length; i++) d[i] = rng.uniform(-bound, bound);
}

/**
 * torch.nn.Linear/Conv default: kaiming_uniform_(a=sqrt(5)) on the weight, which is
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
 */
export function torchDefaultInit(weight: Parameter, bias: Parameter | null, fanIn: number, rng: Rng): void {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  uniform(weight, bound, rng);
  if (bias) uniform(bias, bound, rng);
}

/** N(mean, std^2) in place (Box-Muller on the seeded generator), torch.nn.init.normal_. */
export function normal_(p: Parameter, mean: number, std: number, rng: Rng): void {
  const d = p.data;
  for (let i = 0; i < d.length; i += 2) {
    const u = 1 - rng.next(); // (0, 1]: log is finite
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    const t = 2 * Math.PI * rng.next();
    d[i] = mean + r * Math.cos(t);
    if (i + 1 < d.length) d[i + 1] = mean + r * Math.sin(t);
  }
}
