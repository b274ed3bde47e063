//! Test helpers: deterministic pseudo-random buffers and a central-difference gradient check
//! of a scalar loss `L = sum(r * f(x))`, so every layer's backward is checked the same way.

/// Deterministic values in [-1, 1) (splitmix64), different for each `seed`.
pub fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `sum(r * y)` in f64, the probe loss whose gradient with respect to `y` is `r`.
pub fn dot(y: &[f32], r: &[f32]) -> f64 {
    y.iter().zip(r).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
}

/// Compares `analytic` with central differences of `loss` around `values` (step `h`), within
/// `tol * max(1, |numeric|)` per element.
pub fn check(name: &str, values: &[f32], analytic: &[f32], h: f32, tol: f64, mut loss: impl FnMut(&[f32]) -> f64) {
    assert_eq!(values.len(), analytic.len(), "{name}: gradient length");
    let mut probe = values.to_vec();
    for k in 0..values.len() {
        probe[k] = values[k] + h;
        let up = loss(&probe);
        probe[k] = values[k] - h;
        let down = loss(&probe);
        probe[k] = values[k];
        let numeric = (up - down) / (2.0 * f64::from(h));
        let got = f64::from(analytic[k]);
        assert!(
            (numeric - got).abs() <= tol * numeric.abs().max(1.0),
            "{name}[{k}]: analytic {got} vs numeric {numeric}"
        );
    }
}
