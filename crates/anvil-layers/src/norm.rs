//! LayerNorm and GroupNorm (torch.nn.LayerNorm / GroupNorm): per-row statistics (a row is the
//! normalized trailing dims, or one sample's group of channels) and elementwise affine parameters.

use crate::{expect_len, expect_opt_len, invalid, lane_sum, ShapeError};

/// Mean and 1/sqrt(biased var + eps) of one row, two passes (the second about the mean).
fn row_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len().max(1) as f64;
    let mean = (lane_sum(row, |v| v) / n) as f32;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) / n;
    (mean, (1.0 / (var + f64::from(eps)).sqrt()) as f32)
}

/// `dx = rstd * (g - mean(g) - xhat * mean(g * xhat))` for one row, with `g = dy * gamma`
/// given by `gdy(i, dy_i)`.
fn row_backward(x: &[f32], dy: &[f32], mean: f32, rstd: f32, dx: &mut [f32], gdy: impl Fn(usize, f32) -> f32) {
    let n = x.len().max(1) as f64;
    let (mut s, mut sx) = (0.0f64, 0.0f64);
    for (i, (&xv, &g)) in x.iter().zip(dy).enumerate() {
        let gg = f64::from(gdy(i, g));
        s += gg;
        sx += gg * f64::from((xv - mean) * rstd);
    }
    let (ms, msx) = ((s / n) as f32, (sx / n) as f32);
    for (i, (o, (&xv, &g))) in dx.iter_mut().zip(x.iter().zip(dy)).enumerate() {
        *o = rstd * (gdy(i, g) - ms - (xv - mean) * rstd * msx);
    }
}

/// x [rows, features], normalised over `features` (the product of normalized_shape).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerNormDims {
    pub rows: usize,
    pub features: usize,
    pub eps: f32,
}

/// `y = (x - mean) * rstd * gamma + beta` per row; saves mean and rstd for backward.
pub fn layer_norm_forward(
    d: LayerNormDims,
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    y: &mut [f32],
    save_mean: &mut [f32],
    save_rstd: &mut [f32],
) -> Result<(), ShapeError> {
    let n = d.rows * d.features;
    expect_len("input", x.len(), n)?;
    expect_len("output", y.len(), n)?;
    expect_opt_len("weight", gamma.map(<[f32]>::len), d.features)?;
    expect_opt_len("bias", beta.map(<[f32]>::len), d.features)?;
    expect_len("saved mean", save_mean.len(), d.rows)?;
    expect_len("saved rstd", save_rstd.len(), d.rows)?;
    if d.features == 0 {
        return Ok(());
    }
    for ((xr, yr), (m, r)) in x.chunks_exact(d.features).zip(y.chunks_exact_mut(d.features)).zip(save_mean.iter_mut().zip(save_rstd.iter_mut())) {
        (*m, *r) = row_stats(xr, d.eps);
        for (j, (o, &v)) in yr.iter_mut().zip(xr).enumerate() {
            *o = (v - *m) * *r * gamma.map_or(1.0, |g| g[j]) + beta.map_or(0.0, |b| b[j]);
        }
    }
    Ok(())
}

/// Accumulates `dgamma`, `dbeta`; writes `dx` when given.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward(
    d: LayerNormDims,
    x: &[f32],
    dy: &[f32],
    gamma: Option<&[f32]>,
    mean: &[f32],
    rstd: &[f32],
    mut dgamma: Option<&mut [f32]>,
    mut dbeta: Option<&mut [f32]>,
    mut dx: Option<&mut [f32]>,
) -> Result<(), ShapeError> {
    let n = d.rows * d.features;
    expect_len("input", x.len(), n)?;
    expect_len("output gradient", dy.len(), n)?;
    expect_opt_len("weight", gamma.map(<[f32]>::len), d.features)?;
    expect_opt_len("weight gradient", dgamma.as_deref().map(<[f32]>::len), d.features)?;
    expect_opt_len("bias gradient", dbeta.as_deref().map(<[f32]>::len), d.features)?;
    expect_opt_len("input gradient", dx.as_deref().map(<[f32]>::len), n)?;
    expect_len("mean", mean.len(), d.rows)?;
    expect_len("rstd", rstd.len(), d.rows)?;
    if d.features == 0 {
        return Ok(());
    }
    for (r, (xr, gr)) in x.chunks_exact(d.features).zip(dy.chunks_exact(d.features)).enumerate() {
        let (m, rs) = (mean[r], rstd[r]);
        if let Some(dg) = dgamma.as_deref_mut() {
            for (a, (&xv, &g)) in dg.iter_mut().zip(xr.iter().zip(gr)) {
                *a += g * (xv - m) * rs;
            }
        }
        if let Some(db) = dbeta.as_deref_mut() {
            db.iter_mut().zip(gr).for_each(|(a, &g)| *a += g);
        }
        if let Some(dx) = dx.as_deref_mut() {
            let dxr = &mut dx[r * d.features..][..d.features];
            row_backward(xr, gr, m, rs, dxr, |j, g| g * gamma.map_or(1.0, |w| w[j]));
        }
    }
    Ok(())
}

