//! Bindings of the SGD-like optimizers (no second moment): SGD, ASGD, Rprop, Lion.

use anvil_kernels::optim;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::{run, BucketArrays};

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

#[napi(catch_unwind)]
pub fn sgd_step(bucket: BucketArrays, options: SgdOptions) -> Result<()> {
    run(&optim::Sgd::from(options), bucket)
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

/// States: `ax`; per-tensor states: `eta`, `mu`.
#[napi(catch_unwind)]
pub fn asgd_step(bucket: BucketArrays, options: AsgdOptions) -> Result<()> {
    let AsgdOptions { lr, lambd, alpha, t0, weight_decay, maximize } = options;
    run(&optim::Asgd { lr, lambd, alpha, t0, weight_decay, maximize }, bucket)
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

/// States: `prev`, `step_size`.
#[napi(catch_unwind)]
pub fn rprop_step(bucket: BucketArrays, options: RpropOptions) -> Result<()> {
    let RpropOptions { lr, eta_minus, eta_plus, step_size_min, step_size_max, maximize } = options;
    run(&optim::Rprop { lr, eta_minus, eta_plus, step_size_min, step_size_max, maximize }, bucket)
}

#[napi(object)]
pub struct LionOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

/// States: `exp_avg`.
#[napi(catch_unwind)]
pub fn lion_step(bucket: BucketArrays, options: LionOptions) -> Result<()> {
    let LionOptions { lr, beta1, beta2, weight_decay, maximize } = options;
    run(&optim::Lion { lr, beta1, beta2, weight_decay, maximize }, bucket)
}
