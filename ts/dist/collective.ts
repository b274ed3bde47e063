// A process group as TypeScript sees it: the collectives of crates/anvil-dist (MPI or NCCL) on
// typed arrays, in place, plus the variable-length byte gather that evaluation results need.

import { AnvilError } from '../errors';
import type * as Native from '../../native/index';

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';
export type Backend = 'mpi' | 'nccl';

/** A started all-reduce: `data` must not be read or written until `wait()` returns. */
export interface PendingReduce {
  /** Blocks until the reduction is done (throws its error); later calls do nothing. */
  wait(): void;
}

/** Every method is a collective: all ranks call it in the same order with same-length arrays. */
export interface Collective {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  /** Reduces element-wise over all ranks, in place (mean: the sum divided by the world size). */
  allReduce(data: Float32Array | Float64Array, op?: ReduceOp): void;
  /**
   * Starts an in-place all-reduce of `data` (a subarray view is fine) and returns at once; it runs
   * after every collective issued before it, on the communication thread, while the caller goes on.
   */
  allReduceStart(data: Float32Array, op?: ReduceOp): PendingReduce;
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
  | 'distAllReduceStartF32'
  | 'distWait'
  | 'distBroadcastF32'
  | 'distBroadcastF64'
  | 'distBroadcastBytes'
  | 'distAllGatherBytes'
  | 'distAllGatherF64'
  | 'distBarrier'
>;

export class NativeCollective implements Collective {
  /**
   * The arrays of started all-reduces, by ticket: the communication thread works on their memory
   * until waited (or finalize ran them), so they must not be collected even if the PendingReduce is.
   */
  private readonly inFlight = new Map<number, Float32Array>();

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

  allReduceStart(data: Float32Array, op: ReduceOp = 'sum'): PendingReduce {
    if (!(data instanceof Float32Array)) throw new AnvilError('allReduceStart: expected a Float32Array');
    const ticket = this.lib.distAllReduceStartF32(data, op);
    this.inFlight.set(ticket, data);
    let done = false;
    return {
      wait: () => {
        if (done) return;
        done = true;
        try {
          this.lib.distWait(ticket);
        } finally {
          this.inFlight.delete(ticket);
        }
      },
    };
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
    try {
      this.lib.distFinalize();
    } finally {
      this.inFlight.clear();
    }
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
