// torch.nn.utils' gradient clipping on the native kernels: clipGradNorm (clip_grad_norm_),
// getTotalNorm (get_total_norm) and clipGradValue (clip_grad_value_), over parameters or gradients.

import { cudaKernels, parseDevice, type Kernels } from '../cuda/kernels';
import { AnvilError } from '../errors';
import { native } from '../native';
import { gradBuffers, nativeCall, type GradsInput } from './grad-buffers';

/** A norm order: any number (torch accepts 0, negative and fractional orders too), or ±inf. */
export type NormType = number | 'inf' | '-inf';

export interface DeviceOption {
  /** Where the pass runs: 'cpu' (default), 'cuda' or 'cuda:N'; the gradients stay host arrays. */
  device?: string;
}

export interface ClipGradNormOptions extends DeviceOption {
  /** Throw (before scaling anything) when the total norm is inf or NaN. Default false, as torch. */
  errorIfNonfinite?: boolean;
}

function kernelsFor(device: string | undefined, where: string): Kernels {
  const spec = parseDevice(device, `${where}: device`);
  return spec.type === 'cuda' ? cudaKernels(spec.index) : native;
}

/** A norm order as a number (±Infinity for 'inf' / '-inf'). */
export function normOrder(normType: NormType, where: string): number {
  if (typeof normType === 'number' && !Number.isNaN(normType)) return normType;
  if (normType === 'inf') return Infinity;
  if (normType === '-inf') return -Infinity;
  throw new AnvilError(`${where}: norm_type must be a number, 'inf' or '-inf', got ${JSON.stringify(normType)}`);
}

function number(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number') throw new AnvilError(`${where}: ${name} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * torch's `get_total_norm`: the `normType` norm over the per-tensor norms of the gradients (only
 * parameters that have a gradient count), as a float32 value; 0 for none. Inf and NaN propagate.
 */
export function getTotalNorm(grads: GradsInput, normType: NormType = 2, options: DeviceOption = {}): number {
  const where = 'getTotalNorm';
  const p = normOrder(normType, where);
  const kernels = kernelsFor(options.device, where);
  return nativeCall(where, () => kernels.gradTotalNorm(gradBuffers(grads, where), p));
}

/**
 * torch's `clip_grad_norm_`: computes the total norm in one read pass, then multiplies every
 * gradient by `min(maxNorm / (total + 1e-6), 1)` in one write pass, and returns the total norm.
 * As in torch the factor is always applied: an inf norm zeroes finite gradients (inf * 0 is NaN)
 * and a NaN norm turns every gradient into NaN, unless `errorIfNonfinite` throws first.
 */
export function clipGradNorm(params: GradsInput, maxNorm: number, normType: NormType = 2, options: ClipGradNormOptions = {}): number {
  const where = 'clipGradNorm';
  number(maxNorm, 'max_norm', where);
  const p = normOrder(normType, where);
  const errorIfNonfinite = options.errorIfNonfinite ?? false;
  if (typeof errorIfNonfinite !== 'boolean') throw new AnvilError(`${where}: errorIfNonfinite must be true or false`);
  const kernels = kernelsFor(options.device, where);
  return nativeCall(where, () => kernels.clipGradNorm(gradBuffers(params, where), maxNorm, p, errorIfNonfinite));
}

/** torch's `clip_grad_value_`: clamps every gradient to [-clipValue, clipValue] (float32); NaN stays NaN. */
export function clipGradValue(params: GradsInput, clipValue: number, options: DeviceOption = {}): void {
  const where = 'clipGradValue';
  number(clipValue, 'clip_value', where);
  const kernels = kernelsFor(options.device, where);
  nativeCall(where, () => kernels.clipGradValue(gradBuffers(params, where), clipValue));
}
