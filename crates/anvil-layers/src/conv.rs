//! Conv2d (torch.nn.Conv2d) on NCHW buffers: stride, padding, dilation and groups (depthwise
//! included) as im2col + matrixmultiply's sgemm per sample and group, the batch split over cores.

use crate::im2col::Window;
use crate::parallel::{self, Scratch};
use crate::{expect_len, expect_opt_len, invalid, ShapeError};

/// Shapes of one call: x [batch, in_channels, height, width], weight
/// [out_channels, in_channels / groups, kernel...], y [batch, out_channels, out_h, out_w].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dDims {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
}

/// torch's output size of a sliding window, or `None` when the window does not fit.
pub fn window_out(len: usize, kernel: usize, stride: usize, pad: usize, dilation: usize) -> Option<usize> {
    let span = dilation.checked_mul(kernel.checked_sub(1)?)? + 1;
    (len + 2 * pad).checked_sub(span).map(|r| r / stride + 1)
}

impl Conv2dDims {
    /// `(out_h, out_w)`, or why the configuration is invalid.
    pub fn output_size(&self) -> Result<(usize, usize), ShapeError> {
        Ok(self.window()?.oh_ow())
    }

    fn window(&self) -> Result<Window, ShapeError> {
        let Conv2dDims { in_channels: c, out_channels: o, kernel: k, stride: s, padding: p, dilation: d, groups: g, .. } = *self;
        if g == 0 || c % g != 0 || o % g != 0 {
            return Err(invalid(format!("Conv2d: in_channels {c} and out_channels {o} must be divisible by groups {g}")));
        }
        if k.contains(&0) || s.contains(&0) || d.contains(&0) {
            return Err(invalid(format!("Conv2d: kernel {k:?}, stride {s:?} and dilation {d:?} must be positive")));
        }
        let (Some(oh), Some(ow)) = (window_out(self.height, k[0], s[0], p[0], d[0]), window_out(self.width, k[1], s[1], p[1], d[1])) else {
            return Err(invalid(format!(
                "Conv2d: input {}x{} (padded by {p:?}) is smaller than the dilated kernel {k:?}",
                self.height, self.width
            )));
        };
        Ok(Window { h: self.height, w: self.width, kh: k[0], kw: k[1], sh: s[0], sw: s[1], ph: p[0], pw: p[1], dh: d[0], dw: d[1], oh, ow })
    }

    fn check(&self, x: usize, w: usize, y: usize) -> Result<Window, ShapeError> {
        let g = self.window()?;
        expect_len("input", x, self.batch * self.in_channels * self.height * self.width)?;
        expect_len("weight", w, self.out_channels * self.in_channels / self.groups * g.taps())?;
        expect_len("output", y, self.batch * self.out_channels * g.positions())?;
        Ok(g)
    }
}

impl Window {
    fn oh_ow(&self) -> (usize, usize) {
        (self.oh, self.ow)
    }

    /// A 1x1, stride-1, unpadded window: the input planes already are the column matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1 && self.ph == 0 && self.pw == 0
    }
}

/// Per-call constants shared by the workers.
struct Plan {
    g: Window,
    groups: usize,
    cg: usize,
    og: usize,
    k: usize,
    p: usize,
    in_n: usize,
    out_n: usize,
}

impl Plan {
    fn new(d: &Conv2dDims, g: Window) -> Plan {
        let cg = d.in_channels / d.groups;
        let p = g.positions();
        Plan { g, groups: d.groups, cg, og: d.out_channels / d.groups, k: cg * g.taps(), p, in_n: d.in_channels * d.height * d.width, out_n: d.out_channels * p }
    }

    fn plane(&self) -> usize {
        self.g.h * self.g.w
    }

    fn col_len(&self) -> usize {
        if self.g.is_pointwise() { 0 } else { self.k * self.p }
    }

    /// Samples per worker and the worker count for `flops_per_sample`.
    fn split(&self, batch: usize, flops_per_sample: usize) -> usize {
        batch.div_ceil(parallel::workers(batch, flops_per_sample)).max(1)
    }
}

