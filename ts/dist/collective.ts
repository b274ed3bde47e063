// A process group as TypeScript sees it: the collectives of crates/anvil-dist (MPI or NCCL) on
// typed arrays, in place, plus the variable-length byte gather that evaluation results need.

import { AnvilError } from '../errors';
import type * as Native from '../../native/index';

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';
export type Backend = 'mpi' | 'nccl';

/** Every method is a collective: all ranks call it in the same order with same-length arrays. */
export interface Collective {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  /** Reduces element-wise over all ranks, in place (mean: the sum divided by the world size). */
  allReduce(data: Float32Array | Float64Array, op?: ReduceOp): void;
  /** Every rank ends with `root`'s values, in place. */
  broadcast(data: Float32Array | Float64Array | Uint8Array, root?: number): void;
  /** Every rank's bytes, in rank order (lengths may differ between ranks). */
  allGatherBytes(data: Uint8Array): Uint8Array[];
  barrier(): void;
  /** Leaves the group after a barrier; a peer exiting afterwards is no longer a failure. */
  finalize(): void;
}

/** The dist functions of the addon (the default one for NCCL, the MPI build for MPI). */
export type DistNative = Pick<
  typeof Native,
  | 'distInit'
  | 'distFinalize'
  | 'distAllReduceF32'
  | 'distAllReduceF64'
  | 'distBroadcastF32'
  | 'distBroadcastF64'
  | 'distBroadcastBytes'
  | 'distAllGatherBytes'
  | 'distAllGatherF64'
  | 'distBarrier'
>;

export class NativeCollective implements Collective {
  constructor(
    private readonly lib: DistNative,
    readonly rank: number,
    readonly worldSize: number,
    readonly backend: Backend,
  ) {}

  allReduce(data: Float32Array | Float64Array, op: ReduceOp = 'sum'): void {
    if (data instanceof Float32Array) this.lib.distAllReduceF32(data, op);
    else if (data instanceof Float64Array) this.lib.distAllReduceF64(data, op);
    else throw new AnvilError('allReduce: expected a Float32Array or Float64Array');
  }

  broadcast(data: Float32Array | Float64Array | Uint8Array, root = 0): void {
    if (data instanceof Float32Array) this.lib.distBroadcastF32(data, root);
    else if (data instanceof Float64Array) this.lib.distBroadcastF64(data, root);
    else if (data instanceof Uint8Array) this.lib.distBroadcastBytes(data, root);
    else throw new AnvilError('broadcast: expected a Float32Array, Float64Array or Uint8Array');
  }

  allGatherBytes(data: Uint8Array): Uint8Array[] {
    return gatherBytes(this.worldSize, data, (x) => this.lib.distAllGatherF64(x), (x) => this.lib.distAllGatherBytes(x));
  }

  barrier(): void {
    this.lib.distBarrier();
  }

  finalize(): void {
    this.lib.distFinalize();
  }
}

/** Variable-length gather over fixed-length collectives: the lengths first, then padded bytes. */
export function gatherBytes(
  worldSize: number,
  data: Uint8Array,
  gatherF64: (x: Float64Array) => Float64Array,
  gatherFixed: (x: Uint8Array) => Uint8Array,
): Uint8Array[] {
  const lengths = gatherF64(Float64Array.of(data.length));
  const max = Math.max(...lengths);
  const padded = new Uint8Array(max);
  padded.set(data);
  const all = gatherFixed(padded);
  return Array.from({ length: worldSize }, (_, r) => all.slice(r * max, r * max + lengths[r]));
}
