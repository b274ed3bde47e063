//! Layers as pure functions over flat row-major `f32` buffers: forward writes activations,
//! backward accumulates parameter gradients (`+=`, so several losses and micro-batches add up).

pub mod activation;
pub mod linear;
pub mod loss;

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
