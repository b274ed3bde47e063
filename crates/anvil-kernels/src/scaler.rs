//! torch.amp.GradScaler's two kernels: unscale with the inf/nan check fused into the same pass
//! (`_amp_foreach_non_finite_check_and_unscale_`), and the dynamic scale update (`_amp_update_scale_`).

use crate::clip;
use crate::elem::{Element, ReadTile, UpdateTile, LANES};
use crate::error::KernelError;
use crate::grads::{with_grads, GradData, GradList};
use crate::simd::multiversion;

const EXP: u32 = 0x7f80_0000;

/// torch's `scale.double().reciprocal().float()`: the reciprocal in f64, rounded once.
pub fn inv_scale(scale: f32) -> f32 {
    (1.0 / f64::from(scale)) as f32
}

/// Whether a run holds inf or NaN (all exponent bits set), with LANES independent flags.
pub(crate) struct NonFinite(pub(crate) bool);

impl ReadTile for NonFinite {
    #[inline(always)]
    fn tile(&mut self, x: &[f32]) {
        let (chunks, rest) = x.as_chunks::<LANES>();
        let mut acc = [0u32; LANES];
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a |= u32::from(v.to_bits() & EXP == EXP);
            }
        }
        let tail = rest.iter().any(|v| v.to_bits() & EXP == EXP);
        self.0 |= tail || acc.iter().any(|&a| a != 0);
    }
}

/// Checks then multiplies each element in one pass: the flag reflects the values before
/// scaling, as torch's kernel checks its input.
struct CheckAndScale {
    inv: f32,
    found: bool,
}

impl UpdateTile for CheckAndScale {
    #[inline(always)]
    fn tile(&mut self, x: &mut [f32]) {
        let inv = self.inv;
        let (chunks, rest) = x.as_chunks_mut::<LANES>();
        let mut acc = [0u32; LANES];
        for c in chunks {
            for (a, v) in acc.iter_mut().zip(c.iter_mut()) {
                *a |= u32::from(v.to_bits() & EXP == EXP);
                *v *= inv;
            }
        }
        let mut tail = false;
        for v in rest.iter_mut() {
            tail |= v.to_bits() & EXP == EXP;
            *v *= inv;
        }
        self.found |= tail || acc.iter().any(|&a| a != 0);
    }
}

