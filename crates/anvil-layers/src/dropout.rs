//! Dropout (torch.nn.Dropout) with a seeded mask: each element is kept with probability 1 - p and
//! scaled by 1 / (1 - p); the mask (0 or the scale) is kept for backward.

use crate::{expect_len, invalid, ShapeError};

/// splitmix64: a fast, seedable stream; 24 random bits per element are plenty for a keep test.
struct SplitMix(u64);

impl SplitMix {
    #[inline]
    fn next_unit(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Writes `mask` (0 or 1/(1-p)) drawn from `seed` and `y = x * mask`.
pub fn forward(x: &[f32], p: f32, seed: u64, mask: &mut [f32], y: &mut [f32]) -> Result<(), ShapeError> {
    if !(0.0..=1.0).contains(&p) {
        return Err(invalid(format!("Dropout: probability has to be between 0 and 1, but got {p}")));
    }
    expect_len("mask", mask.len(), x.len())?;
    expect_len("output", y.len(), x.len())?;
    let scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
    let mut rng = SplitMix(seed);
    for ((m, o), &v) in mask.iter_mut().zip(y.iter_mut()).zip(x) {
        *m = if rng.next_unit() >= p { scale } else { 0.0 };
        *o = v * *m;
    }
    Ok(())
}

/// `dy *= mask` in place.
pub fn backward(mask: &[f32], dy: &mut [f32]) -> Result<(), ShapeError> {
    expect_len("gradient", dy.len(), mask.len())?;
    dy.iter_mut().zip(mask).for_each(|(g, &m)| *g *= m);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_about_one_minus_p_scaled_and_is_reproducible() {
        let x = vec![1.0f32; 20_000];
        let (mut m, mut y) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        forward(&x, 0.25, 7, &mut m, &mut y).unwrap();
        let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / x.len() as f64;
        assert!((kept - 0.75).abs() < 0.01, "{kept}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
        let mut y2 = vec![0.0; x.len()];
        forward(&x, 0.25, 7, &mut m, &mut y2).unwrap();
        assert_eq!(y, y2);
        let mut g = vec![1.0; x.len()];
        backward(&m, &mut g).unwrap();
        assert_eq!(g, y);
    }

    #[test]
    fn backward_matches_finite_differences_for_a_fixed_seed() {
        use crate::gradcheck::{check, data, dot};
        let (x, r) = (data(50, 1), data(50, 2));
        let (mut m, mut y) = (vec![0.0; 50], vec![0.0; 50]);
        forward(&x, 0.4, 9, &mut m, &mut y).unwrap();
        let mut g = r.clone();
        backward(&m, &mut g).unwrap();
        check("dx", &x, &g, 1e-2, 1e-3, |v| {
            let (mut m, mut y) = (vec![0.0; 50], vec![0.0; 50]);
            forward(v, 0.4, 9, &mut m, &mut y).unwrap();
            dot(&y, &r)
        });
    }

    #[test]
    fn extremes_and_bad_probabilities() {
        let (mut m, mut y) = ([0.0; 3], [0.0; 3]);
        forward(&[1.0, 2.0, 3.0], 0.0, 1, &mut m, &mut y).unwrap();
        assert_eq!(y, [1.0, 2.0, 3.0]);
        forward(&[1.0, 2.0, 3.0], 1.0, 1, &mut m, &mut y).unwrap();
        assert_eq!(y, [0.0; 3]);
        assert!(forward(&[1.0], 1.5, 1, &mut [0.0], &mut [0.0]).is_err());
    }
}
