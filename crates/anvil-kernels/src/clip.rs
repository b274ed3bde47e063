//! torch.nn.utils clip_grad_norm_ / get_total_norm / clip_grad_value_ over many gradient tensors:
//! one read pass for the norm (per-tensor partials, as torch takes the norm of per-tensor norms), one write pass to scale.

use crate::elem::{Element, ReadTile, UpdateTile, LANES};
use crate::error::KernelError;
use crate::grads::{with_grads, with_slice, GradData, GradList, GradSlice};
use crate::scaler::NonFinite;
use crate::simd::multiversion;

/// The norm order, with the cases that reduce differently.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Norm {
    /// Count of non-zero elements (torch's `ord=0`).
    Zero,
    One,
    Two,
    Inf,
    NegInf,
    /// Any other finite order: Σ|x|^p, then ^(1/p).
    P(f64),
}

impl Norm {
    fn new(p: f64) -> Result<Norm, KernelError> {
        Ok(match p {
            _ if p.is_nan() => return Err(KernelError::new("norm_type must be a number, got nan")),
            0.0 => Norm::Zero,
            1.0 => Norm::One,
            2.0 => Norm::Two,
            f64::INFINITY => Norm::Inf,
            f64::NEG_INFINITY => Norm::NegInf,
            _ => Norm::P(p),
        })
    }

    /// Orders without an identity element (max, min, negative powers) cannot reduce an empty tensor.
    fn needs_elements(self) -> bool {
        match self {
            Norm::Inf | Norm::NegInf => true,
            Norm::P(p) => p < 0.0,
            _ => false,
        }
    }
}

/// Python's `str(float)` for messages: `2.0`, `inf`.
fn py_float(p: f64) -> String {
    if p.is_finite() && p.fract() == 0.0 { format!("{p:.1}") } else { format!("{p}") }
}

const ABS: u32 = 0x7fff_ffff;

// Tile reductions: LANES independent accumulators so the loops vectorize; f32 partial sums are
// folded into f64 per tile (at most TILE / LANES = 16 terms per lane in f32).

// Every reducer first multiplies the values by `s` (1, or the fused AMP step's 1/scale) in f32,
// so it sees exactly the values torch's unscale_ would have stored.

/// Σ x² (the 2-norm), or Σ |x| (the 1-norm) with `ABS_ONLY`.
struct PowerSum<const ABS_ONLY: bool> {
    s: f32,
    sum: f64,
}

impl<const ABS_ONLY: bool> ReadTile for PowerSum<ABS_ONLY> {
    #[inline(always)]
    fn tile(&mut self, x: &[f32]) {
        let s = self.s;
        let term = |v: f32| if ABS_ONLY { (v * s).abs() } else { (v * s) * (v * s) };
        let (chunks, rest) = x.as_chunks::<LANES>();
        let mut acc = [0.0f32; LANES];
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += term(v);
            }
        }
        let tail: f32 = rest.iter().map(|&v| term(v)).sum();
        self.sum += acc.iter().map(|&a| f64::from(a)).sum::<f64>() + f64::from(tail);
    }
}

/// Largest and smallest `|x|` as bits: for non-negative floats bit order is value order, and NaN
/// bits sort above infinity, so the maximum catches a NaN (torch's max propagates NaN, `f32::max`
/// would drop it).
struct AbsRange {
    s: f32,
    max: u32,
    min: u32,
    track_min: bool,
}

impl ReadTile for AbsRange {
    #[inline(always)]
    fn tile(&mut self, x: &[f32]) {
        let s = self.s;
        let (chunks, rest) = x.as_chunks::<LANES>();
        let mut acc = [0u32; LANES];
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a = (*a).max((v * s).to_bits() & ABS);
            }
        }
        let tail = rest.iter().map(|&v| (v * s).to_bits() & ABS).max().unwrap_or(0);
        self.max = acc.into_iter().fold(self.max.max(tail), u32::max);
        if self.track_min {
            self.min = x.iter().map(|&v| (v * s).to_bits() & ABS).fold(self.min, u32::min);
        }
    }
}

