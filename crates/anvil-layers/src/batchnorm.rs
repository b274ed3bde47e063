//! BatchNorm1d/2d (torch.nn.BatchNorm*) on [batch, channels, spatial] buffers: batch statistics
//! and running-estimate updates in training, running statistics in evaluation, and both backwards.

use crate::{expect_len, expect_opt_len, lane_sum, lane_sum2, ShapeError};

/// x [batch, channels, spatial] (spatial = 1 for BatchNorm1d on [N, C], H*W for BatchNorm2d).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormDims {
    pub batch: usize,
    pub channels: usize,
    pub spatial: usize,
    pub eps: f32,
}

impl BatchNormDims {
    fn numel(&self) -> usize {
        self.batch * self.channels * self.spatial
    }

    fn check(&self, x: usize, y: usize, gamma: Option<usize>, beta: Option<usize>) -> Result<(), ShapeError> {
        expect_len("input", x, self.numel())?;
        expect_len("output", y, self.numel())?;
        expect_opt_len("weight", gamma, self.channels)?;
        expect_opt_len("bias", beta, self.channels)
    }

    /// `(channel, run)` for every contiguous run of one channel's values.
    #[inline]
    fn segments<'a>(&self, x: &'a [f32]) -> impl Iterator<Item = (usize, &'a [f32])> {
        let c = self.channels;
        x.chunks_exact(self.spatial.max(1)).enumerate().map(move |(i, s)| (i % c, s))
    }
}

/// The running estimates a training step updates: torch's `momentum` (the new batch's weight,
/// 1/num_batches_tracked when momentum is None) and the buffers themselves.
pub struct Running<'a> {
    pub mean: &'a mut [f32],
    pub var: &'a mut [f32],
    pub momentum: f32,
}

/// Per-channel mean and biased variance, two passes (the second about the mean).
fn channel_stats(d: &BatchNormDims, x: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let count = (d.batch * d.spatial) as f64;
    let mut mean = vec![0.0f64; d.channels];
    for (c, seg) in d.segments(x) {
        mean[c] += lane_sum(seg, |v| v);
    }
    mean.iter_mut().for_each(|m| *m /= count);
    let mut var = vec![0.0f64; d.channels];
    for (c, seg) in d.segments(x) {
        let m = mean[c] as f32;
        var[c] += lane_sum(seg, |v| (v - m) * (v - m));
    }
    var.iter_mut().for_each(|v| *v /= count);
    (mean, var)
}

/// Per-channel `y = x * a[c] + s[c]`.
fn affine_apply(d: &BatchNormDims, x: &[f32], y: &mut [f32], a: &[f32], s: &[f32]) {
    let c = d.channels;
    for (i, (yo, xi)) in y.chunks_exact_mut(d.spatial.max(1)).zip(x.chunks_exact(d.spatial.max(1))).enumerate() {
        let (ac, sc) = (a[i % c], s[i % c]);
        for (o, &v) in yo.iter_mut().zip(xi) {
            *o = v * ac + sc;
        }
    }
}

fn scale_shift(mean: impl Iterator<Item = f32>, invstd: &[f32], gamma: Option<&[f32]>, beta: Option<&[f32]>) -> (Vec<f32>, Vec<f32>) {
    let mut a = Vec::with_capacity(invstd.len());
    let mut s = Vec::with_capacity(invstd.len());
    for (c, (m, &is)) in mean.zip(invstd).enumerate() {
        let g = gamma.map_or(1.0, |g| g[c]);
        let b = beta.map_or(0.0, |b| b[c]);
        a.push(g * is);
        s.push(b - m * g * is);
    }
    (a, s)
}

/// Training forward: normalises with the batch statistics, writes `save_mean` / `save_invstd`
/// for backward and updates the running estimates as torch does (unbiased variance).
#[allow(clippy::too_many_arguments)]
pub fn forward_train(
    d: BatchNormDims,
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    running: Option<Running<'_>>,
    y: &mut [f32],
    save_mean: &mut [f32],
    save_invstd: &mut [f32],
) -> Result<(), ShapeError> {
    d.check(x.len(), y.len(), gamma.map(<[f32]>::len), beta.map(<[f32]>::len))?;
    expect_len("saved mean", save_mean.len(), d.channels)?;
    expect_len("saved invstd", save_invstd.len(), d.channels)?;
    let count = d.batch * d.spatial;
    if count <= 1 {
        return Err(crate::invalid(format!("BatchNorm: expected more than 1 value per channel when training, got {count}")));
    }
    let (mean, var) = channel_stats(&d, x);
    for ((sm, si), (&m, &v)) in save_mean.iter_mut().zip(save_invstd.iter_mut()).zip(mean.iter().zip(&var)) {
        *sm = m as f32;
        *si = (1.0 / (v + f64::from(d.eps)).sqrt()) as f32;
    }
    if let Some(r) = running {
        expect_len("running mean", r.mean.len(), d.channels)?;
        expect_len("running var", r.var.len(), d.channels)?;
        let m = f64::from(r.momentum);
        let unbias = count as f64 / (count - 1) as f64;
        for ((rm, rv), (&bm, &bv)) in r.mean.iter_mut().zip(r.var.iter_mut()).zip(mean.iter().zip(&var)) {
            *rm = ((1.0 - m) * f64::from(*rm) + m * bm) as f32;
            *rv = ((1.0 - m) * f64::from(*rv) + m * bv * unbias) as f32;
        }
    }
    let (a, s) = scale_shift(save_mean.iter().copied(), save_invstd, gamma, beta);
    affine_apply(&d, x, y, &a, &s);
    Ok(())
}

