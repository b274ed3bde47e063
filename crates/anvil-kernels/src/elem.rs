//! Gradient element types: f32, and fp16/bf16 held as raw bits. Optimizer kernels read them
//! through a `GradRun`, widened (and scaled) in registers inside their element loop; reductions
//! and in-place passes see f32 runs of at most `TILE` elements (half tiles are rounded back).

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

/// Elements per run handed to a kernel closure (a stack tile for half types; small enough
/// that per-lane f32 partial sums stay accurate before they are folded into f64).
pub const TILE: usize = 256;

/// Independent accumulators in reductions: wide enough for one AVX-512 register, or four SSE ones.
pub const LANES: usize = 16;

/// A read-only pass over f32 runs (a reduction). Implementations mark `tile` `#[inline(always)]`
/// so the loop is generated inside each run-time dispatched variant (see `simd`).
pub trait ReadTile {
    fn tile(&mut self, x: &[f32]);
}

/// A pass that rewrites f32 runs in place.
pub trait UpdateTile {
    fn tile(&mut self, x: &mut [f32]);
}

pub trait Element: Copy + Send + Sync + 'static {
    /// The value as f32 (exact for every type): written on bits, branch-free, so element loops
    /// that call it vectorize, and every run-time dispatched variant gives the same bits.
    fn widen(self) -> f32;
    /// Calls `r.tile` on consecutive f32 runs (at most `TILE` long) holding the values of `data`.
    fn read_each<R: ReadTile>(data: &[Self], r: &mut R);
    /// Calls `u.tile` on f32 runs of `data` and stores back what it leaves there, rounded to
    /// `Self` (half types: f32 arithmetic, one rounding per element, as torch's opmath does).
    fn update_each<U: UpdateTile>(data: &mut [Self], u: &mut U);

    /// `read_each` with a closure.
    #[inline(always)]
    fn read_tiles(data: &[Self], f: impl FnMut(&[f32])) {
        Self::read_each(data, &mut ReadFn(f));
    }

    /// `update_each` with a closure.
    #[inline(always)]
    fn update_tiles(data: &mut [Self], f: impl FnMut(&mut [f32])) {
        Self::update_each(data, &mut UpdateFn(f));
    }
}

/// Gradients as an optimizer kernel reads them: a run of f32 values computed as the element
/// loop goes (widened from fp16/bf16 bits and multiplied by the step's `grad_scale`, in
/// registers), so no gradient type or scale needs a staging copy or a loop of its own.
pub trait GradRun: Copy + Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn split_at(self, mid: usize) -> (Self, Self);
    /// The values in order (zip it with the other slices: it vectorizes like a slice iterator).
    fn values(self) -> impl Iterator<Item = f32> + Clone;
    /// Consecutive whole groups of `N` values (reductions with `N` accumulators); the
    /// `len() % N` values left over are `split_at(len() / N * N).1`.
    fn lanes<const N: usize>(self) -> impl Iterator<Item = [f32; N]>;
}

/// f32 gradients read as they are (no scale).
#[derive(Clone, Copy)]
pub struct Plain<'a>(pub &'a [f32]);

impl GradRun for Plain<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }

    #[inline(always)]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a, b) = self.0.split_at(mid);
        (Plain(a), Plain(b))
    }

    #[inline(always)]
    fn values(self) -> impl Iterator<Item = f32> + Clone {
        self.0.iter().copied()
    }

    #[inline(always)]
    fn lanes<const N: usize>(self) -> impl Iterator<Item = [f32; N]> {
        self.0.as_chunks::<N>().0.iter().copied()
    }
}

/// Gradients of any element type, widened and multiplied by `scale` (one f32 rounding, as a
/// separate unscale pass would store them).
#[derive(Clone, Copy)]
pub struct Scaled<'a, G> {
    pub data: &'a [G],
    pub scale: f32,
}