/// `y = conv(x, W) + b`.
pub fn forward(d: Conv2dDims, x: &[f32], w: &[f32], b: Option<&[f32]>, y: &mut [f32]) -> Result<(), ShapeError> {
    let g = d.check(x.len(), w.len(), y.len())?;
    expect_opt_len("bias", b.map(<[f32]>::len), d.out_channels)?;
    let pl = Plan::new(&d, g);
    if pl.out_n == 0 || d.batch == 0 {
        return Ok(());
    }
    let per = pl.split(d.batch, d.out_channels * pl.k * pl.p);
    let parts: Vec<_> = y.chunks_mut(per * pl.out_n).zip(x.chunks(per * pl.in_n.max(1))).collect();
    parallel::run(parts, &|_, (yc, xc): (&mut [f32], &[f32])| {
        let mut col = Scratch::take(pl.col_len());
        for (yn, xn) in yc.chunks_exact_mut(pl.out_n).zip(xc.chunks_exact(pl.in_n.max(1))) {
            for grp in 0..pl.groups {
                let xg = &xn[grp * pl.cg * pl.plane()..][..pl.cg * pl.plane()];
                let yg = &mut yn[grp * pl.og * pl.p..][..pl.og * pl.p];
                let wg = &w[grp * pl.og * pl.k..][..pl.og * pl.k];
                match b {
                    Some(b) => yg.chunks_exact_mut(pl.p).zip(&b[grp * pl.og..]).for_each(|(row, &v)| row.fill(v)),
                    None => yg.fill(0.0),
                }
                let cols: &[f32] = if pl.g.is_pointwise() {
                    xg
                } else {
                    pl.g.im2col(pl.cg, xg, &mut col);
                    &col
                };
                // SAFETY: wg is [og, k], cols [k, p], yg [og, p], all row-major and sized above.
                unsafe {
                    matrixmultiply::sgemm(
                        pl.og, pl.k, pl.p, 1.0,
                        wg.as_ptr(), pl.k as isize, 1,
                        cols.as_ptr(), pl.p as isize, 1,
                        1.0, yg.as_mut_ptr(), pl.p as isize, 1,
                    );
                }
            }
        }
    });
    Ok(())
}

