//! CrossEntropyLoss (torch.nn.CrossEntropyLoss) on logits [batch, classes, spatial] with class-index
//! targets: ignore_index, class weights, label smoothing by torch's formulas, fused with the gradient.

use crate::{expect_len, invalid, ShapeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Mean,
    Sum,
}

#[derive(Debug, Clone, Copy)]
pub struct CrossEntropyOptions<'a> {
    /// One weight per class (torch's `weight`), or `None` for all ones.
    pub weight: Option<&'a [f32]>,
    pub ignore_index: i32,
    pub label_smoothing: f32,
    pub reduction: Reduction,
}

/// logits [batch, classes, spatial] (spatial = 1 for plain classification), targets [batch, spatial].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossEntropyDims {
    pub batch: usize,
    pub classes: usize,
    pub spatial: usize,
}

/// Returns the loss and writes `dlogits = scale * dloss/dlogits`. With every target ignored a
/// mean is 0/0 = NaN, as in torch, and the gradient is zero.
///
/// Per counted position i with target t: `nll_i = w_t (lse_i - z_t)`, `smooth_i = sum_c w_c (lse_i - z_c)`;
/// `loss = ((1 - eps) sum nll + eps / C sum smooth) / D` with `D = sum w_t` (mean) or 1 (sum).
pub fn forward_backward(
    d: CrossEntropyDims,
    logits: &[f32],
    targets: &[i32],
    o: &CrossEntropyOptions<'_>,
    scale: f32,
    dlogits: &mut [f32],
) -> Result<f64, ShapeError> {
    let CrossEntropyDims { batch, classes: c, spatial: s } = d;
    expect_len("logits", logits.len(), batch * c * s)?;
    expect_len("logit gradient", dlogits.len(), logits.len())?;
    expect_len("targets", targets.len(), batch * s)?;
    if let Some(w) = o.weight {
        expect_len("class weights", w.len(), c)?;
    }
    if !(0.0..=1.0).contains(&o.label_smoothing) {
        return Err(invalid(format!("CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got {}", o.label_smoothing)));
    }
    if let Some(&bad) = targets.iter().find(|&&t| t != o.ignore_index && (t < 0 || t as usize >= c)) {
        return Err(invalid(format!("CrossEntropyLoss: target {bad} is out of bounds for {c} classes")));
    }
    if c == 0 || s == 0 || batch == 0 {
        return Ok(if o.reduction == Reduction::Mean { f64::NAN } else { 0.0 });
    }
    let weight = |k: usize| o.weight.map_or(1.0, |w| w[k]);
    let eps = o.label_smoothing;
    let (mut max, mut sum, mut lse) = (vec![0.0f32; s], vec![0.0f32; s], vec![0.0f32; s]);
    let (mut nll, mut smooth, mut denom) = (0.0f64, 0.0f64, 0.0f64);
    // Pass 1: softmax into dlogits, and the loss terms.
    for ((zs, ds), ts) in logits.chunks_exact(c * s).zip(dlogits.chunks_exact_mut(c * s)).zip(targets.chunks_exact(s)) {
        max.fill(f32::NEG_INFINITY);
        for zc in zs.chunks_exact(s) {
            max.iter_mut().zip(zc).for_each(|(m, &z)| *m = m.max(z));
        }
        sum.fill(0.0);
        for (zc, dc) in zs.chunks_exact(s).zip(ds.chunks_exact_mut(s)) {
            for ((e, &z), (&m, acc)) in dc.iter_mut().zip(zc).zip(max.iter().zip(sum.iter_mut())) {
                *e = (z - m).exp();
                *acc += *e;
            }
        }
        lse.iter_mut().zip(max.iter().zip(&sum)).for_each(|(l, (&m, &acc))| *l = m + acc.ln());
        for (k, (zc, dc)) in zs.chunks_exact(s).zip(ds.chunks_exact_mut(s)).enumerate() {
            let wk = f64::from(weight(k));
            for ((e, &z), (&l, (&acc, &t))) in dc.iter_mut().zip(zc).zip(lse.iter().zip(sum.iter().zip(ts))) {
                *e /= acc;
                if t == o.ignore_index {
                    continue;
                }
                let term = wk * f64::from(l - z);
                smooth += term;
                if t as usize == k {
                    nll += term;
                    denom += wk;
                }
            }
        }
    }
    let denom = if o.reduction == Reduction::Mean { denom } else { 1.0 };
    let loss = (f64::from(1.0 - eps) * nll + f64::from(eps) / c as f64 * smooth) / denom;
    // Pass 2: d/dz_j = [(1-eps) w_t (p_j - [j == t]) + eps/C (W p_j - w_j)] * scale / D.
    let g = if denom == 0.0 { 0.0 } else { (f64::from(scale) / denom) as f32 };
    let wsum: f32 = (0..c).map(weight).sum();
    let (keep, spread) = (1.0 - eps, eps / c as f32);
    for (ds, ts) in dlogits.chunks_exact_mut(c * s).zip(targets.chunks_exact(s)) {
        for (k, dc) in ds.chunks_exact_mut(s).enumerate() {
            let wk = weight(k);
            for (p, &t) in dc.iter_mut().zip(ts) {
                if t == o.ignore_index {
                    *p = 0.0;
                    continue;
                }
                let wt = weight(t as usize);
                let hit = if t as usize == k { 1.0 } else { 0.0 };
                *p = g * (keep * wt * (*p - hit) + spread * (wsum * *p - wk));
            }
        }
    }
    Ok(loss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, data};

    fn opts(weight: Option<&[f32]>, ignore_index: i32, label_smoothing: f32, reduction: Reduction) -> CrossEntropyOptions<'_> {
        CrossEntropyOptions { weight, ignore_index, label_smoothing, reduction }
    }

    #[test]
    fn plain_mean_matches_the_fused_classification_loss() {
        let z = data(12, 1);
        let labels = [2u32, 0, 3];
        let (mut d1, mut d2) = ([0.0; 12], [0.0; 12]);
        let want = crate::loss::softmax_cross_entropy(&z, &labels, 4, 0.5, &mut d1).unwrap();
        let t = [2, 0, 3];
        let got = forward_backward(CrossEntropyDims { batch: 3, classes: 4, spatial: 1 }, &z, &t, &opts(None, -100, 0.0, Reduction::Mean), 0.5, &mut d2).unwrap();
        assert!((got - want).abs() < 1e-6);
        for (a, b) in d1.iter().zip(&d2) {
            assert!((a - b).abs() < 1e-7);
        }
    }

    #[test]
    fn weighted_smoothed_ignored_spatial_gradient_matches_finite_differences() {
        let d = CrossEntropyDims { batch: 2, classes: 3, spatial: 4 };
        let z: Vec<f32> = data(24, 2).iter().map(|v| v * 3.0).collect();
        let t = [0, 2, 255, 1, 1, 255, 0, 2];
        let w = [0.5f32, 2.0, 1.5];
        for (weight, eps, red) in [(None, 0.0, Reduction::Mean), (Some(&w[..]), 0.0, Reduction::Mean), (Some(&w[..]), 0.2, Reduction::Mean), (None, 0.1, Reduction::Sum)] {
            let o = opts(weight, 255, eps, red);
            let mut dz = vec![0.0; 24];
            forward_backward(d, &z, &t, &o, 1.0, &mut dz).unwrap();
            let mut scratch = vec![0.0; 24];
            check("dlogits", &z, &dz, 1e-2, 2e-3, |v| forward_backward(d, v, &t, &o, 1.0, &mut scratch).unwrap());
        }
    }

    #[test]
    fn all_ignored_mean_is_nan_with_zero_gradient_and_bad_targets_are_errors() {
        let d = CrossEntropyDims { batch: 2, classes: 3, spatial: 1 };
        let mut dz = [1.0; 6];
        let loss = forward_backward(d, &[0.0; 6], &[-100, -100], &opts(None, -100, 0.0, Reduction::Mean), 1.0, &mut dz).unwrap();
        assert!(loss.is_nan() && dz == [0.0; 6]);
        let err = forward_backward(d, &[0.0; 6], &[3, 0], &opts(None, -100, 0.0, Reduction::Mean), 1.0, &mut dz).unwrap_err();
        assert!(err.0.contains("target 3"));
    }
}