impl<G: Element> GradRun for Scaled<'_, G> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.data.len()
    }

    #[inline(always)]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a, b) = self.data.split_at(mid);
        (Scaled { data: a, scale: self.scale }, Scaled { data: b, scale: self.scale })
    }

    #[inline(always)]
    fn values(self) -> impl Iterator<Item = f32> + Clone {
        let scale = self.scale;
        self.data.iter().map(move |g| g.widen() * scale)
    }

    #[inline(always)]
    fn lanes<const N: usize>(self) -> impl Iterator<Item = [f32; N]> {
        let scale = self.scale;
        self.data.as_chunks::<N>().0.iter().map(move |c| std::array::from_fn(|j| c[j].widen() * scale))
    }
}

struct ReadFn<F>(F);

impl<F: FnMut(&[f32])> ReadTile for ReadFn<F> {
    #[inline(always)]
    fn tile(&mut self, x: &[f32]) {
        (self.0)(x);
    }
}

struct UpdateFn<F>(F);

impl<F: FnMut(&mut [f32])> UpdateTile for UpdateFn<F> {
    #[inline(always)]
    fn tile(&mut self, x: &mut [f32]) {
        (self.0)(x);
    }
}

impl Element for f32 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }

    #[inline(always)]
    fn read_each<R: ReadTile>(data: &[f32], r: &mut R) {
        for t in data.chunks(TILE) {
            r.tile(t);
        }
    }

    #[inline(always)]
    fn update_each<U: UpdateTile>(data: &mut [f32], u: &mut U) {
        for t in data.chunks_mut(TILE) {
            u.tile(t);
        }
    }
}

// fp16 widens in registers (`f16_bits_to_f32`, vectorized with the surrounding loop); narrowing
// goes through `half`, which uses F16C when the CPU has it (checked at run time).
impl Element for f16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        f16_bits_to_f32(self.to_bits())
    }

    #[inline(always)]
    fn read_each<R: ReadTile>(data: &[f16], r: &mut R) {
        read_widened(data, r);
    }

    #[inline(always)]
    fn update_each<U: UpdateTile>(data: &mut [f16], u: &mut U) {
        let mut buf = [0.0f32; TILE];
        for t in data.chunks_mut(TILE) {
            let b = &mut buf[..t.len()];
            t.convert_to_f32_slice(b);
            u.tile(b);
            t.convert_from_f32_slice(b);
        }
    }
}

// bf16 is the top half of an f32: widening is a shift, narrowing rounds to nearest even. Written
// on bits (branch-free) so the loops vectorize; `half` converts bf16 one element at a time.
impl Element for bf16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        bf16_bits_to_f32(self.to_bits())
    }

    #[inline(always)]
    fn read_each<R: ReadTile>(data: &[bf16], r: &mut R) {
        read_widened(data, r);
    }

    #[inline(always)]
    fn update_each<U: UpdateTile>(data: &mut [bf16], u: &mut U) {
        let mut buf = [0.0f32; TILE];
        for t in data.chunks_mut(TILE) {
            let b = &mut buf[..t.len()];
            for (d, s) in b.iter_mut().zip(t.iter()) {
                *d = bf16_bits_to_f32(s.to_bits());
            }
            u.tile(b);
            for (d, &s) in t.iter_mut().zip(b.iter()) {
                *d = bf16::from_bits(f32_to_bf16_bits(s));
            }
        }
    }
}

/// A half-precision run read tile by tile, each widened into a stack buffer.
#[inline(always)]
fn read_widened<E: Element, R: ReadTile>(data: &[E], r: &mut R) {
    let mut buf = [0.0f32; TILE];
    for t in data.chunks(TILE) {
        let b = &mut buf[..t.len()];
        for (d, &s) in b.iter_mut().zip(t) {
            *d = s.widen();
        }
        r.tile(b);
    }
}

