// Dropout (torch.nn.Dropout): in training each element is kept with probability 1 - p and scaled
// by 1/(1 - p), the mask drawn in Rust from a seed taken from the seeded global generator.

import { AnvilError } from '../errors';
import { native } from '../native';
import { globalRng } from '../util/random';
import type { Rng } from '../util/rng';
import { Layer, type Tensor, Workspace } from './tensor';

export interface DropoutOptions {
  p?: number;
  inplace?: boolean;
  /** Seeds for the masks; defaults to the global generator (`randomness.seed`). */
  rng?: Rng;
}

export class Dropout extends Layer {
  readonly p: number;
  readonly inplace: boolean;
  private readonly rng: Rng | undefined;
  private masked = false;
  private readonly mask = new Workspace();
  private readonly output = new Workspace();

  constructor(options: DropoutOptions = {}) {
    super();
    const p = options.p ?? 0.5;
    if (!(p >= 0 && p <= 1)) throw new AnvilError(`Dropout: probability has to be between 0 and 1, but got ${p}`);
    this.p = p;
    this.inplace = options.inplace ?? false;
    this.rng = options.rng;
  }

  override get typeName(): string {
    return 'Dropout';
  }

  override attrs(): Record<string, unknown> {
    return { p: this.p, inplace: this.inplace };
  }

  forward(x: Tensor): Tensor {
    this.masked = this.training && this.p > 0;
    if (!this.masked) return x;
    const y = this.inplace ? x.data : this.output.get(x.data.length);
    const seed = (this.rng ?? globalRng()).nextU32();
    const mask = this.mask.get(x.data.length);
    if (this.inplace) {
      // The kernel writes y from x: copy first so the two views do not alias.
      const tmp = this.output.get(x.data.length);
      tmp.set(x.data);
      native.dropoutForward(tmp, this.p, seed, mask, y);
    } else {
      native.dropoutForward(x.data, this.p, seed, mask, y);
    }
    return { data: y, shape: x.shape };
  }

  backward(dy: Tensor): Tensor {
    if (this.masked) native.dropoutBackward(this.mask.get(dy.data.length), dy.data);
    return dy;
  }
}