/// Elements that are not ±0 (NaN counts, as `x != 0` in torch).
struct CountNonzero {
    s: f32,
    count: f64,
}

impl ReadTile for CountNonzero {
    #[inline(always)]
    fn tile(&mut self, x: &[f32]) {
        let s = self.s;
        let (chunks, rest) = x.as_chunks::<LANES>();
        let mut acc = [0u32; LANES];
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += u32::from((v * s).to_bits() & ABS != 0);
            }
        }
        let tail = rest.iter().filter(|&&v| (v * s).to_bits() & ABS != 0).count();
        self.count += acc.iter().map(|&a| f64::from(a)).sum::<f64>() + tail as f64;
    }
}

/// Σ |x|^p for any other order, in f64 (a rare path): integer orders multiply (`powi`), others `powf`.
struct GeneralPowerSum {
    s: f32,
    p: f64,
    sum: f64,
}

impl ReadTile for GeneralPowerSum {
    #[inline(always)]
    fn tile(&mut self, x: &[f32]) {
        let (s, p) = (self.s, self.p);
        // Each |x|^p lands in f32's range, as torch's float32 pow leaves it.
        self.sum += if p.fract() == 0.0 && p.abs() <= 64.0 {
            x.iter().map(|&v| in_f32(f64::from((v * s).abs()).powi(p as i32))).sum::<f64>()
        } else {
            x.iter().map(|&v| in_f32(f64::from((v * s).abs()).powf(p))).sum::<f64>()
        };
    }
}

/// A second reduction run on the same tiles while they are in L1 (the inf/nan check of the
/// fused AMP step), so both cost one pass over memory.
struct Both<'a, A, B>(A, &'a mut B);

impl<A: ReadTile, B: ReadTile> ReadTile for Both<'_, A, B> {
    #[inline(always)]
    fn tile(&mut self, x: &[f32]) {
        self.0.tile(x);
        self.1.tile(x);
    }
}

/// No second reduction.
struct Nothing;

impl ReadTile for Nothing {
    #[inline(always)]
    fn tile(&mut self, _: &[f32]) {}
}

/// One chunk's contribution to its tensor's, before the total is combined: Σ|x|^p for sum
/// orders, max/min |x| for ±inf, the non-zero count for 0, of the values times `s`. `side`
/// sees the same tiles.
#[inline(always)]
fn tensor_partial<T: Element, S: ReadTile>(t: &[T], norm: Norm, s: f32, side: &mut S) -> f64 {
    match norm {
        Norm::Two => {
            let mut r = Both(PowerSum::<false> { s, sum: 0.0 }, side);
            T::read_each(t, &mut r);
            r.0.sum
        }
        Norm::One => {
            let mut r = Both(PowerSum::<true> { s, sum: 0.0 }, side);
            T::read_each(t, &mut r);
            r.0.sum
        }
        Norm::Zero => {
            let mut r = Both(CountNonzero { s, count: 0.0 }, side);
            T::read_each(t, &mut r);
            r.0.count
        }
        Norm::P(p) => {
            let mut r = Both(GeneralPowerSum { s, p, sum: 0.0 }, side);
            T::read_each(t, &mut r);
            r.0.sum
        }
        Norm::Inf | Norm::NegInf => {
            let mut r = Both(AbsRange { s, max: 0, min: u32::MAX, track_min: norm == Norm::NegInf }, side);
            T::read_each(t, &mut r);
            let r = r.0;
            if norm == Norm::Inf {
                f64::from(f32::from_bits(r.max))
            } else if r.max > f32::INFINITY.to_bits() {
                f64::NAN
            } else {
                f64::from(f32::from_bits(r.min))
            }
        }
    }
}

