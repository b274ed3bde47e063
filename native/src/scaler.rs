//! Loss-scaling bindings (torch.amp.GradScaler's kernels): unscale with the fused inf/nan check,
//! and the dynamic scale update.

use anvil_kernels::scaler;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::grad_lists::{with_grad_lists, GradBuffer};

/// Multiplies the included gradients by float32(1 / scale) and returns whether any was inf or
/// NaN before scaling. `scale` is the float32 loss scale; 1 only checks.
#[napi(catch_unwind)]
pub fn unscale_grads(mut grads: Vec<GradBuffer>, scale: f64) -> Result<bool> {
    let inv = scaler::inv_scale(scale as f32);
    with_grad_lists(&mut grads, |lists| Ok(scaler::unscale(lists, inv)))
}

#[napi(object)]
pub struct GradScaleUpdate {
    /// The new float32 scale.
    pub scale: f64,
    pub growth_tracker: i32,
}

/// One `GradScaler.update()` of the scale and its growth tracker.
#[napi(catch_unwind)]
pub fn update_grad_scale(scale: f64, growth_tracker: i32, found_inf: bool, growth_factor: f64, backoff_factor: f64, growth_interval: i64) -> GradScaleUpdate {
    let (scale, growth_tracker) = scaler::update_scale(scale as f32, growth_tracker, found_inf, growth_factor, backoff_factor, growth_interval);
    GradScaleUpdate { scale: f64::from(scale), growth_tracker }
}

/// Norm clipping folded into the fused AMP step.
#[napi(object)]
pub struct AmpClipOptions {
    pub max_norm: f64,
    pub norm_type: f64,
    pub error_if_nonfinite: bool,
}

#[napi(object)]
pub struct AmpCheckResult {
    pub found_inf: bool,
    /// The total norm of the unscaled gradients, with clipping.
    pub total_norm: Option<f64>,
    /// The factor the optimizer's update applies as it reads the gradients (`step({ gradScale })`).
    pub grad_scale: f64,
}

/// The read pass of the fused AMP step over still-scaled gradients (nothing is written): the
/// inf/nan check and, with `clip`, the total norm of the unscaled gradients.
#[napi(catch_unwind)]
pub fn amp_check_grads(mut grads: Vec<GradBuffer>, scale: f64, clip: Option<AmpClipOptions>) -> Result<AmpCheckResult> {
    let clip = clip.map(|c| scaler::ClipSpec { max_norm: c.max_norm, norm_type: c.norm_type, error_if_nonfinite: c.error_if_nonfinite });
    let r = with_grad_lists(&mut grads, |lists| scaler::amp_check(lists, scale as f32, clip))?;
    Ok(AmpCheckResult { found_inf: r.found_inf, total_norm: r.total_norm.map(f64::from), grad_scale: f64::from(r.grad_scale) })
}
