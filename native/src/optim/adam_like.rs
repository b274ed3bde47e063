//! Bindings of the Adam family (first and second moments): Adam/AdamW, Adamax, NAdam, RAdam, LAMB.

use anvil_kernels::optim;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::{run, BucketArrays};

#[napi(object)]
pub struct AdamOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
    /// AdamW's decoupled weight decay.
    pub decoupled: bool,
}

impl From<AdamOptions> for optim::Adam {
    fn from(o: AdamOptions) -> Self {
        let AdamOptions { lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled } = o;
        optim::Adam { lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled }
    }
}

#[napi(catch_unwind)]
pub fn adam_step(bucket: BucketArrays, options: AdamOptions) -> Result<()> {
    run(&optim::Adam::from(options), bucket)
}

#[napi(object)]
pub struct AdamaxOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

/// States: `exp_avg`, `exp_inf`.
#[napi(catch_unwind)]
pub fn adamax_step(bucket: BucketArrays, options: AdamaxOptions) -> Result<()> {
    let AdamaxOptions { lr, beta1, beta2, eps, weight_decay, maximize } = options;
    run(&optim::Adamax { lr, beta1, beta2, eps, weight_decay, maximize }, bucket)
}

#[napi(object)]
pub struct NAdamOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

/// States: `exp_avg`, `exp_avg_sq`; per-tensor state: `mu_product`.
#[napi(catch_unwind)]
pub fn nadam_step(bucket: BucketArrays, options: NAdamOptions) -> Result<()> {
    let NAdamOptions { lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize } = options;
    run(&optim::NAdam { lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize }, bucket)
}

#[napi(object)]
pub struct RAdamOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

/// States: `exp_avg`, `exp_avg_sq`.
#[napi(catch_unwind)]
pub fn radam_step(bucket: BucketArrays, options: RAdamOptions) -> Result<()> {
    let RAdamOptions { lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize } = options;
    run(&optim::RAdam { lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize }, bucket)
}

#[napi(object)]
pub struct LambOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub bias_correction: bool,
    pub grad_averaging: bool,
    pub trust_clip: bool,
    pub always_adapt: bool,
}

/// States: `exp_avg`, `exp_avg_sq`. Global gradient clipping comes in through `gradScale`.
#[napi(catch_unwind)]
pub fn lamb_step(bucket: BucketArrays, options: LambOptions) -> Result<()> {
    let LambOptions { lr, beta1, beta2, eps, weight_decay, bias_correction, grad_averaging, trust_clip, always_adapt } = options;
    run(&optim::Lamb { lr, beta1, beta2, eps, weight_decay, bias_correction, grad_averaging, trust_clip, always_adapt }, bucket)
}
