//! Bindings of the SGD-like optimizers (no second moment): SGD, ASGD, Rprop, Lion.

use anvil_kernels::optim;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::{step_bindings, AnyKernel};

#[napi(object)]
pub struct SgdOptions {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub maximize: bool,
}

impl From<SgdOptions> for optim::Sgd {
    fn from(o: SgdOptions) -> Self {
        optim::Sgd {
            lr: o.lr as f32,
            momentum: o.momentum as f32,
            dampening: o.dampening as f32,
            weight_decay: o.weight_decay as f32,
            nesterov: o.nesterov,
            maximize: o.maximize,
        }
    }
}

step_bindings! {
    sgd_step, sgd_step_async, SgdOptions, |o| AnyKernel::Sgd(o.into())
}

#[napi(object)]
pub struct AsgdOptions {
    pub lr: f64,
    pub lambd: f64,
    pub alpha: f64,
    pub t0: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

step_bindings! {
    /// States: `ax`; per-tensor states: `eta`, `mu`.
    asgd_step, asgd_step_async, AsgdOptions, |o| { let AsgdOptions { lr, lambd, alpha, t0, weight_decay, maximize } = o; AnyKernel::Asgd(optim::Asgd { lr, lambd, alpha, t0, weight_decay, maximize }) }
}

#[napi(object)]
pub struct RpropOptions {
    pub lr: f64,
    pub eta_minus: f64,
    pub eta_plus: f64,
    pub step_size_min: f64,
    pub step_size_max: f64,
    pub maximize: bool,
}

step_bindings! {
    /// States: `prev`, `step_size`.
    rprop_step, rprop_step_async, RpropOptions, |o| { let RpropOptions { lr, eta_minus, eta_plus, step_size_min, step_size_max, maximize } = o; AnyKernel::Rprop(optim::Rprop { lr, eta_minus, eta_plus, step_size_min, step_size_max, maximize }) }
}

#[napi(object)]
pub struct LionOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

step_bindings! {
    /// States: `exp_avg`.
    lion_step, lion_step_async, LionOptions, |o| { let LionOptions { lr, beta1, beta2, weight_decay, maximize } = o; AnyKernel::Lion(optim::Lion { lr, beta1, beta2, weight_decay, maximize }) }
}
