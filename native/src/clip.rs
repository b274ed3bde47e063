//! Gradient clipping bindings (torch.nn.utils' clip_grad_norm_, get_total_norm, clip_grad_value_)
//! over lists of gradient buffers, float32 or fp16/bf16 bits.

use anvil_kernels::clip;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::grad_lists::{with_grad_lists, GradBuffer};

/// The total `normType` norm of the included gradients (float32 value; inf/NaN propagate).
#[napi(catch_unwind)]
pub fn grad_total_norm(mut grads: Vec<GradBuffer>, norm_type: f64) -> Result<f64> {
    with_grad_lists(&mut grads, |lists| clip::total_norm(lists, norm_type).map(f64::from))
}

/// Scales the gradients by `min(maxNorm / (total + 1e-6), 1)` and returns the total norm.
#[napi(catch_unwind)]
pub fn clip_grad_norm(mut grads: Vec<GradBuffer>, max_norm: f64, norm_type: f64, error_if_nonfinite: bool) -> Result<f64> {
    with_grad_lists(&mut grads, |lists| clip::clip_grad_norm(lists, max_norm, norm_type, error_if_nonfinite).map(f64::from))
}

/// Clamps the gradients to `[-clipValue, clipValue]`.
#[napi(catch_unwind)]
pub fn clip_grad_value(mut grads: Vec<GradBuffer>, clip_value: f64) -> Result<()> {
    with_grad_lists(&mut grads, |lists| {
        clip::clip_grad_value(lists, clip_value);
        Ok(())
    })
}
