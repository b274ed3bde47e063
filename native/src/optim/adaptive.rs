//! Bindings of the per-element adaptive-rate optimizers: Adagrad, RMSprop, Adadelta.

use anvil_kernels::optim;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::{run, BucketArrays};

#[napi(object)]
pub struct AdagradOptions {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub eps: f64,
    pub maximize: bool,
}

/// States: `sum` (the caller fills it with initial_accumulator_value first).
#[napi(catch_unwind)]
pub fn adagrad_step(bucket: BucketArrays, options: AdagradOptions) -> Result<()> {
    let AdagradOptions { lr, lr_decay, weight_decay, eps, maximize } = options;
    run(&optim::Adagrad { lr, lr_decay, weight_decay, eps, maximize }, bucket)
}

#[napi(object)]
pub struct RmsPropOptions {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
    pub maximize: bool,
}

/// States: `square_avg`, then `momentum_buffer` when momentum > 0, then `grad_avg` when centered.
#[napi(catch_unwind)]
pub fn rmsprop_step(bucket: BucketArrays, options: RmsPropOptions) -> Result<()> {
    let RmsPropOptions { lr, alpha, eps, weight_decay, momentum, centered, maximize } = options;
    run(&optim::RmsProp { lr, alpha, eps, weight_decay, momentum, centered, maximize }, bucket)
}

#[napi(object)]
pub struct AdadeltaOptions {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

/// States: `square_avg`, `acc_delta`.
#[napi(catch_unwind)]
pub fn adadelta_step(bucket: BucketArrays, options: AdadeltaOptions) -> Result<()> {
    let AdadeltaOptions { lr, rho, eps, weight_decay, maximize } = options;
    run(&optim::Adadelta { lr, rho, eps, weight_decay, maximize }, bucket)
}
