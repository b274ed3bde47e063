// BatchNorm1d / BatchNorm2d (torch.nn.BatchNorm*): weight/bias, the running_mean / running_var /
// num_batches_tracked buffers with torch's initial values, and forward/backward in Rust (train/eval).

import { AnvilError } from '../errors';
import { native } from '../native';
import type { NormShape } from '../../native/index';
import { Parameter } from '../store/parameter';
import { ModelBuffer } from '../store/store';
import { Layer, type Tensor, Workspace } from './tensor';

export interface BatchNormOptions {
  numFeatures: number;
  eps?: number;
  /** null: a cumulative moving average of the statistics. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/** torch's `_BatchNorm`: everything but the accepted input ranks. */
export abstract class BatchNormBase extends Layer {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Parameter | null = null;
  readonly bias: Parameter | null = null;
  readonly runningMean: ModelBuffer | null = null;
  readonly runningVar: ModelBuffer | null = null;
  readonly numBatchesTracked: ModelBuffer | null = null;
  private input: Tensor | null = null;
  private usedBatchStats = true;
  private norm: NormShape | null = null;
  private readonly output = new Workspace();
  private readonly inputGrad = new Workspace();
  private readonly saveMean: Float32Array;
  private readonly saveInvstd: Float32Array;

  constructor(options: BatchNormOptions) {
    super();
    const { numFeatures, eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true } = options;
    if (!(Number.isInteger(numFeatures) && numFeatures > 0)) {
      throw new AnvilError(`${this.typeName}: num_features must be a positive integer, got ${JSON.stringify(numFeatures)}`);
    }
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    if (affine) {
      this.weight = this.registerParameter('weight', new Parameter([numFeatures], { data: new Float32Array(numFeatures).fill(1) }));
      this.bias = this.registerParameter('bias', new Parameter([numFeatures]));
    }
    if (trackRunningStats) {
      this.runningMean = this.registerBuffer('running_mean', new ModelBuffer([numFeatures]));
      this.runningVar = this.registerBuffer('running_var', new ModelBuffer([numFeatures]));
      this.runningVar.data.fill(1);
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', new ModelBuffer([], 'int64'));
    }
    this.saveMean = new Float32Array(numFeatures);
    this.saveInvstd = new Float32Array(numFeatures);
  }

  override attrs(): Record<string, unknown> {
    return {
      num_features: this.numFeatures,
      eps: this.eps,
      momentum: this.momentum,
      affine: this.affine,
      track_running_stats: this.trackRunningStats,
    };
  }

  /** Input ranks torch accepts for this class. */
  protected abstract readonly ranks: number[];

  forward(x: Tensor): Tensor {
    this.expectRank(x, ...this.ranks);
    const [n, c] = x.shape;
    if (c !== this.numFeatures) throw new AnvilError(`${this.typeName}: input has ${c} channels, num_features is ${this.numFeatures}`);
    const shape: NormShape = { batch: n, channels: c, spatial: x.shape.slice(2).reduce((a, b) => a * b, 1), eps: this.eps };
    const y = this.output.get(x.data.length);
    const w = this.weight?.data ?? null;
    const b = this.bias?.data ?? null;
    // torch: batch statistics in training, and always when no running estimates are kept.
    this.usedBatchStats = this.training || !this.trackRunningStats;
    if (this.usedBatchStats) {
      const update = this.training && this.trackRunningStats;
      let factor = 0;
      if (update) {
        const counter = this.numBatchesTracked!.data;
        counter[0] += 1;
        factor = this.momentum ?? 1 / counter[0];
      }
      native.batchNormForwardTrain(shape, x.data, w, b, update ? (this.runningMean!.data as Float32Array) : null,
        update ? (this.runningVar!.data as Float32Array) : null, factor, y, this.saveMean, this.saveInvstd);
    } else {
      const rm = this.runningMean!.data as Float32Array;
      const rv = this.runningVar!.data as Float32Array;
      native.batchNormForwardEval(shape, x.data, w, b, rm, rv, y);
      this.saveMean.set(rm);
      for (let i = 0; i < rv.length; i++) this.saveInvstd[i] = 1 / Math.sqrt(rv[i] + this.eps);
    }
    this.input = x;
    this.norm = shape;
    return { data: y, shape: x.shape };
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.saved(this.input);
    const dx = needInputGrad ? this.inputGrad.get(x.data.length) : null;
    native.batchNormBackward(this.saved(this.norm), this.usedBatchStats, x.data, dy.data, this.weight?.data ?? null,
      this.saveMean, this.saveInvstd, this.weight?.accumulateGrad() ?? null, this.bias?.accumulateGrad() ?? null, dx);
    this.weight?.gradReady();
    this.bias?.gradReady();
    return dx && { data: dx, shape: x.shape };
  }
}

/** torch.nn.BatchNorm1d: input [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];

  override get typeName(): string {
    return 'BatchNorm1d';
  }
}

/** torch.nn.BatchNorm2d: input [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];

  override get typeName(): string {
    return 'BatchNorm2d';
  }
}
