// DDP's gradient reducer for models without autograd. Layers say when a parameter's gradient is
// final (`Parameter.gradReady`); the sync packs tensors into communication buckets in the order
// their gradients become final and starts each bucket's all-reduce as soon as all of its tensors
// are ready, so communication overlaps the rest of backward. Before clipping and the step,
// `finish` reduces whatever is left and waits for all of it.
//
// The bucket layout is learned in the first synced backward (reduced at the end, as without
// overlap): which tensors are marked ready, how often (a shared parameter once per use) and in
// what order. Rank 0's layout is broadcast, and buckets start strictly in layout order, so every
// rank issues the same collectives in the same order whatever its backward does.

import { AnvilError } from '../errors';
import type { Bucket } from '../store/bucket';
import type { Collective, PendingReduce } from './collective';
import { agreeOnFlags, allReduceGradients, reduceBucket } from './data-parallel';

/** `model_wrapper_cfg` options of MMDistributedDataParallel that shape the reducer. */
export interface GradSyncOptions {
  /** DDP's `bucket_cap_mb`: the most MiB one all-reduce carries (default 25). */
  bucketCapMb?: number;
  /** Start all-reduces while backward still runs (default true); false reduces everything at the end. */
  overlap?: boolean;
}

/** Checks the options (config keys in the messages) and fills MMDistributedDataParallel's defaults. */
export function gradSyncOptions(options: GradSyncOptions): Required<GradSyncOptions> {
  const { bucketCapMb = 25, overlap = true } = options;
  if (typeof bucketCapMb !== 'number' || !(bucketCapMb > 0) || !Number.isFinite(bucketCapMb)) {
    throw new AnvilError(`model_wrapper_cfg.bucket_cap_mb must be a positive number of MiB, got ${JSON.stringify(bucketCapMb)}`);
  }
  if (typeof overlap !== 'boolean') throw new AnvilError(`model_wrapper_cfg.overlap_grad_reduce must be True or False, got ${JSON.stringify(overlap)}`);
  return { bucketCapMb, overlap };
}

/** DDP starts with a small bucket so the first all-reduce begins early (its `_DEFAULT_FIRST_BUCKET_BYTES`). */
const FIRST_BUCKET_BYTES = 1024 * 1024;

/** Tensors `lo..hi-1` of one float32 store bucket, reduced by one collective. */
interface CommBucket {
  readonly bucket: Bucket;
  lo: number;
  hi: number;
}

interface Layout {
  readonly comms: CommBucket[];
  /** Runs of float32 tensors outside every comm bucket (never marked): reduced after backward. */
  readonly rest: CommBucket[];
  /** Per tensor id: its comm bucket, or -1 when reduced at the end. */
  readonly commOf: Int32Array;
  /** Per tensor id: how many gradReady calls make it final. */
  readonly marks: Int32Array;
}

/** What the last `finish` did: collectives started during backward, and in all. */
export interface GradSyncStats {
  overlapped: number;
  collectives: number;
}

export class GradSync {
  readonly stats: GradSyncStats = { overlapped: 0, collectives: 0 };
  private readonly capBytes: number;
  private readonly overlap: boolean;
  /** Float32 buckets (the ones overlapped) and the id of each one's first tensor. */
  private readonly f32: Bucket[];
  private readonly base: number[];
  private readonly tensors: number;
  private layout: Layout | null = null;
  private armed = false;
  /** The first synced backward's gradReady calls, in order (tensor ids). */
  private events: number[] | null = null;
  // Progress of the current backward over the layout.
  private remaining = new Int32Array(0);
  private commRemaining = new Int32Array(0);
  private next = 0;
  private pending: PendingReduce[] = [];

  constructor(
    readonly buckets: readonly Bucket[],
    readonly group: Collective,
    options: GradSyncOptions = {},
  ) {
    const { bucketCapMb, overlap } = gradSyncOptions(options);
    this.capBytes = bucketCapMb * 1024 * 1024;
    this.overlap = overlap;
    this.f32 = buckets.filter((b) => b.gradDtype === 'float32');
    this.base = [];
    let n = 0;
    for (const b of this.f32) (this.base.push(n), (n += b.size));
    this.tensors = n;
  }

  /**
   * The next backward ends an accumulation window (its gradients are reduced): listen for ready
   * gradients. Backwards that only accumulate are not armed (DDP's `no_sync`).
   */
  arm(): void {
    this.drain();
    if (!this.overlap || this.group.worldSize === 1) return;
    this.armed = true;
    if (!this.layout) this.events = [];
    else this.reset(this.layout);
    this.f32.forEach((b, k) => (b.onGradReady = (i) => this.mark(this.base[k] + i)));
  }

  /** Averages every gradient over the ranks (whatever backward did not start yet), then agrees on the has-grad flags. */
  finish(): void {
    const overlapping = this.armed && this.layout !== null;
    this.stopListening();
    if (this.events) {
      this.layout = this.learn(this.events);
      this.events = null;
    }
    if (!overlapping) {
      allReduceGradients(this.buckets, this.group);
      this.stats.overlapped = 0;
      this.stats.collectives = this.group.worldSize === 1 ? 0 : 1 + this.buckets.length;
      return;
    }
    const layout = this.layout!;
    this.stats.overlapped = this.next;
    while (this.next < layout.comms.length) this.launch(layout.comms[this.next++]);
    // Tensors outside the layout (never marked, or half-precision buckets): reduced now, after the started ones.
    const half = this.buckets.filter((b) => b.gradDtype !== 'float32');
    this.drain();
    for (const { bucket, lo, hi } of layout.rest) this.group.allReduce(bucket.grads.subarray(bucket.offsets[lo], bucket.offsets[hi]) as Float32Array, 'mean');
    for (const b of half) reduceBucket(b, this.group);
    agreeOnFlags(this.buckets, this.group);
    this.stats.collectives = layout.comms.length + layout.rest.length + half.length + 1;
  }

