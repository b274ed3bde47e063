//! Bindings of the per-element adaptive-rate optimizers: Adagrad, RMSprop, Adadelta.

use anvil_kernels::optim;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::{step_bindings, AnyKernel};

#[napi(object)]
pub struct AdagradOptions {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub eps: f64,
    pub maximize: bool,
}

step_bindings! {
    /// States: `sum` (the caller fills it with initial_accumulator_value first).
    adagrad_step, adagrad_step_async, AdagradOptions, |o| { let AdagradOptions { lr, lr_decay, weight_decay, eps, maximize } = o; AnyKernel::Adagrad(optim::Adagrad { lr, lr_decay, weight_decay, eps, maximize }) }
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

step_bindings! {
    /// States: `square_avg`, then `momentum_buffer` when momentum > 0, then `grad_avg` when centered.
    rmsprop_step, rmsprop_step_async, RmsPropOptions, |o| { let RmsPropOptions { lr, alpha, eps, weight_decay, momentum, centered, maximize } = o; AnyKernel::RmsProp(optim::RmsProp { lr, alpha, eps, weight_decay, momentum, centered, maximize }) }
}

#[napi(object)]
pub struct AdadeltaOptions {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

step_bindings! {
    /// States: `square_avg`, `acc_delta`.
    adadelta_step, adadelta_step_async, AdadeltaOptions, |o| { let AdadeltaOptions { lr, rho, eps, weight_decay, maximize } = o; AnyKernel::Adadelta(optim::Adadelta { lr, rho, eps, weight_decay, maximize }) }
}
