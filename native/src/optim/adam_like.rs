//! Bindings of the Adam family (first and second moments): Adam/AdamW, Adamax, NAdam, RAdam, LAMB.

use anvil_kernels::optim;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::{step_bindings, AnyKernel};

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

step_bindings! {
    adam_step, adam_step_async, AdamOptions, |o| AnyKernel::Adam(o.into())
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

step_bindings! {
    /// States: `exp_avg`, `exp_inf`.
    adamax_step, adamax_step_async, AdamaxOptions, |o| { let AdamaxOptions { lr, beta1, beta2, eps, weight_decay, maximize } = o; AnyKernel::Adamax(optim::Adamax { lr, beta1, beta2, eps, weight_decay, maximize }) }
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

step_bindings! {
    /// States: `exp_avg`, `exp_avg_sq`; per-tensor state: `mu_product`.
    nadam_step, nadam_step_async, NAdamOptions, |o| { let NAdamOptions { lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize } = o; AnyKernel::NAdam(optim::NAdam { lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize }) }
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

step_bindings! {
    /// States: `exp_avg`, `exp_avg_sq`.
    radam_step, radam_step_async, RAdamOptions, |o| { let RAdamOptions { lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize } = o; AnyKernel::RAdam(optim::RAdam { lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize }) }
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

step_bindings! {
    /// States: `exp_avg`, `exp_avg_sq`. Global gradient clipping comes in through `gradScale`.
    lamb_step, lamb_step_async, LambOptions, |o| { let LambOptions { lr, beta1, beta2, eps, weight_decay, bias_correction, grad_averaging, trust_clip, always_adapt } = o; AnyKernel::Lamb(optim::Lamb { lr, beta1, beta2, eps, weight_decay, bias_correction, grad_averaging, trust_clip, always_adapt }) }
}
