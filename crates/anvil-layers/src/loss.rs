//! Softmax cross-entropy over class logits (torch.nn.CrossEntropyLoss, mean reduction),
//! fused with its gradient so the logits are read once.

use crate::{expect_len, ShapeError};

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
    fn out_of_range_label_is_an_error() {
        let mut d = [0.0f32; 3];
        let err = softmax_cross_entropy(&[0.0; 3], &[3], 3, 1.0, &mut d).unwrap_err();
        assert!(err.0.contains("label 3"));
    }
}