/// A chunk's partial, and with `check` whether it holds inf or NaN (before scaling), both from
/// one read of each tile while it is in L1.
#[inline(always)]
fn chunk_partial_inline(c: GradSlice<'_>, norm: Norm, s: f32, check: bool) -> (f64, bool) {
    with_slice!(c, d => {
        if check {
            let mut found = NonFinite(false);
            let part = tensor_partial(d, norm, s, &mut found);
            (part, found.0)
        } else {
            (tensor_partial(d, norm, s, &mut Nothing), false)
        }
    })
}

multiversion! {
    fn chunk_partial(c: GradSlice<'_>, norm: Norm, s: f32, check: bool) -> (f64, bool) => chunk_partial_inline
}

/// `x` rounded to f32 and back: beyond f32's range it is inf, below it 0.
#[inline(always)]
fn in_f32(x: f64) -> f64 {
    f64::from(x as f32)
}

/// NaN-propagating max / min, as torch's reductions.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
}

/// torch's `get_total_norm`: the `norm_type` norm of the per-tensor norms of the included
/// tensors, as float32. No tensors: 0. With `norm_type = 0` that counts the tensors holding a
/// non-zero (or NaN) element, as torch does. Inf and NaN propagate.
pub fn total_norm(lists: &[GradList<'_>], norm_type: f64) -> Result<f32, KernelError> {
    combine(lists, Norm::new(norm_type)?, norm_type, 1.0, false).map(|(total, _)| total)
}

/// The fused AMP step's read pass: the total norm of `value_scale * g` (each product rounded to
/// f32, as torch's unscale_ stores it) and whether any included gradient is inf or NaN before
/// scaling (torch's found_inf, which a non-finite norm alone does not prove: finite values can
/// overflow it). One pass over memory: both run on each tile while it is in L1.
pub fn total_norm_and_check(lists: &[GradList<'_>], norm_type: f64, value_scale: f32) -> Result<(f32, bool), KernelError> {
    combine(lists, Norm::new(norm_type)?, norm_type, value_scale, true)
}

/// The read pass, chunk by chunk (threaded for large lists): chunk partials add up (or max/min)
/// into their tensor's, in chunk order; tensors' partials combine into the total in order.
fn combine(lists: &[GradList<'_>], norm: Norm, norm_type: f64, value_scale: f32, check: bool) -> Result<(f32, bool), KernelError> {
    if norm.needs_elements() && lists.iter().any(|l| l.tensors().any(|r| r.is_empty())) {
        return Err(empty_tensor_norm(norm_type));
    }
    let within = |a: f64, b: f64| match norm {
        Norm::Inf => nan_max(a, b),
        Norm::NegInf => nan_min(a, b),
        _ => a + b,
    };
    // torch reduces in float32: a tensor's Σ|x|^p, its norm, and each norm^p of the norm of the
    // norms land in f32's range (inf beyond it, 0 below), which these f64 sums would otherwise hide.
    let across = |total: f64, part: f64| match norm {
        Norm::Inf => nan_max(total, part),
        Norm::NegInf => nan_min(total, part),
        Norm::Zero => total + f64::from(u8::from(part != 0.0)),
        Norm::One => total + in_f32(part),
        Norm::Two => total + in_f32(in_f32(in_f32(part).sqrt()).powi(2)),
        Norm::P(p) => total + in_f32(in_f32(in_f32(part).powf(1.0 / p)).powf(p)),
    };
    let mut total = if norm == Norm::NegInf { f64::INFINITY } else { 0.0 };
    let mut found = false;
    let mut tensors = 0usize;
    // The tensor being summed and its partial so far.
    let mut current: Option<(usize, f64)> = None;
    crate::chunks::fold_tensor_chunks(
        lists,
        |c| chunk_partial(c, norm, value_scale, check),
        |t, (part, f)| {
            found |= f;
            current = Some(match current {
                Some((ct, acc)) if ct == t => (t, within(acc, part)),
                Some((_, acc)) => {
                    total = across(total, acc);
                    tensors += 1;
                    (t, part)
                }
                None => (t, part),
            });
        },
    );
    if let Some((_, acc)) = current {
        total = across(total, acc);
        tensors += 1;
    }
    if tensors == 0 {
        return Ok((0.0, found));
    }
    let total = match norm {
        Norm::Two => in_f32(total).sqrt(),
        Norm::P(p) => in_f32(total).powf(1.0 / p),
        _ => total,
    };
    Ok((total as f32, found))
}

/// torch's `min(max_norm / (total_norm + 1e-6), 1)` in float32 (`max_norm / t` is
/// `t.reciprocal() * max_norm` there). NaN stays NaN: clamp propagates it.
pub fn clip_coefficient(max_norm: f64, total: f32) -> f32 {
    let coef = (1.0 / (total + 1e-6f32)) * max_norm as f32;
    if coef > 1.0 { 1.0 } else { coef }
}

struct Scale(f32);

impl UpdateTile for Scale {
    #[inline(always)]
    fn tile(&mut self, x: &mut [f32]) {
        let f = self.0;
        x.iter_mut().for_each(|v| *v *= f);
    }
}

/// Clamp to [lo, hi] as clamp_min then clamp_max; comparisons are false for NaN, which stays.
struct Clamp {
    lo: f32,
    hi: f32,
}

impl UpdateTile for Clamp {
    #[inline(always)]
    fn tile(&mut self, x: &mut [f32]) {
        let Clamp { lo, hi } = *self;
        for v in x.iter_mut() {
            let c = if *v < lo { lo } else { *v };
            *v = if c > hi { hi } else { c };
        }
    }
}

#[inline(always)]
fn scale_run_inline(d: GradData<'_>, factor: f32) {
    with_grads!(d, d => Element::update_each(d, &mut Scale(factor)));
}

multiversion! {
    fn scale_run(d: GradData<'_>, factor: f32) -> () => scale_run_inline
}

/// Multiplies every included gradient by `factor` (one write pass, threaded for large lists;
/// f32 math, one rounding for half types).
pub fn scale(lists: &mut [GradList<'_>], factor: f32) {
    crate::chunks::for_each_run_mut(lists, |d| scale_run(d, factor), |()| ());
}

/// Whether a norm order cannot reduce an empty tensor (max, min, negative powers: no identity);
/// an error for NaN. Shared with the CUDA backend, which reduces on the device.
pub fn norm_needs_elements(norm_type: f64) -> Result<bool, KernelError> {
    Ok(Norm::new(norm_type)?.needs_elements())
}

/// torch's error for such an order over an included empty tensor.
pub fn empty_tensor_norm(norm_type: f64) -> KernelError {
    KernelError::new(format!(
        "cannot compute the {} norm of an empty gradient tensor because the operation does not have an identity",
        py_float(norm_type)
    ))
}

/// torch's error for `error_if_nonfinite=True`.
pub fn non_finite_norm(norm_type: f64) -> KernelError {
    KernelError::new(format!(
        "The total norm of order {} for gradients from `parameters` is non-finite, so it cannot be clipped. \
         To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`",
        py_float(norm_type)
    ))
}

/// torch's `clip_grad_norm_`: the total norm (returned), then every gradient times the clamped
/// coefficient. torch always multiplies, so an inf norm zeroes finite gradients (and inf * 0 is
/// NaN) and a NaN norm makes every gradient NaN; a coefficient of exactly 1 changes nothing and skips the pass.
pub fn clip_grad_norm(lists: &mut [GradList<'_>], max_norm: f64, norm_type: f64, error_if_nonfinite: bool) -> Result<f32, KernelError> {
    let total = total_norm(lists, norm_type)?;
    if error_if_nonfinite && !total.is_finite() {
        return Err(non_finite_norm(norm_type));
    }
    let coef = clip_coefficient(max_norm, total);
    if coef != 1.0 {
        scale(lists, coef);
    }
    Ok(total)
}

/// torch's `clip_grad_value_`: clamp to [-c, c] with c in float32 (clamp_min, then clamp_max, so
/// a negative c sets everything to c); NaN stays NaN.
pub fn clip_grad_value(lists: &mut [GradList<'_>], clip_value: f64) {
    let hi = clip_value as f32;
    clamp_lists(lists, -hi, hi);
}

#[inline(always)]
fn clamp_run_inline(d: GradData<'_>, lo: f32, hi: f32) {
    with_grads!(d, d => Element::update_each(d, &mut Clamp { lo, hi }));
}

multiversion! {
    fn clamp_run(d: GradData<'_>, lo: f32, hi: f32) -> () => clamp_run_inline
}

fn clamp_lists(lists: &mut [GradList<'_>], lo: f32, hi: f32) {
    crate::chunks::for_each_run_mut(lists, |d| clamp_run(d, lo, hi), |()| ());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grads::{Dtype, GradData};
    use half::{bf16, f16};

    fn list(g: &mut [f32]) -> GradList<'_> {
        GradList::whole(GradData::F32(g))
    }

    fn norm_of(tensors: &mut [Vec<f32>], p: f64) -> Result<f32, KernelError> {
        let lists: Vec<_> = tensors.iter_mut().map(|t| list(t)).collect();
        total_norm(&lists, p)
    }

    #[test]
    fn norms_of_two_tensors_by_hand() {
        let mut t = vec![vec![3.0f32, -4.0], vec![12.0]];
        assert_eq!(norm_of(&mut t, 2.0).unwrap(), 13.0);
        assert_eq!(norm_of(&mut t, 1.0).unwrap(), 19.0);
        assert_eq!(norm_of(&mut t, f64::INFINITY).unwrap(), 12.0);
        assert_eq!(norm_of(&mut t, f64::NEG_INFINITY).unwrap(), 3.0);
        // (27 + 64 + 1728)^(1/3) = 1819^(1/3)
        assert!((norm_of(&mut t, 3.0).unwrap() - 1819f32.powf(1.0 / 3.0)).abs() < 1e-5);
        // p = 0.5: (sqrt3 + 2 + sqrt12)^2
        let want = (3f64.sqrt() + 2.0 + 12f64.sqrt()).powi(2) as f32;
        assert!((norm_of(&mut t, 0.5).unwrap() - want).abs() < 1e-4);
    }

    #[test]
    fn zero_order_counts_tensors_with_a_nonzero_element_as_torch_does() {
        // Per-tensor counts [2, 0, 1]; torch then takes the 0-norm of those counts: 2.
        let mut t = vec![vec![1.0f32, 0.0, -2.0], vec![0.0, -0.0], vec![f32::NAN]];
        assert_eq!(norm_of(&mut t, 0.0).unwrap(), 2.0);
    }

    #[test]
    fn many_elements_accumulate_accurately() {
        // 100_003 elements (not a multiple of the tile) of float32(0.1), against f64 arithmetic.
        let mut t = vec![vec![0.1f32; 100_003]];
        let want = (100_003f64 * f64::from(0.1f32).powi(2)).sqrt();
        let got = f64::from(norm_of(&mut t, 2.0).unwrap());
        assert!((got - want).abs() / want < 1e-6, "{got} vs {want}");
        let got = f64::from(norm_of(&mut t, 1.0).unwrap());
        assert!((got - 100_003.0 * f64::from(0.1f32)).abs() / got < 1e-6, "{got}");
    }

    #[test]
    fn inf_and_nan_propagate_through_every_order() {
        for p in [1.0, 2.0, 3.0, f64::INFINITY] {
            let mut t = vec![vec![1.0f32, f32::INFINITY], vec![2.0]];
            assert_eq!(norm_of(&mut t, p).unwrap(), f32::INFINITY, "p={p}");
            let mut t = vec![vec![1.0f32], vec![f32::NAN, f32::INFINITY]];
            assert!(norm_of(&mut t, p).unwrap().is_nan(), "p={p}");
        }
        let mut t = vec![vec![1.0f32, f32::NAN]];
        assert!(norm_of(&mut t, f64::NEG_INFINITY).unwrap().is_nan());
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(norm_of(&mut [], 2.0).unwrap(), 0.0);
        assert_eq!(norm_of(&mut [], f64::INFINITY).unwrap(), 0.0);
        let mut t = vec![vec![], vec![2.0f32]];
        assert_eq!(norm_of(&mut t, 2.0).unwrap(), 2.0);
        let e = norm_of(&mut t, f64::INFINITY).unwrap_err();
        assert!(e.0.contains("inf norm of an empty gradient tensor"), "{e}");
        assert!(norm_of(&mut t, -1.0).unwrap_err().0.contains("-1.0 norm"));
        assert!(norm_of(&mut t, f64::NAN).is_err());
    }

    #[test]
    fn excluded_tensors_do_not_count() {
        // A zero-filled tensor without a gradient would make the -1 norm 0 if it counted.
        let mut g = [0.0f32, 0.0, 2.0, 2.0];
        let offsets = [0, 2, 4];
        let l = GradList::new(GradData::F32(&mut g), Some(&offsets), Some(&[0, 1])).unwrap();
        // (2^-1 + 2^-1)^-1 = 1
        assert_eq!(total_norm(&[l], -1.0).unwrap(), 1.0);
    }

    #[test]
    fn clip_scales_by_the_clamped_coefficient() {
        let mut a = [3.0f32, -4.0];
        let mut l = [list(&mut a)];
        let total = clip_grad_norm(&mut l, 1.0, 2.0, false).unwrap();
        assert_eq!(total, 5.0);
        let coef = (1.0f32 / (5.0 + 1e-6)) * 1.0;
        assert_eq!(a, [3.0 * coef, -4.0 * coef]);
        // Below max_norm: untouched.
        let mut b = [0.3f32, 0.4];
        clip_grad_norm(&mut [list(&mut b)], 1.0, 2.0, false).unwrap();
        assert_eq!(b, [0.3, 0.4]);
    }

    #[test]
    fn clip_with_non_finite_norms_follows_torch() {
        let mut a = [1.0f32, f32::INFINITY, -2.0];
        assert_eq!(clip_grad_norm(&mut [list(&mut a)], 1.0, 2.0, false).unwrap(), f32::INFINITY);
        assert_eq!(a[0], 0.0);
        assert!(a[1].is_nan());
        assert!(a[2] == 0.0 && a[2].is_sign_negative());
        let mut b = [1.0f32, f32::NAN];
        assert!(clip_grad_norm(&mut [list(&mut b)], 1.0, 2.0, false).unwrap().is_nan());
        assert!(b.iter().all(|v| v.is_nan()));
        let mut c = [1.0f32, f32::INFINITY];
        let e = clip_grad_norm(&mut [list(&mut c)], 1.0, f64::INFINITY, true).unwrap_err();
        assert!(e.0.starts_with("The total norm of order inf for gradients from `parameters` is non-finite"), "{e}");
        assert_eq!(c, [1.0, f32::INFINITY], "nothing is scaled when it raises");
    }

    #[test]
    fn coefficient_matches_torch_float32_math() {
        assert_eq!(clip_coefficient(1.0, 0.0), 1.0);
        assert_eq!(clip_coefficient(0.0, 2.0), 0.0);
        assert_eq!(clip_coefficient(1.0, f32::INFINITY), 0.0);
        assert!(clip_coefficient(1.0, f32::NAN).is_nan());
        assert_eq!(clip_coefficient(2.0, 4.0), (1.0f32 / (4.0 + 1e-6)) * 2.0);
    }

    #[test]
    fn half_precision_gradients() {
        // fp16: [3, -4] and bf16 [12] in one call: norm 13, clipped to 6.5 => coefficient ~0.5.
        let mut h: Vec<u16> = [3.0f32, -4.0].iter().map(|&v| f16::from_f32(v).to_bits()).collect();
        let mut b: Vec<u16> = vec![bf16::from_f32(12.0).to_bits()];
        let mut lists = [
            GradList::whole(GradData::from_bits(&mut h, Dtype::F16).unwrap()),
            GradList::whole(GradData::from_bits(&mut b, Dtype::Bf16).unwrap()),
        ];
        assert_eq!(clip_grad_norm(&mut lists, 6.5, 2.0, false).unwrap(), 13.0);
        let coef = (1.0f32 / (13.0 + 1e-6)) * 6.5;
        assert_eq!(f16::from_bits(h[0]), f16::from_f32(3.0 * coef));
        assert_eq!(f16::from_bits(h[1]), f16::from_f32(-4.0 * coef));
        assert_eq!(bf16::from_bits(b[0]), bf16::from_f32(12.0 * coef));
        assert_eq!(bf16::from_bits(b[0]).to_f32(), 6.0);
    }

    #[test]
    fn dispatched_variants_match_the_baseline_bit_for_bit() {
        // The run-time variant (AVX-512 / AVX2 here) against the same code compiled for baseline x86-64.
        let g: Vec<f32> = (0..5_003).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5).collect();
        let h: Vec<u16> = g.iter().map(|&v| f16::from_f32(v).to_bits()).collect();
        for p in [0.0, 1.0, 2.0, 3.0, f64::INFINITY, f64::NEG_INFINITY] {
            let norm = Norm::new(p).unwrap();
            for c in [GradSlice::F32(&g), GradSlice::F16(half::slice::HalfBitsSliceExt::reinterpret_cast(&h[..]))] {
                for check in [false, true] {
                    let (a, b) = (chunk_partial(c, norm, 0.5, check), chunk_partial_inline(c, norm, 0.5, check));
                    assert_eq!((a.0.to_bits(), a.1), (b.0.to_bits(), b.1), "p={p}");
                }
            }
        }
        let mut a = g.clone();
        scale(&mut [list(&mut a)], 0.3);
        let mut b = g.clone();
        scale_run_inline(GradData::F32(&mut b), 0.3);
        assert_eq!(a, b);
    }

    #[test]
    fn the_fused_read_pass_reports_norm_and_non_finite_values() {
        let mut a = [3.0f32, 4.0];
        assert_eq!(total_norm_and_check(&[list(&mut a)], 2.0, 1.0).unwrap(), (5.0, false));
        // The norm of the unscaled values; the 0-order count (one tensor with non-zeros) is the same.
        assert_eq!(total_norm_and_check(&[list(&mut a)], 2.0, 0.5).unwrap(), (2.5, false));
        assert_eq!(total_norm_and_check(&[list(&mut a)], 0.0, 0.5).unwrap(), (1.0, false));
        // Finite values whose squares overflow float32 (as in torch's float32 norm) are not
        // "found inf": torch checks elements. Unscaled first, the same values have a finite norm.
        let mut b = [1e20f32, 1e20];
        assert_eq!(total_norm_and_check(&[list(&mut b)], 2.0, 1.0).unwrap(), (f32::INFINITY, false));
        let (n, found) = total_norm_and_check(&[list(&mut b)], 2.0, 1.0 / 65536.0).unwrap();
        assert!(!found && (f64::from(n) - 2f64.sqrt() * 1e20 / 65536.0).abs() / f64::from(n) < 1e-6, "{n}");
        let mut c = vec![1.0f32; 1000];
        c[999] = f32::NAN;
        let (n, found) = total_norm_and_check(&[list(&mut c)], f64::INFINITY, 1.0).unwrap();
        assert!(n.is_nan() && found);
        let mut h = [f16::INFINITY.to_bits(), f16::from_f32(2.0).to_bits()];
        let l = [GradList::whole(GradData::from_bits(&mut h, Dtype::F16).unwrap())];
        assert_eq!(total_norm_and_check(&l, 1.0, 1.0).unwrap(), (f32::INFINITY, true));
    }

    /// Lists above the parallel threshold (a tensor spanning several chunks, many small ones, an
    /// excluded one, fp16 and f32): the norm and the check are the same bits with 1 and 2
    /// threads, and equal the per-tensor f64 sums they approximate; scaling is exact either way.
    #[test]
    fn threads_do_not_change_a_bit() {
        use crate::threads::{set_num_threads, CHUNK, PARALLEL_MIN};
        let n = PARALLEL_MIN + 2 * CHUNK + 123;
        let g: Vec<f32> = (0..n).map(|i| ((i * 7919) % 2001) as f32 * 1e-3 - 1.0).collect();
        let mut offsets: Vec<u32> = vec![0, 7, (3 * CHUNK + 5) as u32];
        offsets.extend((1..200).map(|k| (3 * CHUNK + 5 + k * 300) as u32));
        offsets.push(n as u32);
        let include: Vec<u8> = (0..offsets.len() - 1).map(|i| u8::from(i != 1)).collect();
        let h: Vec<u16> = g.iter().map(|&v| f16::from_f32(v * 8.0).to_bits()).collect();
        let run = |threads: usize| {
            set_num_threads(threads).unwrap();
            let (mut a, mut b) = (g.clone(), h.clone());
            let lists = [
                GradList::new(GradData::F32(&mut a), Some(&offsets), Some(&include)).unwrap(),
                GradList::new(GradData::from_bits(&mut b, Dtype::F16).unwrap(), Some(&offsets), Some(&include)).unwrap(),
            ];
            let norms: Vec<(u32, bool)> = [0.0, 1.0, 2.0, 3.0, f64::INFINITY, f64::NEG_INFINITY]
                .iter()
                .map(|&p| {
                    let (v, found) = total_norm_and_check(&lists, p, 0.125).unwrap();
                    (v.to_bits(), found)
                })
                .collect();
            let mut lists = lists;
            scale(&mut lists, 0.75);
            unscale_check(&mut lists);
            (norms, a, b)
        };
        let one = run(1);
        let two = run(2);
        set_num_threads(0).unwrap();
        assert!(one == two, "results differ between 1 and 2 threads");
        // The 2-norm against an f64 reference over the included tensors of both lists.
        let mut want = 0.0f64;
        for (_, w) in offsets.windows(2).enumerate().filter(|(i, _)| include[*i] != 0) {
            for k in w[0] as usize..w[1] as usize {
                want += f64::from(g[k] * 0.125).powi(2) + f64::from(f16::from_bits(h[k]).to_f32() * 0.125).powi(2);
            }
        }
        let got = f64::from(f32::from_bits(one.0[2].0));
        assert!((got - want.sqrt()).abs() / got < 1e-6, "{got} vs {}", want.sqrt());
        assert_eq!(one.1[3], g[3] * 0.75);
        assert_eq!(one.1[100], g[100], "tensor 1 is excluded");
    }

    fn unscale_check(lists: &mut [GradList<'_>]) {
        assert!(!crate::scaler::unscale(lists, 1.0));
    }

    #[test]
    fn clip_by_value() {
        let mut a = [-0.9f32, 0.2, 1.5, f32::NAN, f32::NEG_INFINITY];
        clip_grad_value(&mut [list(&mut a)], 0.3);
        assert_eq!(a[..3], [-0.3f32, 0.2, 0.3]);
        assert!(a[3].is_nan());
        assert_eq!(a[4], -0.3);
        let mut b = [5.0f32, -5.0];
        clip_grad_value(&mut [list(&mut b)], -1.0);
        assert_eq!(b, [-1.0, -1.0]);
        let mut h = [f16::from_f32(2.0).to_bits()];
        clip_grad_value(&mut [GradList::whole(GradData::from_bits(&mut h, Dtype::F16).unwrap())], 0.5);
        assert_eq!(f16::from_bits(h[0]).to_f32(), 0.5);
    }
}
