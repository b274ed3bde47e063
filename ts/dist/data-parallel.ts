// Data parallelism over a process group (what torch's DistributedDataParallel does for MMEngine):
// parameters and buffers start as rank 0's, gradients are averaged before clipping and the step
// (one all-reduce per bucket of the store, plus one for the has-gradient flags of all buckets),
// and buffers (BatchNorm statistics) are averaged when SyncBuffersHook asks.

import { native } from '../native';
import type { Bucket } from '../store/bucket';
import type { ModelBuffer } from '../store/store';
import type { Parameter } from '../store/parameter';
import type { Collective } from './collective';

/** The optimizer side this needs: its groups and the bucket each lives in. */
interface Bucketed {
  readonly paramGroups: ReadonlyArray<unknown>;
  bucket(i: number): Bucket;
}

interface ModelLike {
  parameters(): Parameter[];
  namedBuffers(): [string, ModelBuffer][];
}

/** Each distinct bucket of the optimizer, in group order. */
export function optimizerBuckets(optimizer: Bucketed): Bucket[] {
  const seen = new Set<Bucket>();
  optimizer.paramGroups.forEach((_, i) => seen.add(optimizer.bucket(i)));
  return [...seen];
}

/**
 * Averages the gradients of every bucket over the ranks, in place, and makes the has-gradient
 * flags agree. The blocking form of GradSync (grad-sync.ts), which overlaps this with backward.
 */
export function allReduceGradients(buckets: readonly Bucket[], group: Collective): void {
  if (group.worldSize === 1) return;
  agreeOnFlags(buckets, group);
  for (const b of buckets) reduceBucket(b, group);
}

/**
 * A tensor has a gradient when any rank gave it one; the others count as zeros, as DDP counts
 * unused parameters (one collective for all buckets).
 */
export function agreeOnFlags(buckets: readonly Bucket[], group: Collective): void {
  const total = buckets.reduce((n, b) => n + b.size, 0);
  const flags = new Float32Array(total);
  let at = 0;
  for (const b of buckets) {
    flags.set(b.hasGrad, at);
    at += b.size;
  }
  group.allReduce(flags, 'max');
  at = 0;
  for (const b of buckets) {
    for (let i = 0; i < b.size; i++) b.hasGrad[i] = flags[at + i];
    at += b.size;
  }
}

const halfScratch = new WeakMap<Bucket, Float32Array>();

/**
 * One bucket's gradients averaged over the ranks. float16/bfloat16 gradients are averaged in
 * float32 and rounded back, so an overflow on any rank is inf on all, and AMP's skip decision is
 * the same everywhere.
 */
export function reduceBucket(b: Bucket, group: Collective): void {
  const grads = b.grads;
  if (grads instanceof Float32Array) {
    group.allReduce(grads, 'mean');
    return;
  }
  let scratch = halfScratch.get(b);
  if (!scratch || scratch.length !== grads.length) halfScratch.set(b, (scratch = new Float32Array(grads.length)));
  native.widenGradBits(grads, b.gradDtype, scratch);
  group.allReduce(scratch, 'mean');
  native.narrowGradBits(scratch, b.gradDtype, grads);
}

/** The model's float32 and int64 buffers, each kind flattened into one array (one collective each). */
function flatBuffers(model: Pick<ModelLike, 'namedBuffers'>): { views: ModelBuffer[]; f32: Float32Array; f64: Float64Array } {
  const views = model.namedBuffers().map(([, b]) => b);
  const f32n = views.filter((b) => b.data instanceof Float32Array).reduce((n, b) => n + b.numel, 0);
  const f64n = views.filter((b) => b.data instanceof Float64Array).reduce((n, b) => n + b.numel, 0);
  const f32 = new Float32Array(f32n);
  const f64 = new Float64Array(f64n);
  let a = 0;
  let c = 0;
  for (const b of views) {
    if (b.data instanceof Float32Array) (f32.set(b.data, a), (a += b.numel));
    else (f64.set(b.data, c), (c += b.numel));
  }
  return { views, f32, f64 };
}

function unflatten(views: ModelBuffer[], f32: Float32Array, f64: Float64Array, int64: (x: number) => number): void {
  let a = 0;
  let c = 0;
  for (const b of views) {
    if (b.data instanceof Float32Array) {
      b.data.set(f32.subarray(a, a + b.numel));
      a += b.numel;
    } else {
      for (let i = 0; i < b.numel; i++) b.data[i] = int64(f64[c + i]);
      c += b.numel;
    }
  }
}

/** MMEngine's SyncBuffersHook: every buffer becomes the mean over the ranks (int64 counters truncated, as torch's copy does). */
export function allReduceBuffers(model: ModelLike, group: Collective): void {
  if (group.worldSize === 1) return;
  const { views, f32, f64 } = flatBuffers(model);
  if (views.length === 0) return;
  group.allReduce(f32, 'mean');
  group.allReduce(f64, 'mean');
  unflatten(views, f32, f64, Math.trunc);
}

/** DDP's start: every rank takes rank 0's parameters (one broadcast per bucket) and buffers. */
export function broadcastModel(model: ModelLike, group: Collective, root = 0): void {
  if (group.worldSize === 1) return;
  const buckets = new Set(model.parameters().map((p) => p.location.bucket));
  for (const b of buckets) group.broadcast(b.params, root);
  broadcastBuffers(model, group, root);
}

/** DDP's `broadcast_buffers`: every rank takes rank 0's buffers (BatchNorm statistics). */
export function broadcastBuffers(model: Pick<ModelLike, 'namedBuffers'>, group: Collective, root = 0): void {
  if (group.worldSize === 1) return;
  const { views, f32, f64 } = flatBuffers(model);
  if (views.length === 0) return;
  group.broadcast(f32, root);
  group.broadcast(f64, root);
  unflatten(views, f32, f64, (x) => x);
}

/** MMEngine's `sync_random_seed`: rank 0's seed for every rank (a random seed differs per process). */
export function syncSeed(seed: number, group: Collective): number {
  if (group.worldSize === 1) return seed;
  const v = Float64Array.of(seed);
  group.broadcast(v, 0);
  return v[0];
}
