//! Upsample / interpolate (torch.nn.Upsample) over the planes of NCHW buffers in 'nearest' and
//! 'bilinear' mode, with torch's source-index rules (bilinear: align_corners False and True).

use crate::{expect_len, invalid, ShapeError};

/// The interpolation: torch's `mode` (and `align_corners`, which only bilinear takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Nearest,
    Bilinear { align_corners: bool },
}

/// Resizes `planes` planes from `input` to `output` (height, width). `scale_factor` is the user's
/// factor per axis when one was given (torch then maps with 1/scale rather than in/out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpsampleDims {
    pub planes: usize,
    pub input: [usize; 2],
    pub output: [usize; 2],
    pub mode: Mode,
    pub scale_factor: [Option<f64>; 2],
}

/// torch's `compute_scales_value` / `area_pixel_compute_scale`: 1/scale (computed in double, then
/// float) when the user gave a positive scale, else in/out; `align_corners` maps corner to corner.
fn axis_scale(input: usize, output: usize, align_corners: bool, scale_factor: Option<f64>) -> f32 {
    if align_corners {
        return if output > 1 { (input as f32 - 1.0) / (output as f32 - 1.0) } else { 0.0 };
    }
    match scale_factor {
        Some(s) if s > 0.0 => (1.0 / s) as f32,
        _ => input as f32 / output as f32,
    }
}

/// torch's `nearest_idx` ('nearest', not 'nearest-exact'): `min(floor(o * scale), in - 1)`, with
/// its two special cases (same size: identity; exactly double: `o / 2`).
fn nearest_axis(input: usize, output: usize, scale_factor: Option<f64>) -> Vec<usize> {
    let scale = axis_scale(input, output, false, scale_factor);
    (0..output)
        .map(|o| {
            if output == input {
                o
            } else if output == 2 * input {
                o >> 1
            } else {
                ((o as f32 * scale).floor() as usize).min(input - 1)
            }
        })
        .collect()
}

/// Source indices and weights `(i0, i1, w0, w1)` of every output index along one axis.
type Taps = Vec<(usize, usize, f32, f32)>;

fn bilinear_axis(input: usize, output: usize, align_corners: bool, scale_factor: Option<f64>) -> Taps {
    let scale = axis_scale(input, output, align_corners, scale_factor);
    (0..output)
        .map(|o| {
            let src = if align_corners { scale * o as f32 } else { (scale * (o as f32 + 0.5) - 0.5).max(0.0) };
            let i0 = (src as usize).min(input - 1);
            let i1 = if i0 < input - 1 { i0 + 1 } else { i0 };
            let l1 = (src - i0 as f32).clamp(0.0, 1.0);
            (i0, i1, 1.0 - l1, l1)
        })
        .collect()
}

impl UpsampleDims {
    fn check(&self, x: usize, y: usize) -> Result<(), ShapeError> {
        if self.input.contains(&0) || self.output.contains(&0) {
            return Err(invalid(format!("Upsample: input {:?} and output {:?} sizes must be positive", self.input, self.output)));
        }
        expect_len("input", x, self.planes * self.input[0] * self.input[1])?;
        expect_len("output", y, self.planes * self.output[0] * self.output[1])
    }

    fn nearest_tables(&self) -> [Vec<usize>; 2] {
        [0, 1].map(|a| nearest_axis(self.input[a], self.output[a], self.scale_factor[a]))
    }

    fn bilinear_tables(&self, align_corners: bool) -> [Taps; 2] {
        [0, 1].map(|a| bilinear_axis(self.input[a], self.output[a], align_corners, self.scale_factor[a]))
    }

    fn plane_lens(&self) -> (usize, usize) {
        (self.input[0] * self.input[1], self.output[0] * self.output[1])
    }
}