/// x [batch, channels, spatial] normalised over each sample's `groups` groups of channels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupNormDims {
    pub batch: usize,
    pub channels: usize,
    pub spatial: usize,
    pub groups: usize,
    pub eps: f32,
}

impl GroupNormDims {
    fn check(&self, x: usize, y: usize, gamma: Option<usize>, stats: usize) -> Result<usize, ShapeError> {
        if self.groups == 0 || !self.channels.is_multiple_of(self.groups) {
            return Err(invalid(format!("GroupNorm: num_channels {} must be divisible by num_groups {}", self.channels, self.groups)));
        }
        expect_len("input", x, self.batch * self.channels * self.spatial)?;
        expect_len("output", y, x)?;
        expect_opt_len("weight", gamma, self.channels)?;
        expect_len("saved statistics", stats, self.batch * self.groups)?;
        Ok(self.channels / self.groups * self.spatial)
    }
}

/// Normalises each (sample, group) block, then the per-channel affine; saves mean and rstd.
pub fn group_norm_forward(
    d: GroupNormDims,
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    y: &mut [f32],
    save_mean: &mut [f32],
    save_rstd: &mut [f32],
) -> Result<(), ShapeError> {
    let block = d.check(x.len(), y.len(), gamma.map(<[f32]>::len), save_mean.len())?;
    expect_opt_len("bias", beta.map(<[f32]>::len), d.channels)?;
    expect_len("saved rstd", save_rstd.len(), save_mean.len())?;
    if block == 0 {
        return Ok(());
    }
    let cg = d.channels / d.groups;
    for (i, ((xb, yb), (m, r))) in x.chunks_exact(block).zip(y.chunks_exact_mut(block)).zip(save_mean.iter_mut().zip(save_rstd.iter_mut())).enumerate() {
        (*m, *r) = row_stats(xb, d.eps);
        let c0 = (i % d.groups) * cg;
        for (k, (yc, xc)) in yb.chunks_exact_mut(d.spatial).zip(xb.chunks_exact(d.spatial)).enumerate() {
            let a = *r * gamma.map_or(1.0, |g| g[c0 + k]);
            let s = beta.map_or(0.0, |b| b[c0 + k]) - *m * a;
            yc.iter_mut().zip(xc).for_each(|(o, &v)| *o = v * a + s);
        }
    }
    Ok(())
}

