// One rank of a simulated world of two, for tests of the distributed pieces without processes:
// the other rank's side of each collective comes from `peer`, so reductions are computed for real.

import type { DistContext, PendingReduce, ReduceOp } from '../../ts/dist';

type Data = Float32Array | Float64Array | Uint8Array;

/** The other rank's data for a collective on `data` (called once per collective, in issue order). */
export type Peer = (data: Data) => Data;

export class SimulatedGroup implements DistContext {
  readonly worldSize = 2;
  readonly backend = 'mpi' as const;
  readonly launcher = 'test' as const;
  readonly localRank: number;
  /** `allReduce:<op>:<length>`, `start:<op>:<length>`, `broadcast:<length>`, `allGatherBytes`. */
  readonly calls: string[] = [];
  /** Called as each started all-reduce starts (tests look at the model's state at that moment). */
  onStart: ((data: Float32Array) => void) | null = null;

  constructor(
    private readonly peer: Peer,
    readonly rank = 0,
  ) {
    this.localRank = rank;
  }

  allReduce(data: Float32Array | Float64Array, op: ReduceOp = 'sum'): void {
    this.calls.push(`allReduce:${op}:${data.length}`);
    combine(data, this.peer(data), op);
  }

  /** The peer's data is taken in issue order; the result lands at wait. */
  allReduceStart(data: Float32Array, op: ReduceOp = 'sum'): PendingReduce {
    this.calls.push(`start:${op}:${data.length}`);
    this.onStart?.(data);
    const other = this.peer(data);
    let done = false;
    return { wait: () => (done ? undefined : ((done = true), combine(data, other, op))) };
  }

  broadcast(data: Data): void {
    this.calls.push(`broadcast:${data.length}`);
  }

  allGatherBytes(data: Uint8Array): Uint8Array[] {
    this.calls.push('allGatherBytes');
    const other = this.peer(data) as Uint8Array;
    return this.rank === 0 ? [data, other] : [other, data];
  }

  barrier(): void {}
  finalize(): void {}
}

/** A peer that answers from a queue of arrays, one per collective. */
export const queuedPeer = (queue: Data[]): Peer => () => queue.shift()!;

function combine(data: Float32Array | Float64Array, other: Data, op: ReduceOp): void {
  for (let i = 0; i < data.length; i++) {
    const [a, b] = [data[i], other[i]];
    data[i] = op === 'max' ? Math.max(a, b) : op === 'min' ? Math.min(a, b) : op === 'sum' ? a + b : (a + b) / 2;
  }
}