/// Interpolates every plane of `x` into `y`.
pub fn forward(d: UpsampleDims, x: &[f32], y: &mut [f32]) -> Result<(), ShapeError> {
    d.check(x.len(), y.len())?;
    let (iw, ow) = (d.input[1], d.output[1]);
    let (in_plane, out_plane) = d.plane_lens();
    match d.mode {
        Mode::Nearest => {
            let [th, tw] = d.nearest_tables();
            for (xp, yp) in x.chunks_exact(in_plane).zip(y.chunks_exact_mut(out_plane)) {
                for (yr, &h) in yp.chunks_exact_mut(ow).zip(&th) {
                    let r = &xp[h * iw..][..iw];
                    for (o, &w) in yr.iter_mut().zip(&tw) {
                        *o = r[w];
                    }
                }
            }
        }
        Mode::Bilinear { align_corners } => {
            let [th, tw] = d.bilinear_tables(align_corners);
            for (xp, yp) in x.chunks_exact(in_plane).zip(y.chunks_exact_mut(out_plane)) {
                for (yr, &(h0, h1, a0, a1)) in yp.chunks_exact_mut(ow).zip(&th) {
                    let (r0, r1) = (&xp[h0 * iw..][..iw], &xp[h1 * iw..][..iw]);
                    for (o, &(w0, w1, b0, b1)) in yr.iter_mut().zip(&tw) {
                        *o = a0 * (b0 * r0[w0] + b1 * r0[w1]) + a1 * (b0 * r1[w0] + b1 * r1[w1]);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The adjoint: each output gradient added back onto the source pixel(s) it was read from
/// (`dx` overwritten).
pub fn backward(d: UpsampleDims, dy: &[f32], dx: &mut [f32]) -> Result<(), ShapeError> {
    d.check(dx.len(), dy.len())?;
    let (iw, ow) = (d.input[1], d.output[1]);
    let (in_plane, out_plane) = d.plane_lens();
    dx.fill(0.0);
    match d.mode {
        Mode::Nearest => {
            let [th, tw] = d.nearest_tables();
            for (dxp, gp) in dx.chunks_exact_mut(in_plane).zip(dy.chunks_exact(out_plane)) {
                for (gr, &h) in gp.chunks_exact(ow).zip(&th) {
                    let r = &mut dxp[h * iw..][..iw];
                    for (&g, &w) in gr.iter().zip(&tw) {
                        r[w] += g;
                    }
                }
            }
        }
        Mode::Bilinear { align_corners } => {
            let [th, tw] = d.bilinear_tables(align_corners);
            for (dxp, gp) in dx.chunks_exact_mut(in_plane).zip(dy.chunks_exact(out_plane)) {
                for (gr, &(h0, h1, a0, a1)) in gp.chunks_exact(ow).zip(&th) {
                    for (&g, &(w0, w1, b0, b1)) in gr.iter().zip(&tw) {
                        dxp[h0 * iw + w0] += a0 * b0 * g;
                        dxp[h0 * iw + w1] += a0 * b1 * g;
                        dxp[h1 * iw + w0] += a1 * b0 * g;
                        dxp[h1 * iw + w1] += a1 * b1 * g;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, data, dot};

    const BILINEAR: Mode = Mode::Bilinear { align_corners: false };

    #[test]
    fn doubling_matches_torch_values() {
        // torch: F.interpolate(tensor([[[[1., 2.], [3., 4.]]]]), scale_factor=2, mode='bilinear')
        let d = UpsampleDims { planes: 1, input: [2, 2], output: [4, 4], mode: BILINEAR, scale_factor: [Some(2.0); 2] };
        let mut y = [0.0; 16];
        forward(d, &[1.0, 2.0, 3.0, 4.0], &mut y).unwrap();
        let want = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
        assert_eq!(y, want);
        let d = UpsampleDims { mode: Mode::Bilinear { align_corners: true }, scale_factor: [None; 2], ..d };
        forward(d, &[1.0, 2.0, 3.0, 4.0], &mut y).unwrap();
        assert!((y[1] - (1.0 + 1.0 / 3.0)).abs() < 1e-6 && y[15] == 4.0);
    }

    #[test]
    fn nearest_follows_torch_index_rule() {
        // torch: F.interpolate(arange(1., 4.).view(1, 1, 1, 3), size=(1, 7)) -> floor(o * 3/7).
        let d = UpsampleDims { planes: 1, input: [1, 3], output: [1, 7], mode: Mode::Nearest, scale_factor: [None; 2] };
        let mut y = [0.0; 7];
        forward(d, &[1.0, 2.0, 3.0], &mut y).unwrap();
        assert_eq!(y, [1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
        // Downsampling 5 -> 2: floor(o * 2.5) = 0, 2.
        let d = UpsampleDims { input: [1, 5], output: [1, 2], ..d };
        let mut y = [0.0; 2];
        forward(d, &[1.0, 2.0, 3.0, 4.0, 5.0], &mut y).unwrap();
        assert_eq!(y, [1.0, 3.0]);
        // scale_factor=1.3 on 5 -> 6 maps with 1/1.3, not 5/6: floor(5 / 1.3) = 3 where 5 * 5/6 gives 4.
        let d = UpsampleDims { input: [1, 5], output: [1, 6], scale_factor: [None, Some(1.3)], ..d };
        let mut y = [0.0; 6];
        forward(d, &[1.0, 2.0, 3.0, 4.0, 5.0], &mut y).unwrap();
        assert_eq!(y, [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        let d = UpsampleDims { scale_factor: [None; 2], ..d };
        forward(d, &[1.0, 2.0, 3.0, 4.0, 5.0], &mut y).unwrap();
        assert_eq!(y, [1.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let cases = [
            ([3, 4], [7, 5], BILINEAR),
            ([5, 5], [2, 3], BILINEAR),
            ([3, 4], [6, 8], Mode::Bilinear { align_corners: true }),
            ([3, 4], [7, 9], Mode::Nearest),
            ([5, 6], [2, 4], Mode::Nearest),
            ([3, 4], [6, 8], Mode::Nearest),
        ];
        for (input, output, mode) in cases {
            let d = UpsampleDims { planes: 2, input, output, mode, scale_factor: [None; 2] };
            let x = data(2 * input[0] * input[1], 1);
            let r = data(2 * output[0] * output[1], 2);
            let mut dx = vec![f32::NAN; x.len()];
            backward(d, &r, &mut dx).unwrap();
            check("dx", &x, &dx, 1e-2, 2e-3, |v| {
                let mut y = vec![0.0; r.len()];
                forward(d, v, &mut y).unwrap();
                dot(&y, &r)
            });
        }
    }

    #[test]
    fn empty_sizes_and_wrong_lengths_are_errors() {
        let d = UpsampleDims { planes: 1, input: [2, 2], output: [0, 4], mode: Mode::Nearest, scale_factor: [None; 2] };
        assert!(forward(d, &[0.0; 4], &mut []).unwrap_err().0.contains("must be positive"));
        let d = UpsampleDims { output: [3, 3], ..d };
        assert_eq!(forward(d, &[0.0; 4], &mut [0.0; 8]).unwrap_err().0, "output holds 8 elements, expected 9");
    }
}
