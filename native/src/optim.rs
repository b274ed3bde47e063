//! Optimizer steps over one bucket: the JS store hands its typed arrays, the kernels crate
//! runs the generic multi-tensor driver with the optimizer's element kernel.

use anvil_kernels::{optim, Bucket, ElementKernel};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

/// A bucket's typed arrays: params, grads and each state buffer hold the same number of
/// elements; tensor `i` spans `offsets[i]..offsets[i + 1]`; `steps` and `hasGrad` hold one
/// entry per tensor.
#[napi(object, object_to_js = false)]
pub struct BucketArrays {
    pub params: Float32Array,
    pub grads: Float32Array,
    pub states: Vec<Float32Array>,
    pub offsets: Uint32Array,
    pub steps: Uint32Array,
    pub has_grad: Uint8Array,
}

#[napi(object)]
pub struct SgdOptions {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub maximize: bool,
}

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

fn run<K: ElementKernel>(kernel: &K, mut b: BucketArrays) -> Result<()> {
    let mut spans = vec![span("params", &b.params), span("steps", &b.steps), span("grads", &b.grads)];
    spans.extend(b.states.iter().map(|s| span("states[i]", s)));
    check_disjoint(&spans)?;
    // SAFETY: the writable views were just checked to be disjoint from each other and from grads.
    let bucket = unsafe {
        Bucket {
            params: b.params.as_mut(),
            grads: &b.grads,
            states: b.states.iter_mut().map(|s| s.as_mut()).collect(),
            offsets: &b.offsets,
            steps: b.steps.as_mut(),
            has_grad: &b.has_grad,
        }
    };
    anvil_kernels::step(kernel, bucket).map_err(invalid)
}

#[napi(catch_unwind)]
pub fn sgd_step(bucket: BucketArrays, options: SgdOptions) -> Result<()> {
    let k = optim::Sgd {
        lr: options.lr as f32,
        momentum: options.momentum as f32,
        dampening: options.dampening as f32,
        weight_decay: options.weight_decay as f32,
        nesterov: options.nesterov,
        maximize: options.maximize,
    };
    run(&k, bucket)
}

#[napi(catch_unwind)]
pub fn adam_step(bucket: BucketArrays, options: AdamOptions) -> Result<()> {
    let k = optim::Adam {
        lr: options.lr,
        beta1: options.beta1,
        beta2: options.beta2,
        eps: options.eps,
        weight_decay: options.weight_decay,
        amsgrad: options.amsgrad,
        maximize: options.maximize,
        decoupled: options.decoupled,
    };
    run(&k, bucket)
}