/// Evaluation forward with the running statistics.
pub fn forward_eval(
    d: BatchNormDims,
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    running_mean: &[f32],
    running_var: &[f32],
    y: &mut [f32],
) -> Result<(), ShapeError> {
    d.check(x.len(), y.len(), gamma.map(<[f32]>::len), beta.map(<[f32]>::len))?;
    expect_len("running mean", running_mean.len(), d.channels)?;
    expect_len("running var", running_var.len(), d.channels)?;
    let invstd: Vec<f32> = running_var.iter().map(|&v| 1.0 / (v + d.eps).sqrt()).collect();
    let (a, s) = scale_shift(running_mean.iter().copied(), &invstd, gamma, beta);
    affine_apply(&d, x, y, &a, &s);
    Ok(())
}

/// Backward given the statistics forward normalised with (`mean`, `invstd`): batch statistics
/// when `train`, where they depend on x, else constants (running estimates, eval mode).
/// Accumulates `dgamma += sum(dy * xhat)`, `dbeta += sum(dy)`; writes `dx` when given.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    d: BatchNormDims,
    train: bool,
    x: &[f32],
    dy: &[f32],
    gamma: Option<&[f32]>,
    mean: &[f32],
    invstd: &[f32],
    dgamma: Option<&mut [f32]>,
    dbeta: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<(), ShapeError> {
    d.check(x.len(), dy.len(), gamma.map(<[f32]>::len), None)?;
    expect_opt_len("weight gradient", dgamma.as_deref().map(<[f32]>::len), d.channels)?;
    expect_opt_len("bias gradient", dbeta.as_deref().map(<[f32]>::len), d.channels)?;
    expect_opt_len("input gradient", dx.as_deref().map(<[f32]>::len), x.len())?;
    expect_len("mean", mean.len(), d.channels)?;
    expect_len("invstd", invstd.len(), d.channels)?;
    // Per channel: sum(dy) and sum(dy * xhat), in f64.
    let mut sum_dy = vec![0.0f64; d.channels];
    let mut sum_dy_xhat = vec![0.0f64; d.channels];
    for ((c, xs), (_, gs)) in d.segments(x).zip(d.segments(dy)) {
        let (m, is) = (mean[c], invstd[c]);
        sum_dy[c] += lane_sum(gs, |g| g);
        sum_dy_xhat[c] += lane_sum2(xs, gs, |xv, g| g * (xv - m) * is);
    }
    if let Some(dg) = dgamma {
        dg.iter_mut().zip(&sum_dy_xhat).for_each(|(a, &v)| *a += v as f32);
    }
    if let Some(db) = dbeta {
        db.iter_mut().zip(&sum_dy).for_each(|(a, &v)| *a += v as f32);
    }
    let Some(dx) = dx else { return Ok(()) };
    let count = (d.batch * d.spatial) as f64;
    let c = d.channels;
    for (i, (dxs, (xs, gs))) in dx.chunks_exact_mut(d.spatial.max(1)).zip(x.chunks_exact(d.spatial.max(1)).zip(dy.chunks_exact(d.spatial.max(1)))).enumerate() {
        let ch = i % c;
        let (m, is) = (mean[ch], invstd[ch]);
        let k = gamma.map_or(1.0, |g| g[ch]) * is;
        if train {
            // dx = k * (dy - mean(dy) - xhat * mean(dy * xhat))
            let (mdy, mdyx) = ((sum_dy[ch] / count) as f32, (sum_dy_xhat[ch] / count) as f32);
            for (o, (&xv, &g)) in dxs.iter_mut().zip(xs.iter().zip(gs)) {
                *o = k * (g - mdy - (xv - m) * is * mdyx);
            }
        } else {
            for (o, &g) in dxs.iter_mut().zip(gs) {
                *o = k * g;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, data, dot};

    const D: BatchNormDims = BatchNormDims { batch: 3, channels: 2, spatial: 4, eps: 1e-5 };

    fn train_loss(d: BatchNormDims, x: &[f32], g: &[f32], b: &[f32], r: &[f32]) -> f64 {
        let mut y = vec![0.0; x.len()];
        let (mut m, mut s) = (vec![0.0; d.channels], vec![0.0; d.channels]);
        forward_train(d, x, Some(g), Some(b), None, &mut y, &mut m, &mut s).unwrap();
        dot(&y, r)
    }

    #[test]
    fn training_normalises_and_updates_running_estimates() {
        let x = data(24, 1);
        let mut y = vec![0.0; 24];
        let (mut m, mut s) = ([0.0; 2], [0.0; 2]);
        let (mut rm, mut rv) = ([0.0f32; 2], [1.0f32; 2]);
        let running = Running { mean: &mut rm, var: &mut rv, momentum: 0.1 };
        forward_train(D, &x, None, None, Some(running), &mut y, &mut m, &mut s).unwrap();
        for c in 0..2 {
            let vals: Vec<f64> = (0..3).flat_map(|n| (0..4).map(move |k| (n, k))).map(|(n, k)| f64::from(x[(n * 2 + c) * 4 + k])).collect();
            let mean = vals.iter().sum::<f64>() / 12.0;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 11.0;
            assert!((f64::from(rm[c]) - 0.1 * mean).abs() < 1e-6);
            assert!((f64::from(rv[c]) - (0.9 + 0.1 * var)).abs() < 1e-6);
            let ysum: f64 = (0..3).map(|n| y[(n * 2 + c) * 4..][..4].iter().map(|&v| f64::from(v)).sum::<f64>()).sum();
            assert!(ysum.abs() < 1e-5);
        }
    }

    #[test]
    fn training_backward_matches_finite_differences() {
        for d in [D, BatchNormDims { batch: 5, channels: 3, spatial: 1, eps: 1e-5 }] {
            let n = d.batch * d.channels * d.spatial;
            let (x, g, b, r) = (data(n, 2), data(d.channels, 3), data(d.channels, 4), data(n, 5));
            let mut y = vec![0.0; n];
            let (mut m, mut s) = (vec![0.0; d.channels], vec![0.0; d.channels]);
            forward_train(d, &x, Some(&g), Some(&b), None, &mut y, &mut m, &mut s).unwrap();
            let (mut dg, mut db, mut dx) = (vec![0.0; d.channels], vec![0.0; d.channels], vec![0.0; n]);
            backward(d, true, &x, &r, Some(&g), &m, &s, Some(&mut dg), Some(&mut db), Some(&mut dx)).unwrap();
            check("dx", &x, &dx, 1e-2, 3e-3, |v| train_loss(d, v, &g, &b, &r));
            check("dgamma", &g, &dg, 1e-2, 2e-3, |v| train_loss(d, &x, v, &b, &r));
            check("dbeta", &b, &db, 1e-2, 2e-3, |v| train_loss(d, &x, &g, v, &r));
        }
    }

    #[test]
    fn eval_backward_matches_finite_differences() {
        let (x, g, b, r) = (data(24, 6), data(2, 7), data(2, 8), data(24, 9));
        let (rm, rv) = ([0.1f32, -0.2], [0.5f32, 2.0]);
        let loss = |x: &[f32], g: &[f32], b: &[f32]| {
            let mut y = vec![0.0; 24];
            forward_eval(D, x, Some(g), Some(b), &rm, &rv, &mut y).unwrap();
            dot(&y, &r)
        };
        let invstd: Vec<f32> = rv.iter().map(|v| 1.0 / (v + D.eps).sqrt()).collect();
        let (mut dg, mut db, mut dx) = (vec![0.0; 2], vec![0.0; 2], vec![0.0; 24]);
        backward(D, false, &x, &r, Some(&g), &rm, &invstd, Some(&mut dg), Some(&mut db), Some(&mut dx)).unwrap();
        check("dx", &x, &dx, 1e-2, 2e-3, |v| loss(v, &g, &b));
        check("dgamma", &g, &dg, 1e-2, 2e-3, |v| loss(&x, v, &b));
        check("dbeta", &b, &db, 1e-2, 2e-3, |v| loss(&x, &g, v));
    }

    #[test]
    fn one_value_per_channel_is_refused_in_training() {
        let d = BatchNormDims { batch: 1, channels: 2, spatial: 1, eps: 1e-5 };
        let err = forward_train(d, &[1.0, 2.0], None, None, None, &mut [0.0; 2], &mut [0.0; 2], &mut [0.0; 2]).unwrap_err();
        assert!(err.0.contains("more than 1 value"));
    }
}