/// fp16 bits to f32, exactly: normal numbers re-bias the exponent (+112) on the bits, subnormals
/// are their integer mantissa times 2^-24 (an int conversion and a multiply of normal numbers, so
/// no denormal operand slows the loop), inf/NaN keep their payload. Branch-free selects.
#[inline(always)]
fn f16_bits_to_f32(bits: u16) -> f32 {
    let h = u32::from(bits);
    let magnitude = h & 0x7fff;
    let sign = (h & 0x8000) << 16;
    let normal = (magnitude << 13) + (112 << 23);
    let subnormal = ((magnitude as i32) as f32 * (1.0 / 16_777_216.0)).to_bits();
    let inf_nan = (magnitude << 13) | 0x7f80_0000;
    let bits = if magnitude < 0x0400 {
        subnormal
    } else if magnitude >= 0x7c00 {
        inf_nan
    } else {
        normal
    };
    f32::from_bits(bits | sign)
}

#[inline(always)]
fn bf16_bits_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// Round to nearest, ties to even; NaN stays a (quiet) NaN instead of rounding into infinity.
#[inline(always)]
fn f32_to_bf16_bits(v: f32) -> u16 {
    let x = v.to_bits();
    let rounded = (x.wrapping_add(0x7fff + ((x >> 16) & 1)) >> 16) as u16;
    let quiet_nan = ((x >> 16) | 0x40) as u16;
    if x & 0x7fff_ffff > 0x7f80_0000 { quiet_nan } else { rounded }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounding_matches_half() {
        // 1 + 2^-8 is a tie (rounds to even 1.0); 1 + 3 * 2^-9 rounds up.
        for v in [1.0f32, -2.5, 1.0 + 1.0 / 256.0, 1.0 + 3.0 / 512.0, 3.0e38, f32::MAX, f32::INFINITY, -0.0, 1e-40, f32::NAN] {
            let ours = f32_to_bf16_bits(v);
            let reference = bf16::from_f32(v).to_bits();
            assert_eq!(ours, reference, "{v}");
        }
    }

    #[test]
    fn fp16_widening_is_exact_for_every_bit_pattern() {
        for bits in 0..=u16::MAX {
            let ours = f16_bits_to_f32(bits);
            let reference = f16::from_bits(bits).to_f32();
            if reference.is_nan() {
                assert!(ours.is_nan() && ours.to_bits() >> 31 == u32::from(bits >> 15), "{bits:#06x}");
            } else {
                assert_eq!(ours.to_bits(), reference.to_bits(), "{bits:#06x}");
            }
        }
    }

    #[test]
    fn grad_runs_widen_and_scale_in_order() {
        let h: Vec<f16> = (0..37).map(|i| f16::from_f32(i as f32 - 18.0)).collect();
        let run = Scaled { data: &h[..], scale: 0.5 };
        let want: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 0.5).collect();
        assert_eq!(run.values().collect::<Vec<_>>(), want);
        let lanes: Vec<[f32; 16]> = run.lanes::<16>().collect();
        assert_eq!(lanes.len(), 2);
        assert_eq!(lanes[1][..], want[16..32]);
        let (_, rest) = run.split_at(32);
        assert_eq!(rest.values().collect::<Vec<_>>(), want[32..]);
        let f = [1.0f32, -2.0];
        assert_eq!(Plain(&f).values().collect::<Vec<_>>(), f);
    }

    #[test]
    fn half_tiles_round_trip_and_round_once() {
        // 300 elements: one full tile and a partial one.
        let mut h: Vec<f16> = (0..300).map(|i| f16::from_f32(i as f32 * 0.5)).collect();
        let mut seen = 0;
        f16::update_tiles(&mut h, |t| {
            seen += t.len();
            t.iter_mut().for_each(|v| *v *= 1.0 / 3.0);
        });
        assert_eq!(seen, 300);
        // 7 * 0.5 / 3 = 1.1666.. rounds to the nearest fp16, 1 + 171 / 1024.
        assert_eq!(h[7], f16::from_f32(7.0 * 0.5 / 3.0));
        assert_eq!(h[7].to_f32(), 1.0 + 171.0 / 1024.0);
        let mut b = [bf16::from_f32(1.0), bf16::from_f32(-3.0)];
        bf16::update_tiles(&mut b, |t| t.iter_mut().for_each(|v| *v *= 1.5));
        assert_eq!([b[0].to_f32(), b[1].to_f32()], [1.5, -4.5]);
    }
}
