//! Layers as pure functions over flat row-major `f32` buffers: forward writes activations,
//! backward accumulates parameter gradients (`+=`, so several losses and micro-batches add up).

pub mod activation;
pub mod batchnorm;
pub mod conv;
pub mod cross_entropy;
pub mod dropout;
pub mod embedding;
pub mod linear;
pub mod loss;
pub mod norm;
pub mod pool;
pub mod upsample;

pub mod gemm;
mod im2col;
pub mod parallel;

pub use parallel::{set_threads, threads};

#[cfg(test)]
mod gradcheck;

use std::fmt;

/// A buffer whose length does not match the dimensions it was passed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

pub(crate) fn expect_len(what: &str, got: usize, want: usize) -> Result<(), ShapeError> {
    if got == want {
        Ok(())
    } else {
        Err(ShapeError(format!("{what} holds {got} elements, expected {want}")))
    }
}

/// Like `expect_len` for an optional buffer (absent affine parameters, unwanted gradients).
pub(crate) fn expect_opt_len(what: &str, got: Option<usize>, want: usize) -> Result<(), ShapeError> {
    got.map_or(Ok(()), |g| expect_len(what, g, want))
}

/// `sum(f(a_i, b_i))`: eight independent f32 lanes (so it vectorises instead of waiting on one
/// accumulator), flushed into f64 every 512 elements to keep long reductions accurate.
#[inline]
pub(crate) fn lane_sum2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    let mut total = 0.0f64;
    for (ba, bb) in a.chunks(512).zip(b.chunks(512)) {
        let mut acc = [0.0f32; 8];
        let (ca, cb) = (ba.chunks_exact(8), bb.chunks_exact(8));
        let rest: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(&x, &y)| f(x, y)).sum();
        for (xa, xb) in ca.zip(cb) {
            for ((s, &x), &y) in acc.iter_mut().zip(xa).zip(xb) {
                *s += f(x, y);
            }
        }
        total += acc.iter().map(|&s| f64::from(s)).sum::<f64>() + f64::from(rest);
    }
    total
}

/// `sum(f(a_i))`, as `lane_sum2`.
#[inline]
pub(crate) fn lane_sum(a: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut total = 0.0f64;
    for block in a.chunks(512) {
        let mut acc = [0.0f32; 8];
        let chunks = block.chunks_exact(8);
        let rest: f32 = chunks.remainder().iter().map(|&x| f(x)).sum();
        for c in chunks {
            for (s, &x) in acc.iter_mut().zip(c) {
                *s += f(x);
            }
        }
        total += acc.iter().map(|&s| f64::from(s)).sum::<f64>() + f64::from(rest);
    }
    total
}

pub(crate) fn invalid(msg: impl Into<String>) -> ShapeError {
    ShapeError(msg.into())
}
