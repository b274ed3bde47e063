//! Losses fused with their gradients: the plain softmax cross-entropy of the bundled classifiers
//! (the general CrossEntropyLoss is in cross_entropy.rs), MSELoss and BCEWithLogitsLoss.

use crate::cross_entropy::Reduction;
use crate::{expect_len, invalid, ShapeError};

/// Returns the mean loss over the batch and writes `dlogits = scale * (softmax - onehot) / batch`.
/// `scale` is the factor the optimizer wrapper hands the model (accumulation, loss scale).
pub fn softmax_cross_entropy(
    logits: &[f32],
    labels: &[u32],
    classes: usize,
    scale: f32,
    dlogits: &mut [f32],
) -> Result<f64, ShapeError> {
    let batch = labels.len();
    expect_len("logits", logits.len(), batch * classes)?;
    expect_len("logit gradient", dlogits.len(), logits.len())?;
    if let Some(&bad) = labels.iter().find(|&&l| l as usize >= classes) {
        return Err(ShapeError(format!("label {bad} is out of range for {classes} classes")));
    }
    if batch == 0 {
        return Ok(0.0);
    }
    let mut total = 0.0f64;
    let g = scale / batch as f32;
    for ((row, grad), &label) in logits.chunks_exact(classes).zip(dlogits.chunks_exact_mut(classes)).zip(labels) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (d, &z) in grad.iter_mut().zip(row) {
            *d = (z - max).exp();
            sum += *d;
        }
        total += f64::from(sum.ln() + max - row[label as usize]);
        let inv = g / sum;
        for d in grad.iter_mut() {
            *d *= inv;
        }
        grad[label as usize] -= g;
    }
    Ok(total / batch as f64)
}

/// MSELoss: `mean((x - t)^2)` (or the sum); writes `dinput = scale * dloss/dx`.
pub fn mse(input: &[f32], target: &[f32], reduction: Reduction, scale: f32, dinput: &mut [f32]) -> Result<f64, ShapeError> {
    expect_len("target", target.len(), input.len())?;
    expect_len("input gradient", dinput.len(), input.len())?;
    let n = if reduction == Reduction::Mean { input.len() as f64 } else { 1.0 };
    let g = (2.0 * f64::from(scale) / n) as f32;
    let mut total = 0.0f64;
    for ((d, &x), &t) in dinput.iter_mut().zip(input).zip(target) {
        let diff = x - t;
        total += f64::from(diff) * f64::from(diff);
        *d = g * diff;
    }
    Ok(total / n)
}

