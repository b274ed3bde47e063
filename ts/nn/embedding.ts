// Embedding (torch.nn.Embedding): a lookup table [num_embeddings, embedding_dim] initialised
// N(0, 1) from the seeded generator; the padding_idx row starts at zero and gets no gradient.

import { AnvilError } from '../errors';
import { native } from '../native';
import { Parameter } from '../store/parameter';
import { globalRng } from '../util/random';
import type { Rng } from '../util/rng';
import { normal_ } from './init';
import { Layer, type Tensor, Workspace } from './tensor';

export interface EmbeddingOptions {
  numEmbeddings: number;
  embeddingDim: number;
  paddingIdx?: number | null;
  rng?: Rng;
}

export class Embedding extends Layer {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  readonly weight: Parameter;
  private indices: Uint32Array | null = null;
  private indexBuffer = new Uint32Array(0);
  private readonly output = new Workspace();

  constructor(options: EmbeddingOptions) {
    super();
    const { numEmbeddings, embeddingDim } = options;
    if (!(Number.isInteger(numEmbeddings) && numEmbeddings > 0 && Number.isInteger(embeddingDim) && embeddingDim > 0)) {
      throw new AnvilError(`Embedding: num_embeddings and embedding_dim must be positive integers, got ${numEmbeddings} and ${embeddingDim}`);
    }
    let pad = options.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad >= numEmbeddings || pad < -numEmbeddings) throw new AnvilError('Embedding: padding_idx must be within num_embeddings');
      if (pad < 0) pad += numEmbeddings;
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = pad;
    this.weight = this.registerParameter('weight', new Parameter([numEmbeddings, embeddingDim]));
    normal_(this.weight, 0, 1, options.rng ?? globalRng());
    if (pad !== null) this.weight.data.fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
  }

  override get typeName(): string {
    return 'Embedding';
  }

  override attrs(): Record<string, unknown> {
    return { num_embeddings: this.numEmbeddings, embedding_dim: this.embeddingDim, padding_idx: this.paddingIdx };
  }

  /** Looks up integer `indices` of any `shape`; returns [...shape, embedding_dim]. */
  lookup(indices: Uint32Array, shape: readonly number[] = [indices.length]): Tensor {
    const y = this.output.get(indices.length * this.embeddingDim);
    native.embeddingForward(indices, this.weight.data, this.numEmbeddings, this.embeddingDim, y);
    this.indices = indices;
    return { data: y, shape: [...shape, this.embeddingDim] };
  }

  /** A float tensor of exact integer indices (what Sequential passes along). */
  forward(x: Tensor): Tensor {
    if (this.indexBuffer.length !== x.data.length) this.indexBuffer = new Uint32Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      const v = x.data[i];
      if (!(Number.isInteger(v) && v >= 0)) throw new AnvilError(`Embedding: index ${v} is not a non-negative integer`);
      this.indexBuffer[i] = v;
    }
    return this.lookup(this.indexBuffer, x.shape);
  }

  /** Scatters `dy` into the weight gradient; indices have no gradient (returns null). */
  backward(dy: Tensor): null {
    const idx = this.saved(this.indices);
    native.embeddingBackward(idx, dy.data, this.numEmbeddings, this.embeddingDim, this.paddingIdx, this.weight.accumulateGrad());
    this.weight.gradReady();
    return null;
  }
}
