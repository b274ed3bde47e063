// Gradient lists for the native clipping and loss-scaling kernels: parameters grouped by the
// bucket that holds them (one typed array per bucket, a flag per tensor), or gradient arrays.

import type { GradBuffer } from '../../native/index';
import { AnvilError } from '../errors';
import type { Bucket } from '../store/bucket';
import { Parameter } from '../store/parameter';

export type { GradBuffer } from '../../native/index';

export type HalfDtype = 'float16' | 'bfloat16';

/** A gradient given directly: float32 values, or fp16/bf16 raw bits (Node 20 has no Float16Array). */
export type GradTensor = Float32Array | { bits: Uint16Array; dtype: HalfDtype };

/** What the clipping functions take: parameters (those with a gradient count), or gradients. */
export type GradsInput = Parameter | GradTensor | Iterable<Parameter | GradTensor>;

function isHalfTensor(x: unknown): x is { bits: Uint16Array; dtype: HalfDtype } {
  if (x === null || typeof x !== 'object') return false;
  const { bits, dtype } = x as { bits?: unknown; dtype?: unknown };
  return bits instanceof Uint16Array && (dtype === 'float16' || dtype === 'bfloat16');
}

/** A bucket's gradients (float32 values, or fp16/bf16 bits) with the tensors `include` flags. */
function bucketBuffer(bucket: Bucket, include: Uint8Array): GradBuffer {
  const { grads, offsets } = bucket;
  return grads instanceof Uint16Array ? { bits: grads, dtype: bucket.gradDtype, offsets, include } : { values: grads, offsets, include };
}

/** Every tensor of a bucket that has a gradient this step (torch skips `grad is None`). */
export function bucketGrads(bucket: Bucket): GradBuffer {
  return bucketBuffer(bucket, bucket.hasGrad);
}

/**
 * Parameters with a gradient become one buffer per bucket with only their tensors included (a
 * parameter listed twice counts once); gradient arrays become one-tensor buffers.
 */
export function gradBuffers(input: GradsInput, where: string): GradBuffer[] {
  const single = input instanceof Parameter || input instanceof Float32Array || isHalfTensor(input);
  const items = single ? [input] : input;
  if (!single && (items === null || typeof items !== 'object' || !(Symbol.iterator in items))) {
    throw new AnvilError(`${where}: expected parameters or gradient arrays, got ${typeof input}`);
  }
  const out: GradBuffer[] = [];
  const masks = new Map<Bucket, Uint8Array>();
  let i = 0;
  for (const item of items as Iterable<unknown>) {
    if (item instanceof Parameter) {
      if (item.hasGrad) {
        const { bucket, index } = item.location;
        let mask = masks.get(bucket);
        if (!mask) {
          mask = new Uint8Array(bucket.size);
          masks.set(bucket, mask);
          out.push(bucketBuffer(bucket, mask));
        }
        mask[index] = 1;
      }
    } else if (item instanceof Float32Array) {
      out.push({ values: item });
    } else if (isHalfTensor(item)) {
      out.push({ bits: item.bits, dtype: item.dtype });
    } else {
      throw new AnvilError(`${where}: item ${i} is not a Parameter, a Float32Array or { bits: Uint16Array, dtype: 'float16' | 'bfloat16' }`);
    }
    i++;
  }
  return out;
}

/** Runs a native call, reporting its errors (bad layouts, overlapping arrays, non-finite norms) as AnvilErrors. */
export function nativeCall<T>(where: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    if (e instanceof AnvilError) throw e;
    throw new AnvilError(`${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