/// Accumulates `dgamma`, `dbeta` (per channel); writes `dx` when given.
#[allow(clippy::too_many_arguments)]
pub fn group_norm_backward(
    d: GroupNormDims,
    x: &[f32],
    dy: &[f32],
    gamma: Option<&[f32]>,
    mean: &[f32],
    rstd: &[f32],
    mut dgamma: Option<&mut [f32]>,
    mut dbeta: Option<&mut [f32]>,
    mut dx: Option<&mut [f32]>,
) -> Result<(), ShapeError> {
    let block = d.check(x.len(), dy.len(), gamma.map(<[f32]>::len), mean.len())?;
    expect_len("rstd", rstd.len(), mean.len())?;
    expect_opt_len("weight gradient", dgamma.as_deref().map(<[f32]>::len), d.channels)?;
    expect_opt_len("bias gradient", dbeta.as_deref().map(<[f32]>::len), d.channels)?;
    expect_opt_len("input gradient", dx.as_deref().map(<[f32]>::len), x.len())?;
    if block == 0 {
        return Ok(());
    }
    let cg = d.channels / d.groups;
    for (i, (xb, gb)) in x.chunks_exact(block).zip(dy.chunks_exact(block)).enumerate() {
        let (m, rs) = (mean[i], rstd[i]);
        let c0 = (i % d.groups) * cg;
        for (k, (xc, gc)) in xb.chunks_exact(d.spatial).zip(gb.chunks_exact(d.spatial)).enumerate() {
            if let Some(dg) = dgamma.as_deref_mut() {
                dg[c0 + k] += xc.iter().zip(gc).map(|(&xv, &g)| g * (xv - m) * rs).sum::<f32>();
            }
            if let Some(db) = dbeta.as_deref_mut() {
                db[c0 + k] += gc.iter().sum::<f32>();
            }
        }
        if let Some(dx) = dx.as_deref_mut() {
            let dxb = &mut dx[i * block..][..block];
            row_backward(xb, gb, m, rs, dxb, |j, g| g * gamma.map_or(1.0, |w| w[c0 + j / d.spatial]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, data, dot};

    #[test]
    fn layer_norm_backward_matches_finite_differences() {
        let d = LayerNormDims { rows: 3, features: 5, eps: 1e-5 };
        let (x, g, b, r) = (data(15, 1), data(5, 2), data(5, 3), data(15, 4));
        let loss = |x: &[f32], g: &[f32], b: &[f32]| {
            let mut y = vec![0.0; 15];
            layer_norm_forward(d, x, Some(g), Some(b), &mut y, &mut [0.0; 3], &mut [0.0; 3]).unwrap();
            dot(&y, &r)
        };
        let (mut m, mut s, mut y) = ([0.0; 3], [0.0; 3], vec![0.0; 15]);
        layer_norm_forward(d, &x, Some(&g), Some(&b), &mut y, &mut m, &mut s).unwrap();
        let (mut dg, mut db, mut dx) = (vec![0.0; 5], vec![0.0; 5], vec![0.0; 15]);
        layer_norm_backward(d, &x, &r, Some(&g), &m, &s, Some(&mut dg), Some(&mut db), Some(&mut dx)).unwrap();
        check("dx", &x, &dx, 1e-2, 3e-3, |v| loss(v, &g, &b));
        check("dgamma", &g, &dg, 1e-2, 2e-3, |v| loss(&x, v, &b));
        check("dbeta", &b, &db, 1e-2, 2e-3, |v| loss(&x, &g, v));
    }

    #[test]
    fn group_norm_backward_matches_finite_differences() {
        let d = GroupNormDims { batch: 2, channels: 4, spatial: 3, groups: 2, eps: 1e-5 };
        let (x, g, b, r) = (data(24, 5), data(4, 6), data(4, 7), data(24, 8));
        let loss = |x: &[f32], g: &[f32], b: &[f32]| {
            let mut y = vec![0.0; 24];
            group_norm_forward(d, x, Some(g), Some(b), &mut y, &mut [0.0; 4], &mut [0.0; 4]).unwrap();
            dot(&y, &r)
        };
        let (mut m, mut s, mut y) = ([0.0; 4], [0.0; 4], vec![0.0; 24]);
        group_norm_forward(d, &x, Some(&g), Some(&b), &mut y, &mut m, &mut s).unwrap();
        let (mut dg, mut db, mut dx) = (vec![0.0; 4], vec![0.0; 4], vec![0.0; 24]);
        group_norm_backward(d, &x, &r, Some(&g), &m, &s, Some(&mut dg), Some(&mut db), Some(&mut dx)).unwrap();
        check("dx", &x, &dx, 1e-2, 3e-3, |v| loss(v, &g, &b));
        check("dgamma", &g, &dg, 1e-2, 2e-3, |v| loss(&x, v, &b));
        check("dbeta", &b, &db, 1e-2, 2e-3, |v| loss(&x, &g, v));
    }

    #[test]
    fn group_norm_with_one_group_per_channel_is_instance_norm() {
        let d = GroupNormDims { batch: 1, channels: 2, spatial: 4, groups: 2, eps: 0.0 };
        let mut y = [0.0; 8];
        group_norm_forward(d, &[1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 20.0, 20.0], None, None, &mut y, &mut [0.0; 2], &mut [0.0; 2]).unwrap();
        assert!((y[4] + 1.0).abs() < 1e-6 && (y[7] - 1.0).abs() < 1e-6);
        assert!(group_norm_forward(GroupNormDims { groups: 3, ..d }, &[0.0; 8], None, None, &mut [0.0; 8], &mut [0.0; 3], &mut [0.0; 3]).is_err());
    }
}
