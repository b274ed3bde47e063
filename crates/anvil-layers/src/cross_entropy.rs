//! CrossEntropyLoss (torch.nn.CrossEntropyLoss) on logits [batch, classes, spatial], with class-index
//! targets (ignore_index) or class-probability targets, class weights and label smoothing by torch's
//! formulas; reduced ('mean', 'sum': fused with the gradient) or per position ('none').
//!
//! Both target kinds reduce to one form. At a position with softmax `p`, log-sum-exp `lse` and
//! per-class coefficients `a_c = w_c * q_c`, where `q` is the smoothed target distribution
//! (`(1 - eps) onehot(t) + eps / C` for a class index, `(1 - eps) target + eps / C` for
//! probabilities, all zero where the class index is ignored):
//! `loss = sum_c a_c (lse - z_c)` and `dloss/dz_j = A p_j - a_j` with `A = sum_c a_c`.
//! A mean divides by `sum w_t` over the counted class indices, or by the number of positions for
//! probability targets (torch's two rules).

use crate::{expect_len, invalid, ShapeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Mean,
    Sum,
}

/// What the logits are scored against.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// One class index per position, [batch, spatial]; `ignore_index` positions count for nothing.
    Classes(&'a [i32]),
    /// A distribution over the classes per position, shaped as the logits [batch, classes, spatial].
    Probs(&'a [f32]),
}

#[derive(Debug, Clone, Copy)]
pub struct CrossEntropyOptions<'a> {
    /// One weight per class (torch's `weight`), or `None` for all ones.
    pub weight: Option<&'a [f32]>,
    /// Skipped class-index targets; must be negative with probability targets (torch refuses it).
    pub ignore_index: i32,
    pub label_smoothing: f32,
}

/// logits [batch, classes, spatial] (spatial = 1 for plain classification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossEntropyDims {
    pub batch: usize,
    pub classes: usize,
    pub spatial: usize,
}

/// The per-position loss scale of a gradient pass.
enum GradScale<'a> {
    Uniform(f32),
    PerPosition(&'a [f32]),
}

struct Plan<'a> {
    d: CrossEntropyDims,
    target: Target<'a>,
    weight: Option<&'a [f32]>,
    ignore: i32,
    keep: f32,
    spread: f32,
}