/// Accumulates `dW += dy * im2col(x)^T` and `db += sum(dy)`; writes `dx` when given.
pub fn backward(
    d: Conv2dDims,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<(), ShapeError> {
    let g = d.check(x.len(), w.len(), dy.len())?;
    expect_len("weight gradient", dw.len(), w.len())?;
    expect_opt_len("bias gradient", db.as_deref().map(<[f32]>::len), d.out_channels)?;
    expect_opt_len("input gradient", dx.as_deref().map(<[f32]>::len), x.len())?;
    let pl = Plan::new(&d, g);
    if pl.out_n == 0 || d.batch == 0 {
        if let Some(dx) = dx {
            dx.fill(0.0);
        }
        return Ok(());
    }
    if let Some(db) = db {
        for dyn_ in dy.chunks_exact(pl.out_n) {
            for (acc, row) in db.iter_mut().zip(dyn_.chunks_exact(pl.p)) {
                *acc += row.iter().sum::<f32>();
            }
        }
    }
    let per = pl.split(d.batch, 2 * d.out_channels * pl.k * pl.p);
    let chunks = d.batch.div_ceil(per);
    // Worker 0 adds into dw itself; the others into zeroed partials summed afterwards.
    let mut partials: Vec<Scratch> = (1..chunks).map(|_| Scratch::take(dw.len())).collect();
    partials.iter_mut().for_each(|s| s.fill(0.0));
    let mut dws: Vec<&mut [f32]> = vec![&mut *dw];
    dws.extend(partials.iter_mut().map(|s| &mut s[..]));
    let dxs: Vec<Option<&mut [f32]>> = match dx {
        Some(dx) => dx.chunks_mut(per * pl.in_n.max(1)).map(Some).collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    let parts: Vec<_> = x.chunks(per * pl.in_n.max(1)).zip(dy.chunks(per * pl.out_n)).zip(dws).zip(dxs).collect();
    type Part<'a> = (((&'a [f32], &'a [f32]), &'a mut [f32]), Option<&'a mut [f32]>);
    parallel::run(parts, &|_, (((xc, dyc), dwc), mut dxc): Part<'_>| {
        let mut col = Scratch::take(pl.col_len());
        let mut dcol = Scratch::take(if dxc.is_some() { pl.col_len() } else { 0 });
        for (n, (xn, dyn_)) in xc.chunks_exact(pl.in_n.max(1)).zip(dyc.chunks_exact(pl.out_n)).enumerate() {
            for grp in 0..pl.groups {
                let xg = &xn[grp * pl.cg * pl.plane()..][..pl.cg * pl.plane()];
                let dyg = &dyn_[grp * pl.og * pl.p..][..pl.og * pl.p];
                let wg = &w[grp * pl.og * pl.k..][..pl.og * pl.k];
                let dwg = &mut dwc[grp * pl.og * pl.k..][..pl.og * pl.k];
                let cols: &[f32] = if pl.g.is_pointwise() {
                    xg
                } else {
                    pl.g.im2col(pl.cg, xg, &mut col);
                    &col
                };
                // SAFETY: dyg [og, p], cols^T read as [p, k] through swapped strides, dwg [og, k].
                unsafe {
                    matrixmultiply::sgemm(
                        pl.og, pl.p, pl.k, 1.0,
                        dyg.as_ptr(), pl.p as isize, 1,
                        cols.as_ptr(), 1, pl.p as isize,
                        1.0, dwg.as_mut_ptr(), pl.k as isize, 1,
                    );
                }
                let Some(dxc) = dxc.as_deref_mut() else { continue };
                let dxg = &mut dxc[n * pl.in_n + grp * pl.cg * pl.plane()..][..pl.cg * pl.plane()];
                let target: &mut [f32] = if pl.g.is_pointwise() { dxg } else { &mut dcol };
                // SAFETY: W_g^T read as [k, og] through swapped strides, dyg [og, p], target [k, p].
                unsafe {
                    matrixmultiply::sgemm(
                        pl.k, pl.og, pl.p, 1.0,
                        wg.as_ptr(), 1, pl.k as isize,
                        dyg.as_ptr(), pl.p as isize, 1,
                        0.0, target.as_mut_ptr(), pl.p as isize, 1,
                    );
                }
                if !pl.g.is_pointwise() {
                    let dxg = &mut dxc[n * pl.in_n + grp * pl.cg * pl.plane()..][..pl.cg * pl.plane()];
                    dxg.fill(0.0);
                    pl.g.col2im(pl.cg, &dcol, dxg);
                }
            }
        }
    });
    for part in &partials {
        for (acc, &v) in dw.iter_mut().zip(part.iter()) {
            *acc += v;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, data, dot};

    #[allow(clippy::too_many_arguments)]
    fn dims(batch: usize, c: usize, o: usize, hw: [usize; 2], k: [usize; 2], s: usize, p: usize, dil: usize, groups: usize) -> Conv2dDims {
        Conv2dDims { batch, in_channels: c, out_channels: o, height: hw[0], width: hw[1], kernel: k, stride: [s, s], padding: [p, p], dilation: [dil, dil], groups }
    }

    /// Direct 7-loop definition of the convolution.
    fn naive(d: &Conv2dDims, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
        let (oh, ow) = d.output_size().unwrap();
        let (cg, og) = (d.in_channels / d.groups, d.out_channels / d.groups);
        let mut y = vec![0.0f32; d.batch * d.out_channels * oh * ow];
        for n in 0..d.batch {
            for o in 0..d.out_channels {
                let grp = o / og;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = b.map_or(0.0, |b| b[o]);
                        for c in 0..cg {
                            for ky in 0..d.kernel[0] {
                                for kx in 0..d.kernel[1] {
                                    let iy = (oy * d.stride[0] + ky * d.dilation[0]) as isize - d.padding[0] as isize;
                                    let ix = (ox * d.stride[1] + kx * d.dilation[1]) as isize - d.padding[1] as isize;
                                    if iy < 0 || ix < 0 || iy as usize >= d.height || ix as usize >= d.width {
                                        continue;
                                    }
                                    let xi = ((n * d.in_channels + grp * cg + c) * d.height + iy as usize) * d.width + ix as usize;
                                    let wi = ((o * cg + c) * d.kernel[0] + ky) * d.kernel[1] + kx;
                                    acc += x[xi] * w[wi];
                                }
                            }
                        }
                        y[((n * d.out_channels + o) * oh + oy) * ow + ox] = acc;
                    }
                }
            }
        }
        y
    }

    fn cases() -> Vec<Conv2dDims> {
        vec![
            dims(2, 3, 4, [5, 6], [3, 3], 1, 1, 1, 1),
            dims(2, 4, 6, [7, 7], [3, 2], 2, 0, 2, 2),
            dims(3, 4, 4, [6, 5], [3, 3], 1, 1, 1, 4), // depthwise
            dims(2, 6, 3, [4, 4], [1, 1], 1, 0, 1, 1), // pointwise fast path
            dims(1, 2, 2, [5, 5], [2, 2], 3, 1, 1, 1),
        ]
    }

    #[test]
    fn forward_matches_the_direct_definition() {
        for d in cases() {
            let x = data(d.batch * d.in_channels * d.height * d.width, 1);
            let w = data(d.out_channels * d.in_channels / d.groups * d.kernel[0] * d.kernel[1], 2);
            let b = data(d.out_channels, 3);
            let (oh, ow) = d.output_size().unwrap();
            for bias in [Some(&b[..]), None] {
                let mut y = vec![f32::NAN; d.batch * d.out_channels * oh * ow];
                forward(d, &x, &w, bias, &mut y).unwrap();
                for (a, e) in y.iter().zip(naive(&d, &x, &w, bias)) {
                    assert!((a - e).abs() < 1e-5, "{d:?}: {a} vs {e}");
                }
            }
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        for d in cases() {
            let x = data(d.batch * d.in_channels * d.height * d.width, 4);
            let w = data(d.out_channels * d.in_channels / d.groups * d.kernel[0] * d.kernel[1], 5);
            let b = data(d.out_channels, 6);
            let (oh, ow) = d.output_size().unwrap();
            let r = data(d.batch * d.out_channels * oh * ow, 7);
            let loss = |x: &[f32], w: &[f32], b: &[f32]| {
                let mut y = vec![0.0; r.len()];
                forward(d, x, w, Some(b), &mut y).unwrap();
                dot(&y, &r)
            };
            let (mut dw, mut db, mut dx) = (vec![0.5; w.len()], vec![0.25; b.len()], vec![f32::NAN; x.len()]);
            backward(d, &x, &w, &r, &mut dw, Some(&mut db), Some(&mut dx)).unwrap();
            // Parameter gradients accumulate onto what was there.
            dw.iter_mut().for_each(|v| *v -= 0.5);
            db.iter_mut().for_each(|v| *v -= 0.25);
            check("dx", &x, &dx, 1e-2, 2e-3, |v| loss(v, &w, &b));
            check("dw", &w, &dw, 1e-2, 2e-3, |v| loss(&x, v, &b));
            check("db", &b, &db, 1e-2, 2e-3, |v| loss(&x, &w, v));
        }
    }

    #[test]
    fn threaded_and_serial_agree() {
        // Big enough to be split over workers when the machine has several cores.
        let d = dims(8, 8, 16, [16, 16], [3, 3], 1, 1, 1, 1);
        let x = data(d.batch * d.in_channels * 256, 8);
        let w = data(16 * 8 * 9, 9);
        let mut y = vec![0.0; d.batch * 16 * 256];
        forward(d, &x, &w, None, &mut y).unwrap();
        let mut dw = vec![0.0; w.len()];
        backward(d, &x, &w, &y, &mut dw, None, None).unwrap();
        let mut dw1 = vec![0.0; w.len()];
        for n in 0..d.batch {
            let dn = Conv2dDims { batch: 1, ..d };
            let xs = &x[n * 8 * 256..][..8 * 256];
            backward(dn, xs, &w, &y[n * 16 * 256..][..16 * 256], &mut dw1, None, None).unwrap();
        }
        for (a, b) in dw.iter().zip(&dw1) {
            assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn bad_configurations_are_errors() {
        let d = dims(1, 3, 4, [5, 5], [3, 3], 1, 0, 1, 2);
        assert!(forward(d, &[0.0; 75], &[0.0; 4 * 9], None, &mut [0.0; 36]).unwrap_err().0.contains("divisible by groups"));
        let d = dims(1, 1, 1, [2, 2], [5, 5], 1, 0, 1, 1);
        assert!(d.output_size().unwrap_err().0.contains("smaller than"));
    }
}