/// BCEWithLogitsLoss in torch's stable form
/// `(1 - t) x + (1 + (p - 1) t) (log(1 + exp(-|x|)) + max(-x, 0))`, times `weight`; `weight` and
/// `pos_weight` broadcast along the last dimension (their length divides the input's).
pub fn bce_with_logits(
    input: &[f32],
    target: &[f32],
    weight: Option<&[f32]>,
    pos_weight: Option<&[f32]>,
    reduction: Reduction,
    scale: f32,
    dinput: &mut [f32],
) -> Result<f64, ShapeError> {
    expect_len("target", target.len(), input.len())?;
    expect_len("input gradient", dinput.len(), input.len())?;
    for (name, v) in [("weight", weight), ("pos_weight", pos_weight)] {
        if let Some(v) = v {
            if v.is_empty() || !input.len().is_multiple_of(v.len()) {
                return Err(invalid(format!("BCEWithLogitsLoss: {name} of {} elements does not broadcast over {} inputs", v.len(), input.len())));
            }
        }
    }
    let n = if reduction == Reduction::Mean { input.len() as f64 } else { 1.0 };
    let g = (f64::from(scale) / n) as f32;
    let mut total = 0.0f64;
    for (i, ((d, &x), &t)) in dinput.iter_mut().zip(input).zip(target).enumerate() {
        let w = weight.map_or(1.0, |w| w[i % w.len()]);
        let lw = pos_weight.map_or(1.0, |p| 1.0 + (p[i % p.len()] - 1.0) * t);
        let softplus_neg = (-x.abs()).exp().ln_1p() + (-x).max(0.0);
        total += f64::from(w * ((1.0 - t) * x + lw * softplus_neg));
        // sigmoid(-x), stable for either sign.
        let sig_neg = if x >= 0.0 { let e = (-x).exp(); e / (1.0 + e) } else { 1.0 / (1.0 + x.exp()) };
        *d = g * w * ((1.0 - t) - lw * sig_neg);
    }
    Ok(total / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_cost_log_classes() {
        let mut d = [0.0f32; 6];
        let loss = softmax_cross_entropy(&[0.0; 6], &[0, 2], 3, 1.0, &mut d).unwrap();
        assert!((loss - 3f64.ln()).abs() < 1e-6);
        let third = 1.0 / 3.0 / 2.0;
        assert!((d[0] - (third - 0.5)).abs() < 1e-6 && (d[1] - third).abs() < 1e-6);
    }

    #[test]
    fn gradient_matches_finite_differences_and_scales() {
        let z = [0.5f32, -1.0, 2.0, 0.1, 0.3, -0.7];
        let labels = [2u32, 0];
        let mut d = [0.0f32; 6];
        softmax_cross_entropy(&z, &labels, 3, 0.5, &mut d).unwrap();
        let mut scratch = [0.0f32; 6];
        for k in 0..6 {
            let (mut zp, mut zm) = (z, z);
            zp[k] += 1e-2;
            zm[k] -= 1e-2;
            let lp = softmax_cross_entropy(&zp, &labels, 3, 1.0, &mut scratch).unwrap();
            let lm = softmax_cross_entropy(&zm, &labels, 3, 1.0, &mut scratch).unwrap();
            let numeric = 0.5 * (lp - lm) / 2e-2;
            assert!((numeric - f64::from(d[k])).abs() < 1e-4, "d[{k}] {numeric} vs {}", d[k]);
        }
    }

    #[test]
    fn mse_and_bce_gradients_match_finite_differences() {
        use crate::gradcheck::{check, data};
        let x: Vec<f32> = data(12, 1).iter().map(|v| v * 3.0).collect();
        let t: Vec<f32> = data(12, 2).iter().map(|v| (v + 1.0) / 2.0).collect();
        let (w, pw) = ([0.5f32, 2.0, 1.0], [3.0f32, 0.5, 1.0]);
        let mut scratch = vec![0.0; 12];
        for red in [Reduction::Mean, Reduction::Sum] {
            let mut d = vec![0.0; 12];
            mse(&x, &t, red, 0.5, &mut d).unwrap();
            check("mse", &x, &d, 1e-2, 2e-3, |v| 0.5 * mse(v, &t, red, 1.0, &mut scratch).unwrap());
            for (wt, pwt) in [(None, None), (Some(&w[..]), Some(&pw[..]))] {
                bce_with_logits(&x, &t, wt, pwt, red, 1.0, &mut d).unwrap();
                check("bce", &x, &d, 1e-2, 2e-3, |v| bce_with_logits(v, &t, wt, pwt, red, 1.0, &mut scratch).unwrap());
            }
        }
        // torch: F.binary_cross_entropy_with_logits(tensor([2., -1.]), tensor([1., 0.]))
        let l = bce_with_logits(&[2.0, -1.0], &[1.0, 0.0], None, None, Reduction::Mean, 1.0, &mut [0.0; 2]).unwrap();
        assert!((l - 0.220_094_89).abs() < 1e-6, "{l}");
    }

    #[test]
    fn out_of_range_label_is_an_error() {
        let mut d = [0.0f32; 3];
        let err = softmax_cross_entropy(&[0.0; 3], &[3], 3, 1.0, &mut d).unwrap_err();
        assert!(err.0.contains("label 3"));
    }
}