impl<'a> Plan<'a> {
    fn new(d: CrossEntropyDims, logits: usize, target: Target<'a>, o: &CrossEntropyOptions<'a>) -> Result<Plan<'a>, ShapeError> {
        let CrossEntropyDims { batch, classes: c, spatial: s } = d;
        expect_len("logits", logits, batch * c * s)?;
        match target {
            Target::Classes(t) => {
                expect_len("targets", t.len(), batch * s)?;
                if let Some(&bad) = t.iter().find(|&&t| t != o.ignore_index && (t < 0 || t as usize >= c)) {
                    return Err(invalid(format!("CrossEntropyLoss: target {bad} is out of bounds for {c} classes")));
                }
            }
            Target::Probs(q) => {
                expect_len("probability targets", q.len(), batch * c * s)?;
                if o.ignore_index >= 0 {
                    return Err(invalid(format!(
                        "CrossEntropyLoss: ignore_index {} is not supported for probability targets (as in torch; leave it negative, e.g. -100)",
                        o.ignore_index
                    )));
                }
            }
        }
        if let Some(w) = o.weight {
            expect_len("class weights", w.len(), c)?;
        }
        if !(0.0..=1.0).contains(&o.label_smoothing) {
            return Err(invalid(format!("CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got {}", o.label_smoothing)));
        }
        let spread = if c == 0 { 0.0 } else { o.label_smoothing / c as f32 };
        Ok(Plan { d, target, weight: o.weight, ignore: o.ignore_index, keep: 1.0 - o.label_smoothing, spread })
    }

    fn weight(&self, k: usize) -> f32 {
        self.weight.map_or(1.0, |w| w[k])
    }

    /// What a mean divides by: the counted targets' weights, or the number of positions.
    fn mean_denominator(&self) -> f64 {
        match self.target {
            Target::Classes(t) => t.iter().filter(|&&t| t != self.ignore).map(|&t| f64::from(self.weight(t as usize))).sum(),
            Target::Probs(_) => (self.d.batch * self.d.spatial) as f64,
        }
    }

    /// `out[pos] = a_k` at every position of sample `b` for class `k`.
    fn coefficients(&self, b: usize, k: usize, out: &mut [f32]) {
        let (s, wk) = (self.d.spatial, self.weight(k));
        match self.target {
            Target::Classes(t) => {
                let (hit, miss) = (wk * (self.keep + self.spread), wk * self.spread);
                for (a, &t) in out.iter_mut().zip(&t[b * s..][..s]) {
                    *a = if t == self.ignore { 0.0 } else if t as usize == k { hit } else { miss };
                }
            }
            Target::Probs(q) => {
                for (a, &q) in out.iter_mut().zip(&q[(b * self.d.classes + k) * s..][..s]) {
                    *a = wk * (self.keep * q + self.spread);
                }
            }
        }
    }

    /// One pass over the samples: calls `on_loss(b, losses)` with sample `b`'s per-position losses
    /// and, given a gradient buffer, writes `scale_pos * dloss/dz` into it.
    fn run(&self, logits: &[f32], mut on_loss: impl FnMut(usize, &[f64]), mut grad: Option<(GradScale<'_>, &mut [f32])>) {
        let CrossEntropyDims { batch, classes: c, spatial: s } = self.d;
        if batch == 0 || c == 0 || s == 0 {
            return;
        }
        let (mut max, mut sum, mut lse) = (vec![0.0f32; s], vec![0.0f32; s], vec![0.0f32; s]);
        let (mut big_a, mut a, mut scale) = (vec![0.0f32; s], vec![0.0f32; s], vec![0.0f32; s]);
        let mut acc = vec![0.0f64; s];
        for (b, zs) in logits.chunks_exact(c * s).enumerate() {
            max.fill(f32::NEG_INFINITY);
            for zc in zs.chunks_exact(s) {
                max.iter_mut().zip(zc).for_each(|(m, &z)| *m = m.max(z));
            }
            // exp(z - max) goes into the gradient buffer when there is one (it becomes p there).
            sum.fill(0.0);
            let mut probs = grad.as_mut().map(|(_, g)| &mut g[b * c * s..][..c * s]);
            for (k, zc) in zs.chunks_exact(s).enumerate() {
                match probs.as_deref_mut() {
                    Some(p) => {
                        for ((e, &z), (&m, acc)) in p[k * s..][..s].iter_mut().zip(zc).zip(max.iter().zip(sum.iter_mut())) {
                            *e = (z - m).exp();
                            *acc += *e;
                        }
                    }
                    None => zc.iter().zip(max.iter().zip(sum.iter_mut())).for_each(|(&z, (&m, acc))| *acc += (z - m).exp()),
                }
            }
            lse.iter_mut().zip(max.iter().zip(&sum)).for_each(|(l, (&m, &acc))| *l = m + acc.ln());
            big_a.fill(0.0);
            acc.fill(0.0);
            for (k, zc) in zs.chunks_exact(s).enumerate() {
                self.coefficients(b, k, &mut a);
                for ((&ak, &z), (&l, (tot, loss))) in a.iter().zip(zc).zip(lse.iter().zip(big_a.iter_mut().zip(acc.iter_mut()))) {
                    *tot += ak;
                    if ak != 0.0 {
                        *loss += f64::from(ak) * f64::from(l - z);
                    }
                }
            }
            on_loss(b, &acc);
            let Some((how, g)) = grad.as_mut() else { continue };
            match how {
                GradScale::Uniform(v) => scale.fill(*v),
                GradScale::PerPosition(v) => scale.copy_from_slice(&v[b * s..][..s]),
            }
            let gs = &mut g[b * c * s..][..c * s];
            for (k, gc) in gs.chunks_exact_mut(s).enumerate() {
                self.coefficients(b, k, &mut a);
                for ((p, &ak), ((&sum, &tot), &sc)) in gc.iter_mut().zip(&a).zip(sum.iter().zip(&big_a).zip(&scale)) {
                    *p = sc * (tot * (*p / sum) - ak);
                }
            }
        }
    }
}

/// Returns the reduced loss and writes `dlogits = scale * dloss/dlogits`. With every class-index
/// target ignored a mean is 0/0 = NaN, as in torch, and the gradient is zero.
pub fn forward_backward(
    d: CrossEntropyDims,
    logits: &[f32],
    target: Target<'_>,
    o: &CrossEntropyOptions<'_>,
    reduction: Reduction,
    scale: f32,
    dlogits: &mut [f32],
) -> Result<f64, ShapeError> {
    let plan = Plan::new(d, logits.len(), target, o)?;
    expect_len("logit gradient", dlogits.len(), logits.len())?;
    let denom = if reduction == Reduction::Mean { plan.mean_denominator() } else { 1.0 };
    let g = if denom == 0.0 { 0.0 } else { (f64::from(scale) / denom) as f32 };
    let mut total = 0.0f64;
    plan.run(logits, |_, l| total += l.iter().sum::<f64>(), Some((GradScale::Uniform(g), dlogits)));
    if d.classes == 0 || d.spatial == 0 || d.batch == 0 {
        dlogits.fill(0.0);
    }
    Ok(total / denom)
}

