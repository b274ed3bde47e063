//! im2col / col2im for one sample's channel planes: each (channel, ky, kx) row of the column
//! matrix holds the input pixel every output position reads through that kernel tap.

/// Plane geometry of a 2-D sliding window (input, kernel, stride, padding, dilation, output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub dh: usize,
    pub dw: usize,
    pub oh: usize,
    pub ow: usize,
}

/// Output positions `[lo, hi)` whose tap at offset `tap` (= k * dilation) lands inside `0..len`.
#[inline]
pub(crate) fn valid_range(out: usize, len: usize, stride: usize, pad: usize, tap: usize) -> (usize, usize) {
    valid(out, len, stride, pad, tap)
}

#[inline]
fn valid(out: usize, len: usize, stride: usize, pad: usize, tap: usize) -> (usize, usize) {
    let lo = if pad > tap { (pad - tap).div_ceil(stride) } else { 0 };
    let hi = if len + pad > tap { (len + pad - tap).div_ceil(stride) } else { 0 };
    (lo.min(out), hi.min(out).max(lo.min(out)))
}

impl Window {
    pub fn positions(&self) -> usize {
        self.oh * self.ow
    }

    pub fn taps(&self) -> usize {
        self.kh * self.kw
    }

    /// Calls `f(channel, ky, kx, output_row_range, x_range_in_plane_row)` for every tap and
    /// valid output row; the iy/ix offsets are resolved for the caller.
    #[inline]
    fn for_each_row(&self, channels: usize, mut f: impl FnMut(usize, usize, Option<(usize, usize, usize)>)) {
        let p = self.positions();
        for c in 0..channels {
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    let row = ((c * self.kh + ky) * self.kw + kx) * p;
                    let (lo, hi) = valid(self.ow, self.w, self.sw, self.pw, kx * self.dw);
                    for oy in 0..self.oh {
                        let iy = (oy * self.sh + ky * self.dh).wrapping_sub(self.ph);
                        let dst = row + oy * self.ow;
                        if iy >= self.h || lo == hi {
                            f(dst, self.ow, None);
                        } else {
                            let src = c * self.h * self.w + iy * self.w + lo * self.sw + kx * self.dw - self.pw;
                            f(dst, self.ow, Some((lo, hi, src)));
                        }
                    }
                }
            }
        }
    }

    /// `col[(c, ky, kx), (oy, ox)] = x[c, iy, ix]` (zero in the padding).
    pub fn im2col(&self, channels: usize, x: &[f32], col: &mut [f32]) {
        debug_assert_eq!(x.len(), channels * self.h * self.w);
        debug_assert_eq!(col.len(), channels * self.taps() * self.positions());
        let sw = self.sw;
        self.for_each_row(channels, |dst, ow, span| {
            let out = &mut col[dst..dst + ow];
            match span {
                None => out.fill(0.0),
                Some((lo, hi, src)) => {
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    let inside = &mut out[lo..hi];
                    if sw == 1 {
                        inside.copy_from_slice(&x[src..src + inside.len()]);
                    } else {
                        for (d, &v) in inside.iter_mut().zip(x[src..].iter().step_by(sw)) {
                            *d = v;
                        }
                    }
                }
            }
        });
    }

    /// `dx[c, iy, ix] += col[(c, ky, kx), (oy, ox)]`, the adjoint of `im2col`.
    pub fn col2im(&self, channels: usize, col: &[f32], dx: &mut [f32]) {
        debug_assert_eq!(dx.len(), channels * self.h * self.w);
        debug_assert_eq!(col.len(), channels * self.taps() * self.positions());
        let sw = self.sw;
        self.for_each_row(channels, |dst, _, span| {
            if let Some((lo, hi, src)) = span {
                let inside = &col[dst + lo..dst + hi];
                if sw == 1 {
                    for (d, &v) in dx[src..src + inside.len()].iter_mut().zip(inside) {
                        *d += v;
                    }
                } else {
                    for (d, &v) in dx[src..].iter_mut().step_by(sw).zip(inside) {
                        *d += v;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(h: usize, w: usize, k: usize, s: usize, p: usize, d: usize) -> Window {
        let oh = (h + 2 * p - d * (k - 1) - 1) / s + 1;
        let ow = (w + 2 * p - d * (k - 1) - 1) / s + 1;
        Window { h, w, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p, dh: d, dw: d, oh, ow }
    }

    /// The direct definition, index by index.
    fn naive(g: &Window, c: usize, x: &[f32]) -> Vec<f32> {
        let mut col = vec![0.0; c * g.taps() * g.positions()];
        for ch in 0..c {
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            let iy = (oy * g.sh + ky * g.dh) as isize - g.ph as isize;
                            let ix = (ox * g.sw + kx * g.dw) as isize - g.pw as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                                col[((ch * g.kh + ky) * g.kw + kx) * g.positions() + oy * g.ow + ox] =
                                    x[(ch * g.h + iy as usize) * g.w + ix as usize];
                            }
                        }
                    }
                }
            }
        }
        col
    }

    #[test]
    fn im2col_matches_the_definition_and_col2im_is_its_adjoint() {
        for &(h, w, k, s, p, d) in &[(5, 6, 3, 1, 1, 1), (7, 5, 3, 2, 0, 2), (4, 4, 1, 1, 0, 1), (6, 7, 3, 3, 2, 1), (3, 3, 5, 1, 2, 1)] {
            let g = window(h, w, k, s, p, d);
            let x = crate::gradcheck::data(2 * h * w, 1);
            let mut col = vec![7.0; 2 * g.taps() * g.positions()];
            g.im2col(2, &x, &mut col);
            assert_eq!(col, naive(&g, 2, &x), "{h}x{w} k{k} s{s} p{p} d{d}");
            // <im2col(x), r> == <x, col2im(r)> for any r.
            let r = crate::gradcheck::data(col.len(), 2);
            let mut back = vec![0.0; x.len()];
            g.col2im(2, &r, &mut back);
            let lhs = crate::gradcheck::dot(&col, &r);
            let rhs = crate::gradcheck::dot(&x, &back);
            assert!((lhs - rhs).abs() < 1e-4, "{lhs} vs {rhs}");
        }
    }
}
