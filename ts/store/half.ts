// float16 / bfloat16 bit patterns for gradient buckets (Node 20 has no Float16Array): a number
// is rounded to float32 first, then to the half type, nearest-even, as torch's `.half()` does.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export type GradDtype = 'float32' | 'float16' | 'bfloat16';

export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  // Normal numbers drop 13 mantissa bits; subnormals (e <= 0) drop 14 - e with the implicit 1 kept.
  const shift = e > 0 ? 13 : 14 - e;
  if (shift > 24) return sign;
  const m = e > 0 ? mant : mant | 0x800000;
  const kept = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  // A carry out of the mantissa bumps the exponent (up to infinity), which is the right result.
  const up = rest > halfway || (rest === halfway && (kept & 1) === 1) ? 1 : 0;
  return (sign | ((e > 0 ? e << 10 : 0) + kept + up)) & 0xffff;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff; // NaN stays quiet NaN
  return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
}

export function bf16BitsToF32(h: number): number {
  u32[0] = (h << 16) >>> 0;
  return f32[0];
}

/** Bits of `x` in a half type. */
export function toBits(x: number, dtype: Exclude<GradDtype, 'float32'>): number {
  return dtype === 'float16' ? f32ToF16Bits(x) : f32ToBf16Bits(x);
}

/** The value of half-type bits. */
export function fromBits(h: number, dtype: Exclude<GradDtype, 'float32'>): number {
  return dtype === 'float16' ? f16BitsToF32(h) : bf16BitsToF32(h);
}