/// Multiplies every included gradient by `inv_scale` and returns whether any held inf or NaN
/// (torch's found_inf). fp16/bf16 gradients are widened, scaled in f32 and rounded back, as
/// torch's CPU kernel does. With `inv_scale == 1` nothing changes, so the pass only reads (torch
/// skips the multiply there too). Threaded for large lists, like clipping.
pub fn unscale(lists: &mut [GradList<'_>], inv_scale: f32) -> bool {
    let mut found = false;
    crate::chunks::for_each_run_mut(lists, |d| unscale_run(d, inv_scale), |f| found |= f);
    found
}

multiversion! {
    fn unscale_run(d: GradData<'_>, inv_scale: f32) -> bool => unscale_run_inline
}

#[inline(always)]
fn unscale_run_inline(d: GradData<'_>, inv_scale: f32) -> bool {
    with_grads!(d, d => {
        if inv_scale == 1.0 {
            let mut check = NonFinite(false);
            Element::read_each(&*d, &mut check);
            check.0
        } else {
            let mut scale = CheckAndScale { inv: inv_scale, found: false };
            Element::update_each(d, &mut scale);
            scale.found
        }
    })
}

/// Norm clipping folded into the fused AMP step (torch's `clip_grad_norm_` arguments).
#[derive(Debug, Clone, Copy)]
pub struct ClipSpec {
    pub max_norm: f64,
    pub norm_type: f64,
    pub error_if_nonfinite: bool,
}

/// What the fused AMP step's read pass found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmpCheck {
    pub found_inf: bool,
    /// The total norm of the unscaled gradients (with clipping).
    pub total_norm: Option<f32>,
    /// What the optimizer's update multiplies the gradients by as it reads them: 1/scale, times
    /// the clip coefficient. With a power-of-two scale this equals torch's unscale_, then
    /// clip_grad_norm_, then step, bit for bit (scaling by a power of two is exact).
    pub grad_scale: f32,
}

/// The read pass of the fused AMP step over still-scaled gradients: one pass for the inf/nan
/// check and, with `clip`, the total norm; nothing is written.
pub fn amp_check(lists: &mut [GradList<'_>], scale: f32, clip: Option<ClipSpec>) -> Result<AmpCheck, KernelError> {
    let inv = inv_scale(scale);
    let Some(c) = clip else {
        return Ok(AmpCheck { found_inf: unscale(lists, 1.0), total_norm: None, grad_scale: inv });
    };
    let (total, found_inf) = clip::total_norm_and_check(lists, c.norm_type, inv)?;
    if c.error_if_nonfinite && !total.is_finite() {
        return Err(clip::non_finite_norm(c.norm_type));
    }
    let coef = clip::clip_coefficient(c.max_norm, total);
    Ok(AmpCheck { found_inf, total_norm: Some(total), grad_scale: inv * coef })
}

/// The scale after one `update()`: backoff on inf/nan (tracker reset), else count the good
/// step and grow every `growth_interval` of them. Scale math in f64, stored as float32; a growth
/// that would overflow float32 is dropped (the tracker still resets).
pub fn update_scale(scale: f32, growth_tracker: i32, found_inf: bool, growth_factor: f64, backoff_factor: f64, growth_interval: i64) -> (f32, i32) {
    if found_inf {
        return ((f64::from(scale) * backoff_factor) as f32, 0);
    }
    let successful = growth_tracker.wrapping_add(1);
    if i64::from(successful) == growth_interval {
        let grown = (f64::from(scale) * growth_factor) as f32;
        (if grown.is_finite() { grown } else { scale }, 0)
    } else {
        (scale, successful)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grads::{Dtype, GradData};
    use half::{bf16, f16};

    fn list(g: &mut [f32]) -> GradList<'_> {
        GradList::whole(GradData::F32(g))
    }

    #[test]
    fn unscale_multiplies_by_the_rounded_reciprocal() {
        assert_eq!(inv_scale(65536.0), 1.0 / 65536.0);
        // 1/3 rounded once from f64.
        assert_eq!(inv_scale(3.0), (1.0f64 / 3.0) as f32);
        let mut g = [65536.0f32, -3.0, 0.0];
        assert!(!unscale(&mut [list(&mut g)], inv_scale(65536.0)));
        assert_eq!(g, [1.0, -3.0 / 65536.0, 0.0]);
    }

    #[test]
    fn finds_inf_and_nan_anywhere_and_still_scales() {
        for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            let mut a = vec![1.0f32; 40];
            let mut b = vec![2.0f32; 300];
            b[257] = bad;
            assert!(unscale(&mut [list(&mut a), list(&mut b)], 0.5), "{bad}");
            assert_eq!((a[0], b[0]), (0.5, 1.0));
        }
        // Large finite values are not overflow.
        let mut c = [f32::MAX, -f32::MAX];
        assert!(!unscale(&mut [list(&mut c)], 1.0));
    }

    #[test]
    fn the_check_sees_the_input_not_the_product() {
        // 1e30 * 1e10 overflows to inf after scaling; torch checks the input, so it is not reported.
        let mut g = [1e30f32];
        assert!(!unscale(&mut [list(&mut g)], 1e10));
        assert_eq!(g[0], f32::INFINITY);
    }

    #[test]
    fn excluded_tensors_are_neither_checked_nor_scaled() {
        let mut g = [f32::NAN, 4.0];
        let offsets = [0, 1, 2];
        let mut l = [GradList::new(GradData::F32(&mut g), Some(&offsets), Some(&[0, 1])).unwrap()];
        assert!(!unscale(&mut l, 0.25));
        assert!(g[0].is_nan());
        assert_eq!(g[1], 1.0);
    }

    #[test]
    fn half_gradients_unscale_in_f32_and_round_once() {
        // fp16 1000 * (1/3): f32 product 333.33334 rounds to fp16 333.25 (spacing 0.25 there).
        let mut h = [f16::from_f32(1000.0).to_bits(), f16::INFINITY.to_bits()];
        let inv = inv_scale(3.0);
        assert!(unscale(&mut [GradList::whole(GradData::from_bits(&mut h, Dtype::F16).unwrap())], inv));
        assert_eq!(f16::from_bits(h[0]), f16::from_f32(1000.0 * inv));
        assert_eq!(f16::from_bits(h[0]).to_f32(), 333.25);
        let mut b = [bf16::from_f32(3.0).to_bits()];
        assert!(!unscale(&mut [GradList::whole(GradData::from_bits(&mut b, Dtype::Bf16).unwrap())], 0.5));
        assert_eq!(bf16::from_bits(b[0]).to_f32(), 1.5);
    }

    #[test]
    fn the_fused_read_pass_matches_unscale_then_clip() {
        // Scale 4: unscaled [3, 4] has norm 5; clip to 1 => coefficient c; the update reads g * (c / 4).
        let grads = [12.0f32, 16.0];
        let mut g = grads;
        let clip = ClipSpec { max_norm: 1.0, norm_type: 2.0, error_if_nonfinite: false };
        let r = amp_check(&mut [list(&mut g)], 4.0, Some(clip)).unwrap();
        assert_eq!(g, grads, "the read pass writes nothing");
        let mut reference = grads;
        unscale(&mut [list(&mut reference)], 0.25);
        let total = clip::clip_grad_norm(&mut [list(&mut reference)], 1.0, 2.0, false).unwrap();
        assert_eq!(r, AmpCheck { found_inf: false, total_norm: Some(total), grad_scale: 0.25 * clip::clip_coefficient(1.0, total) });
        assert_eq!([grads[0] * r.grad_scale, grads[1] * r.grad_scale], reference);
        // Without clipping: just the check and 1/scale.
        let r = amp_check(&mut [list(&mut g)], 4.0, None).unwrap();
        assert_eq!(r, AmpCheck { found_inf: false, total_norm: None, grad_scale: 0.25 });
        let mut bad = [f32::NAN];
        assert!(amp_check(&mut [list(&mut bad)], 4.0, Some(clip)).unwrap().found_inf);
        let e = amp_check(&mut [list(&mut bad)], 4.0, Some(ClipSpec { error_if_nonfinite: true, ..clip })).unwrap_err();
        assert!(e.0.contains("is non-finite, so it cannot be clipped"), "{e}");
    }

    #[test]
    fn scale_updates_follow_torch() {
        // Backoff resets the tracker.
        assert_eq!(update_scale(8.0, 1, true, 2.0, 0.5, 2), (4.0, 0));
        // Count, then grow on the interval-th good step.
        assert_eq!(update_scale(8.0, 0, false, 2.0, 0.5, 2), (8.0, 1));
        assert_eq!(update_scale(8.0, 1, false, 2.0, 0.5, 2), (16.0, 0));
        // A growth past float32's range is not applied, but the tracker resets.
        let big = 3e38f32;
        assert_eq!(update_scale(big, 0, false, 2.0, 0.5, 1), (big, 0));
        assert_eq!(update_scale(big, 0, true, 2.0, 0.5, 1), ((f64::from(big) * 0.5) as f32, 0));
        // The product is rounded to float32 once (0.1 is not exact).
        assert_eq!(update_scale(3.0, 0, true, 2.0, 0.1, 1).0, (3.0f64 * 0.1) as f32);
    }
}