/// reduction='none': writes each position's loss, `losses` [batch, spatial] (zero where ignored).
pub fn forward_none(d: CrossEntropyDims, logits: &[f32], target: Target<'_>, o: &CrossEntropyOptions<'_>, losses: &mut [f32]) -> Result<(), ShapeError> {
    let plan = Plan::new(d, logits.len(), target, o)?;
    expect_len("losses", losses.len(), d.batch * d.spatial)?;
    let s = d.spatial;
    plan.run(logits, |b, l| losses[b * s..][..s].iter_mut().zip(l).for_each(|(o, &v)| *o = v as f32), None);
    Ok(())
}

/// reduction='none' backward: `dlogits = sum_pos dlosses[pos] * dloss_pos/dlogits`, given the
/// upstream gradient `dlosses` [batch, spatial] of the per-position losses.
pub fn backward_none(
    d: CrossEntropyDims,
    logits: &[f32],
    target: Target<'_>,
    o: &CrossEntropyOptions<'_>,
    dlosses: &[f32],
    dlogits: &mut [f32],
) -> Result<(), ShapeError> {
    let plan = Plan::new(d, logits.len(), target, o)?;
    expect_len("loss gradient", dlosses.len(), d.batch * d.spatial)?;
    expect_len("logit gradient", dlogits.len(), logits.len())?;
    if d.classes == 0 || d.spatial == 0 || d.batch == 0 {
        dlogits.fill(0.0);
    }
    plan.run(logits, |_, _| {}, Some((GradScale::PerPosition(dlosses), dlogits)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, data, dot};

    fn opts(weight: Option<&[f32]>, ignore_index: i32, label_smoothing: f32) -> CrossEntropyOptions<'_> {
        CrossEntropyOptions { weight, ignore_index, label_smoothing }
    }

    #[test]
    fn plain_mean_matches_the_fused_classification_loss() {
        let z = data(12, 1);
        let labels = [2u32, 0, 3];
        let (mut d1, mut d2) = ([0.0; 12], [0.0; 12]);
        let want = crate::loss::softmax_cross_entropy(&z, &labels, 4, 0.5, &mut d1).unwrap();
        let t = [2, 0, 3];
        let d = CrossEntropyDims { batch: 3, classes: 4, spatial: 1 };
        let got = forward_backward(d, &z, Target::Classes(&t), &opts(None, -100, 0.0), Reduction::Mean, 0.5, &mut d2).unwrap();
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
            let o = opts(weight, 255, eps);
            let mut dz = vec![0.0; 24];
            forward_backward(d, &z, Target::Classes(&t), &o, red, 1.0, &mut dz).unwrap();
            let mut scratch = vec![0.0; 24];
            check("dlogits", &z, &dz, 1e-2, 2e-3, |v| forward_backward(d, v, Target::Classes(&t), &o, red, 1.0, &mut scratch).unwrap());
        }
    }

    /// A distribution per position (softmax of random values), shaped as the logits.
    fn soft_targets(d: CrossEntropyDims, seed: u64) -> Vec<f32> {
        let mut q: Vec<f32> = data(d.batch * d.classes * d.spatial, seed).iter().map(|v| (2.0 * v).exp()).collect();
        let s = d.spatial;
        for qs in q.chunks_exact_mut(d.classes * s) {
            for pos in 0..s {
                let total: f32 = (0..d.classes).map(|k| qs[k * s + pos]).sum();
                (0..d.classes).for_each(|k| qs[k * s + pos] /= total);
            }
        }
        q
    }

    #[test]
    fn probability_targets_gradient_matches_finite_differences_and_one_hot_equals_class_indices() {
        let d = CrossEntropyDims { batch: 2, classes: 3, spatial: 4 };
        let z: Vec<f32> = data(24, 3).iter().map(|v| v * 3.0).collect();
        let q = soft_targets(d, 4);
        let w = [0.5f32, 2.0, 1.5];
        for (weight, eps, red) in [(None, 0.0, Reduction::Mean), (Some(&w[..]), 0.15, Reduction::Mean), (Some(&w[..]), 0.1, Reduction::Sum)] {
            let o = opts(weight, -1, eps); // a negative ignore_index has nothing to skip in probabilities
            let mut dz = vec![0.0; 24];
            forward_backward(d, &z, Target::Probs(&q), &o, red, 1.0, &mut dz).unwrap();
            let mut scratch = vec![0.0; 24];
            check("dlogits", &z, &dz, 1e-2, 2e-3, |v| forward_backward(d, v, Target::Probs(&q), &o, red, 1.0, &mut scratch).unwrap());
        }
        // One-hot probabilities give the class-index loss (sum: the means divide differently).
        let t = [0, 2, 1, 1, 1, 0, 0, 2];
        let mut onehot = vec![0.0f32; 24];
        for (i, &c) in t.iter().enumerate() {
            onehot[(i / 4 * 3 + c as usize) * 4 + i % 4] = 1.0;
        }
        let o = opts(Some(&w), -100, 0.2);
        let (mut g1, mut g2) = (vec![0.0; 24], vec![0.0; 24]);
        let a = forward_backward(d, &z, Target::Classes(&t), &o, Reduction::Sum, 1.0, &mut g1).unwrap();
        let b = forward_backward(d, &z, Target::Probs(&onehot), &o, Reduction::Sum, 1.0, &mut g2).unwrap();
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        g1.iter().zip(&g2).for_each(|(x, y)| assert!((x - y).abs() < 1e-6));
        // The mean over probabilities divides by the position count, not the weights.
        let m = forward_backward(d, &z, Target::Probs(&onehot), &o, Reduction::Mean, 1.0, &mut g2).unwrap();
        assert!((m - b / 8.0).abs() < 1e-6);
    }

    #[test]
    fn unreduced_losses_sum_to_the_sum_and_backward_matches_finite_differences() {
        let d = CrossEntropyDims { batch: 2, classes: 3, spatial: 4 };
        let z: Vec<f32> = data(24, 5).iter().map(|v| v * 3.0).collect();
        let t = [0, 2, 255, 1, 1, 255, 0, 2];
        let q = soft_targets(d, 6);
        let w = [0.5f32, 2.0, 1.5];
        let r = data(8, 7);
        for (target, ignore) in [(Target::Classes(&t), 255), (Target::Probs(&q), -100)] {
            let o = opts(Some(&w), ignore, 0.1);
            let mut losses = vec![f32::NAN; 8];
            forward_none(d, &z, target, &o, &mut losses).unwrap();
            let mut scratch = vec![0.0; 24];
            let sum = forward_backward(d, &z, target, &o, Reduction::Sum, 1.0, &mut scratch).unwrap();
            assert!((losses.iter().map(|&v| f64::from(v)).sum::<f64>() - sum).abs() < 1e-5);
            if let Target::Classes(_) = target {
                assert!(losses[2] == 0.0 && losses[5] == 0.0, "ignored positions: {losses:?}");
            }
            let mut dz = vec![f32::NAN; 24];
            backward_none(d, &z, target, &o, &r, &mut dz).unwrap();
            check("dlogits", &z, &dz, 1e-2, 2e-3, |v| {
                let mut l = vec![0.0; 8];
                forward_none(d, v, target, &o, &mut l).unwrap();
                dot(&l, &r)
            });
        }
    }

    #[test]
    fn all_ignored_mean_is_nan_with_zero_gradient_and_bad_inputs_are_errors() {
        let d = CrossEntropyDims { batch: 2, classes: 3, spatial: 1 };
        let mut dz = [1.0; 6];
        let o = opts(None, -100, 0.0);
        let loss = forward_backward(d, &[0.0; 6], Target::Classes(&[-100, -100]), &o, Reduction::Mean, 1.0, &mut dz).unwrap();
        assert!(loss.is_nan() && dz == [0.0; 6]);
        let err = forward_backward(d, &[0.0; 6], Target::Classes(&[3, 0]), &o, Reduction::Mean, 1.0, &mut dz).unwrap_err();
        assert!(err.0.contains("target 3"));
        let err = forward_none(d, &[0.0; 6], Target::Probs(&[0.5; 2]), &o, &mut [0.0; 2]).unwrap_err();
        assert_eq!(err.0, "probability targets holds 2 elements, expected 6");
        let err = forward_none(d, &[0.0; 6], Target::Probs(&[0.5; 6]), &opts(None, 255, 0.0), &mut [0.0; 2]).unwrap_err();
        assert!(err.0.contains("ignore_index 255 is not supported for probability targets"), "{}", err.0);
        let err = backward_none(d, &[0.0; 6], Target::Classes(&[0, 1]), &o, &[1.0; 3], &mut dz).unwrap_err();
        assert_eq!(err.0, "loss gradient holds 3 elements, expected 2");
    }
}
