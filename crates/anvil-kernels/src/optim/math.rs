//! Element helpers with torch's exact CPU semantics, shared by the optimizer kernels
//! (lerp's two formulas, sign of NaN, NaN-propagating maximum).

/// torch's `lerp`: `a + w (b - a)` for |w| < 0.5, else `b - (b - a)(1 - w)`; `one_minus_w` is
/// hoisted by the caller. The branch is on a per-call constant, so loops unswitch on it.
#[inline(always)]
pub fn lerp(a: f32, b: f32, w: f32, one_minus_w: f32) -> f32 {
    if w.abs() < 0.5 {
        a + w * (b - a)
    } else {
        b - (b - a) * one_minus_w
    }
}

/// torch's coupled weight decay `grad.add(param, alpha=wd)`, done only when `wd != 0` as torch
/// does: without decay an inf/NaN parameter must not turn the gradient (and the state) into NaN.
#[inline(always)]
pub fn decayed(g: f32, p: f32, wd: f32) -> f32 {
    if wd != 0.0 {
        g + wd * p
    } else {
        g
    }
}

/// torch's `sign`: -1, 0 or 1, and 0 for NaN.
#[inline(always)]
pub fn sign(x: f32) -> f32 {
    f32::from(u8::from(x > 0.0)) - f32::from(u8::from(x < 0.0))
}

/// torch's `maximum`: NaN when either side is NaN (`f32::max` would drop it).
#[inline(always)]
pub fn maximum(a: f32, b: f32) -> f32 {
    if a > b || a.is_nan() {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torch_semantics() {
        assert_eq!(lerp(1.0, 3.0, 0.25, 0.75), 1.5);
        assert_eq!(lerp(1.0, 3.0, 0.75, 0.25), 2.5);
        assert_eq!([sign(-2.0), sign(0.0), sign(-0.0), sign(f32::NAN), sign(1e-30)], [-1.0, 0.0, 0.0, 0.0, 1.0]);
        assert!(maximum(f32::NAN, 1.0).is_nan() && maximum(1.0, f32::NAN).is_nan());
        assert_eq!(maximum(1.0, 2.0), 2.0);
    }
}
