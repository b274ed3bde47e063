//! Upsample / interpolate in bilinear mode (torch.nn.Upsample(mode='bilinear')) over the planes of
//! NCHW buffers, with torch's source-index rule for align_corners False and True.

use crate::{expect_len, invalid, ShapeError};

/// Resizes `planes` planes from `input` to `output` (height, width). `scale_factor` is the user's
/// factor per axis when one was given (torch then maps with 1/scale rather than in/out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BilinearDims {
    pub planes: usize,
    pub input: [usize; 2],
    pub output: [usize; 2],
    pub align_corners: bool,
    pub scale_factor: [Option<f32>; 2],
}

/// Source indices and weights `(i0, i1, w0, w1)` of every output index along one axis.
type Taps = Vec<(usize, usize, f32, f32)>;

fn axis(input: usize, output: usize, align_corners: bool, scale_factor: Option<f32>) -> Taps {
    // area_pixel_compute_scale, in float as torch's CPU kernel for float tensors.
    let scale = if align_corners {
        if output > 1 { (input as f32 - 1.0) / (output as f32 - 1.0) } else { 0.0 }
    } else {
        match scale_factor {
            Some(s) if s > 0.0 => 1.0 / s,
            _ => input as f32 / output as f32,
        }
    };
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

impl BilinearDims {
    fn tables(&self, x: usize, y: usize) -> Result<[Taps; 2], ShapeError> {
        if self.input.contains(&0) || self.output.contains(&0) {
            return Err(invalid(format!("Upsample: input {:?} and output {:?} sizes must be positive", self.input, self.output)));
        }
        expect_len("input", x, self.planes * self.input[0] * self.input[1])?;
        expect_len("output", y, self.planes * self.output[0] * self.output[1])?;
        Ok([0, 1].map(|a| axis(self.input[a], self.output[a], self.align_corners, self.scale_factor[a])))
    }
}

/// Bilinear interpolation of every plane.
pub fn forward(d: BilinearDims, x: &[f32], y: &mut [f32]) -> Result<(), ShapeError> {
    let [th, tw] = d.tables(x.len(), y.len())?;
    let (iw, ow) = (d.input[1], d.output[1]);
    for (xp, yp) in x.chunks_exact(d.input[0] * iw).zip(y.chunks_exact_mut(d.output[0] * ow)) {
        for (yr, &(h0, h1, a0, a1)) in yp.chunks_exact_mut(ow).zip(&th) {
            let (r0, r1) = (&xp[h0 * iw..][..iw], &xp[h1 * iw..][..iw]);
            for (o, &(w0, w1, b0, b1)) in yr.iter_mut().zip(&tw) {
                *o = a0 * (b0 * r0[w0] + b1 * r0[w1]) + a1 * (b0 * r1[w0] + b1 * r1[w1]);
            }
        }
    }
    Ok(())
}

/// The adjoint: each output gradient spread back onto its four source pixels (`dx` overwritten).
pub fn backward(d: BilinearDims, dy: &[f32], dx: &mut [f32]) -> Result<(), ShapeError> {
    let [th, tw] = d.tables(dx.len(), dy.len())?;
    let (iw, ow) = (d.input[1], d.output[1]);
    dx.fill(0.0);
    for (dxp, gp) in dx.chunks_exact_mut(d.input[0] * iw).zip(dy.chunks_exact(d.output[0] * ow)) {
        for (gr, &(h0, h1, a0, a1)) in gp.chunks_exact(ow).zip(&th) {
            for (&g, &(w0, w1, b0, b1)) in gr.iter().zip(&tw) {
                dxp[h0 * iw + w0] += a0 * b0 * g;
                dxp[h0 * iw + w1] += a0 * b1 * g;
                dxp[h1 * iw + w0] += a1 * b0 * g;
                dxp[h1 * iw + w1] += a1 * b1 * g;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, data, dot};

    #[test]
    fn doubling_matches_torch_values() {
        // torch: F.interpolate(tensor([[[[1., 2.], [3., 4.]]]]), scale_factor=2, mode='bilinear')
        let d = BilinearDims { planes: 1, input: [2, 2], output: [4, 4], align_corners: false, scale_factor: [Some(2.0); 2] };
        let mut y = [0.0; 16];
        forward(d, &[1.0, 2.0, 3.0, 4.0], &mut y).unwrap();
        let want = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
        assert_eq!(y, want);
        let d = BilinearDims { align_corners: true, scale_factor: [None; 2], ..d };
        forward(d, &[1.0, 2.0, 3.0, 4.0], &mut y).unwrap();
        assert!((y[1] - (1.0 + 1.0 / 3.0)).abs() < 1e-6 && y[15] == 4.0);
    }

    #[test]
    fn backward_matches_finite_differences() {
        for (input, output, ac) in [([3, 4], [7, 5], false), ([5, 5], [2, 3], false), ([3, 4], [6, 8], true)] {
            let d = BilinearDims { planes: 2, input, output, align_corners: ac, scale_factor: [None; 2] };
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
}
