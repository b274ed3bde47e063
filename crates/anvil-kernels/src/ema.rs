//! Averaged-model updates (MMEngine's ExponentialMovingAverage / MomentumAnnealingEMA use torch's
//! `lerp_`, StochasticWeightAverage `add_(src - avg, alpha)`), over lists of float32 tensor pairs.

use crate::error::KernelError;
use crate::simd::multiversion;

fn check_pairs(averaged: &[&mut [f32]], source: &[&[f32]]) -> Result<(), KernelError> {
    if averaged.len() != source.len() {
        return Err(KernelError::new(format!("{} averaged tensors but {} source tensors", averaged.len(), source.len())));
    }
    for (i, (a, s)) in averaged.iter().zip(source).enumerate() {
        if a.len() != s.len() {
            return Err(KernelError::new(format!("tensor {i}: averaged holds {} elements, source {}", a.len(), s.len())));
        }
    }
    Ok(())
}

/// torch's `avg.lerp_(src, weight)` for float32: the weight is rounded to f32, and the formula
/// switches at |w| = 0.5 so that w = 1 gives exactly `src`.
pub fn lerp(averaged: &mut [&mut [f32]], source: &[&[f32]], weight: f64) -> Result<(), KernelError> {
    check_pairs(averaged, source)?;
    lerp_pairs(averaged, source, weight as f32);
    Ok(())
}

/// torch's `avg.add_(src - avg, alpha=alpha)` in float32 (the difference rounded first).
pub fn add_difference(averaged: &mut [&mut [f32]], source: &[&[f32]], alpha: f64) -> Result<(), KernelError> {
    check_pairs(averaged, source)?;
    add_difference_pairs(averaged, source, alpha as f32);
    Ok(())
}

multiversion! {
    fn lerp_pairs(averaged: &mut [&mut [f32]], source: &[&[f32]], w: f32) -> () => lerp_inline
}

multiversion! {
    fn add_difference_pairs(averaged: &mut [&mut [f32]], source: &[&[f32]], alpha: f32) -> () => add_difference_inline
}

#[inline(always)]
fn lerp_inline(averaged: &mut [&mut [f32]], source: &[&[f32]], w: f32) {
    let one_minus_w = 1.0 - w;
    for (a, s) in averaged.iter_mut().zip(source) {
        if w.abs() < 0.5 {
            for (a, &s) in a.iter_mut().zip(s.iter()) {
                *a += w * (s - *a);
            }
        } else {
            for (a, &s) in a.iter_mut().zip(s.iter()) {
                *a = s - (s - *a) * one_minus_w;
            }
        }
    }
}

#[inline(always)]
fn add_difference_inline(averaged: &mut [&mut [f32]], source: &[&[f32]], alpha: f32) {
    for (a, s) in averaged.iter_mut().zip(source) {
        for (a, &s) in a.iter_mut().zip(s.iter()) {
            *a += alpha * (s - *a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lerp_moves_by_the_weight_and_reaches_the_source_at_one() {
        let (mut a, mut b) = ([0.0f32, 10.0], [4.0f32]);
        lerp(&mut [&mut a, &mut b], &[&[1.0, 20.0], &[0.0]], 0.25).unwrap();
        assert_eq!(a, [0.25, 12.5]);
        assert_eq!(b, [3.0]);
        // Large weights use src - (src - avg) * (1 - w): exact at w = 1.
        let mut c = [0.1f32, -7.0];
        lerp(&mut [&mut c], &[&[0.3, 2.0]], 1.0).unwrap();
        assert_eq!(c, [0.3, 2.0]);
        let mut d = [0.0f32];
        lerp(&mut [&mut d], &[&[8.0]], 0.75).unwrap();
        assert_eq!(d, [6.0]);
    }

    #[test]
    fn add_difference_is_a_running_mean() {
        // Mean of 2, 4, 9 by SWA's rule: alpha = 1 / (n + 1).
        let mut a = [2.0f32];
        add_difference(&mut [&mut a], &[&[4.0]], 0.5).unwrap();
        add_difference(&mut [&mut a], &[&[9.0]], 1.0 / 3.0).unwrap();
        assert!((a[0] - 5.0).abs() < 1e-6, "{a:?}");
    }

    #[test]
    fn mismatched_lists_are_errors() {
        let mut a = [0.0f32; 2];
        assert!(lerp(&mut [&mut a], &[], 0.1).unwrap_err().0.contains("1 averaged tensors but 0 source"));
        assert!(add_difference(&mut [&mut a], &[&[1.0]], 0.1).unwrap_err().0.contains("tensor 0: averaged holds 2 elements, source 1"));
    }
}