  private mark(tensor: number): void {
    if (this.events) {
      this.events.push(tensor);
      return;
    }
    const layout = this.layout!;
    const c = layout.commOf[tensor];
    if (c < 0) return;
    const left = --this.remaining[tensor];
    if (left < 0) {
      throw new AnvilError(
        `distributed gradient sync: a gradient was marked ready (gradReady) more often than in the first synced backward (${layout.marks[tensor]} times); the overlapped all-reduce needs the same backward every iteration, or set model_wrapper_cfg.overlap_grad_reduce=False`,
      );
    }
    if (left === 0 && --this.commRemaining[c] === 0) {
      // Strictly in layout order: every rank issues the same collectives in the same order.
      while (this.next < layout.comms.length && this.commRemaining[this.next] === 0) this.launch(layout.comms[this.next++]);
    }
  }

  private launch(c: CommBucket): void {
    const { bucket, lo, hi } = c;
    bucket.reducing.fill(1, lo, hi);
    const grads = bucket.grads as Float32Array;
    this.pending.push(this.group.allReduceStart(grads.subarray(bucket.offsets[lo], bucket.offsets[hi]), 'mean'));
  }

  /** Waits for every started all-reduce; the gradients may be written again. */
  private drain(): void {
    for (const p of this.pending) p.wait();
    this.pending = [];
    for (const b of this.f32) b.reducing.fill(0);
  }

  private stopListening(): void {
    this.armed = false;
    for (const b of this.f32) b.onGradReady = null;
  }

  private reset(layout: Layout): void {
    this.remaining = layout.marks.slice();
    this.commRemaining = new Int32Array(layout.comms.length);
    layout.commOf.forEach((c) => c >= 0 && this.commRemaining[c]++);
    this.next = 0;
  }

  /** Rank 0's marks (count and order of the final one per tensor) become every rank's layout. */
  private learn(events: number[]): Layout {
    const t = this.tensors;
    // Per tensor id: its count of marks, then the position of its last one (-1: never marked).
    const info = new Float64Array(2 * t).fill(-1, t);
    events.forEach((id, at) => {
      info[id] += 1;
      info[t + id] = at;
    });
    this.group.broadcast(info, 0);
    const order = [...Array(t).keys()].filter((id) => info[id] > 0).sort((a, b) => info[t + a] - info[t + b]);
    const commOf = new Int32Array(t).fill(-1);
    const comms: CommBucket[] = [];
    let cur: CommBucket | null = null;
    for (const id of order) {
      if (commOf[id] >= 0) continue; // taken into a range earlier, as a gap
      const k = this.bucketOf(id);
      const bucket = this.f32[k];
      const i = id - this.base[k];
      // A range grows over the tensors between (a layer's weight then its bias, reverse model
      // order...) when those are marked too and still free: an unmarked one inside could be
      // written while its range is in flight.
      const cap = cur === comms[0] ? Math.min(FIRST_BUCKET_BYTES, this.capBytes) : this.capBytes;
      const lo = cur ? Math.min(cur.lo, i) : i;
      const hi = cur ? Math.max(cur.hi, i + 1) : i + 1;
      const fits = cur !== null && cur.bucket === bucket && bytes(bucket, lo, hi) <= cap;
      const grown: CommBucket = fits && rangeFree(commOf, info, this.base[k], lo, hi, comms.length - 1) ? Object.assign(cur!, { lo, hi }) : { bucket, lo: i, hi: i + 1 };
      if (grown !== cur) comms.push((cur = grown));
      for (let j = grown.lo; j < grown.hi; j++) commOf[this.base[k] + j] = comms.length - 1;
    }
    return { comms, rest: this.restRanges(commOf), commOf, marks: Int32Array.from({ length: t }, (_, id) => info[id]) };
  }

  private bucketOf(id: number): number {
    let k = this.base.length - 1;
    while (this.base[k] > id) k--;
    return k;
  }

  /** Runs of consecutive float32 tensors outside every comm bucket. */
  private restRanges(commOf: Int32Array): CommBucket[] {
    const out: CommBucket[] = [];
    this.f32.forEach((bucket, k) => {
      for (let i = 0; i < bucket.size; i++) {
        if (commOf[this.base[k] + i] >= 0) continue;
        const last = out[out.length - 1];
        if (last && last.bucket === bucket && last.hi === i) last.hi = i + 1;
        else out.push({ bucket, lo: i, hi: i + 1 });
      }
    });
    return out.filter((r) => r.bucket.offsets[r.hi] > r.bucket.offsets[r.lo]);
  }
}

/** Whether tensors lo..hi-1 (ids from `base`) are all marked and free or already in comm bucket `c`. */
function rangeFree(commOf: Int32Array, marks: Float64Array, base: number, lo: number, hi: number, c: number): boolean {
  for (let j = lo; j < hi; j++) {
    const id = base + j;
    if (marks[id] <= 0 || (commOf[id] >= 0 && commOf[id] !== c)) return false;
  }
  return true;
}

function bytes(bucket: Bucket, lo: number, hi: number): number {
  return 4 * (bucket.offsets[hi] - bucket.offsets[lo]);
}
