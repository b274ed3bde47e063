//! Linear (torch.nn.Linear): y = x W^T + b with W of shape [out, in], on matrixmultiply's sgemm
//! split across the layer threads (gemm.rs).

use crate::{expect_len, ShapeError};

#[derive(Debug, Clone, Copy)]
pub struct LinearDims {
    pub batch: usize,
    pub in_features: usize,
    pub out_features: usize,
}

impl LinearDims {
    fn check(&self, x: usize, w: usize, b: usize, y: usize) -> Result<(), ShapeError> {
        let LinearDims { batch, in_features: i, out_features: o } = *self;
        expect_len("input", x, batch * i)?;
        expect_len("weight", w, o * i)?;
        expect_len("bias", b, o)?;
        expect_len("output", y, batch * o)
    }
}

/// `y = x W^T + b`.
pub fn forward(d: LinearDims, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) -> Result<(), ShapeError> {
    d.check(x.len(), w.len(), b.len(), y.len())?;
    let LinearDims { batch, in_features: i, out_features: o } = d;
    if o == 0 {
        return Ok(());
    }
    for row in y.chunks_exact_mut(o) {
        row.copy_from_slice(b);
    }
    // SAFETY: lengths checked above; strides describe x [batch, i], W^T [i, o] and y [batch, o].
    unsafe {
        crate::gemm::sgemm(
            batch, i, o, 1.0,
            x.as_ptr(), i as isize, 1,
            w.as_ptr(), 1, i as isize,
            1.0, y.as_mut_ptr(), o as isize, 1,
        );
    }
    Ok(())
}

/// Given `dy`, accumulates `dW += dy^T x` and `db += sum_rows(dy)`, and writes `dx = dy W`
/// when the caller wants the input gradient.
pub fn backward(
    d: LinearDims,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<&mut [f32]>,
) -> Result<(), ShapeError> {
    d.check(x.len(), w.len(), db.len(), dy.len())?;
    expect_len("weight gradient", dw.len(), w.len())?;
    let LinearDims { batch, in_features: i, out_features: o } = d;
    if let Some(dx) = &dx {
        expect_len("input gradient", dx.len(), x.len())?;
    }
    if o == 0 {
        return Ok(());
    }
    for row in dy.chunks_exact(o) {
        for (acc, &g) in db.iter_mut().zip(row) {
            *acc += g;
        }
    }
    // SAFETY: lengths checked above; dy^T is [o, batch] read through swapped strides.
    unsafe {
        crate::gemm::sgemm(
            o, batch, i, 1.0,
            dy.as_ptr(), 1, o as isize,
            x.as_ptr(), i as isize, 1,
            1.0, dw.as_mut_ptr(), i as isize, 1,
        );
        if let Some(dx) = dx {
            crate::gemm::sgemm(
                batch, o, i, 1.0,
                dy.as_ptr(), o as isize, 1,
                w.as_ptr(), i as isize, 1,
                0.0, dx.as_mut_ptr(), i as isize, 1,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: LinearDims = LinearDims { batch: 2, in_features: 3, out_features: 2 };
    const X: [f32; 6] = [1.0, 2.0, 3.0, -1.0, 0.5, 0.0];
    const W: [f32; 6] = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
    const B: [f32; 2] = [0.01, -0.02];

    #[test]
    fn forward_matches_hand_computed_product() {
        let mut y = [0.0f32; 4];
        forward(D, &X, &W, &B, &mut y).unwrap();
        let want = [0.1 - 0.4 + 0.9 + 0.01, 0.4 + 1.0 - 1.8 - 0.02, -0.1 - 0.1 + 0.01, -0.4 + 0.25 - 0.02];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{y:?}");
        }
    }

    /// Loss L = sum(y * r) for a fixed r, so dL/dy = r; compare with central differences.
    #[test]
    fn backward_matches_finite_differences() {
        let r = [0.3f32, -1.1, 0.7, 0.2];
        let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
            let mut y = [0.0f32; 4];
            forward(D, x, w, b, &mut y).unwrap();
            y.iter().zip(r).map(|(a, b)| f64::from(a * b)).sum()
        };
        let (mut dw, mut db, mut dx) = ([0.0f32; 6], [0.0f32; 2], [0.0f32; 6]);
        backward(D, &X, &W, &r, &mut dw, &mut db, Some(&mut dx)).unwrap();
        let h = 1e-2f32;
        let numeric = |f: &dyn Fn(f32) -> f64| (f(h) - f(-h)) / (2.0 * f64::from(h));
        for k in 0..6 {
            let gw = numeric(&|e| { let mut w = W; w[k] += e; loss(&X, &w, &B) });
            let gx = numeric(&|e| { let mut x = X; x[k] += e; loss(&x, &W, &B) });
            assert!((gw - f64::from(dw[k])).abs() < 1e-4, "dW[{k}]: {gw} vs {}", dw[k]);
            assert!((gx - f64::from(dx[k])).abs() < 1e-4, "dX[{k}]: {gx} vs {}", dx[k]);
        }
        for k in 0..2 {
            let gb = numeric(&|e| { let mut b = B; b[k] += e; loss(&X, &W, &b) });
            assert!((gb - f64::from(db[k])).abs() < 1e-4, "db[{k}]: {gb} vs {}", db[k]);
        }
    }

    #[test]
    fn backward_accumulates_into_parameter_gradients() {
        let r = [1.0f32; 4];
        let (mut dw, mut db) = ([0.0f32; 6], [0.0f32; 2]);
        backward(D, &X, &W, &r, &mut dw, &mut db, None).unwrap();
        let once = dw;
        backward(D, &X, &W, &r, &mut dw, &mut db, None).unwrap();
        assert_eq!(dw.map(|v| v / 2.0), once);
        assert_eq!(db, [4.0, 4.0]);
    }

    #[test]
    fn wrong_lengths_are_reported() {
        let mut y = [0.0f32; 3];
        let err = forward(D, &X, &W, &B, &mut y).unwrap_err();
        assert_eq!(err.0, "output holds 3 elements, expected 4");
    }
}
