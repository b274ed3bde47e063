//! Optimizer steps over one bucket: the JS store hands its typed arrays (each call, or once to
//! a `StepBucket` handle), the kernels crate runs the generic multi-tensor driver with the
//! optimizer's element kernel, on the calling thread or (`...StepAsync`) on the libuv pool.

mod adam_like;
mod adaptive;
mod handle;
mod kernel;
mod sgd_like;

pub use handle::{StepBucket, StepTask};
pub use kernel::AnyKernel;

// The CUDA bindings take the same options.
pub use adam_like::{AdamOptions, AdamaxOptions, LambOptions, NAdamOptions, RAdamOptions};
pub use adaptive::{AdadeltaOptions, AdagradOptions, RmsPropOptions};
pub use sgd_like::{AsgdOptions, LionOptions, RpropOptions, SgdOptions};

use anvil_kernels::driver::{BucketRef, MAX_STATES, MAX_TENSOR_STATES};
use anvil_kernels::grads::Dtype;
use half::slice::HalfBitsSliceExt;
use half::{bf16, f16};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

/// A bucket's typed arrays: params, grads and each state buffer hold the same number of
/// elements; tensor `i` spans `offsets[i]..offsets[i + 1]`; `steps`, `hasGrad` and each
/// per-tensor state buffer hold one entry per tensor.
#[napi(object, object_to_js = false)]
pub struct BucketArrays {
    pub params: Float32Array,
    /// float32 values, or the raw bits of float16 / bfloat16 gradients (see `gradDtype`).
    pub grads: Either<Float32Array, Uint16Array>,
    /// 'float32' (the default), 'float16' or 'bfloat16'.
    pub grad_dtype: Option<String>,
    /// Multiplies every gradient as it is read (default 1), e.g. AMP's 1 / loss scale; used as float32.
    pub grad_scale: Option<f64>,
    pub states: Vec<Float32Array>,
    /// Per-tensor scalar state (NAdam's `mu_product`, ASGD's `eta` and `mu`), in kernel order.
    pub tensor_states: Option<Vec<Float64Array>>,
    pub offsets: Uint32Array,
    pub steps: Uint32Array,
    pub has_grad: Uint8Array,
}

/// The gradient type a `BucketArrays` declares, checked against its array type.
fn grad_dtype(b: &BucketArrays) -> Result<Dtype> {
    match (&b.grads, b.grad_dtype.as_deref().unwrap_or("float32")) {
        (Either::A(_), "float32") => Ok(Dtype::F32),
        (Either::B(_), "float16") => Ok(Dtype::F16),
        (Either::B(_), "bfloat16") => Ok(Dtype::Bf16),
        (_, d @ ("float32" | "float16" | "bfloat16")) => {
            let want = if d == "float32" { "a Float32Array" } else { "a Uint16Array of raw bits" };
            Err(invalid(format!("gradDtype '{d}' needs grads as {want}")))
        }
        (_, d) => Err(invalid(format!("unknown gradDtype '{d}' (expected float32, float16 or bfloat16)"))),
    }
}

/// Errors when a written view overlaps another view (grads are read only, the rest written).
fn check_arrays(b: &BucketArrays) -> Result<()> {
    let grads_span = match &b.grads {
        Either::A(g) => span("grads", g),
        Either::B(g) => span("grads", g),
    };
    if b.states.len() > MAX_STATES || b.tensor_states.as_ref().map_or(0, Vec::len) > MAX_TENSOR_STATES {
        return Err(invalid(format!("a bucket holds at most {MAX_STATES} state buffers and {MAX_TENSOR_STATES} per-tensor state buffers")));
    }
    let mut spans = vec![span("params", &b.params), span("steps", &b.steps), grads_span];
    spans.extend(b.states.iter().map(|s| span("states[i]", s)));
    spans.extend(b.tensor_states.iter().flatten().map(|s| span("tensorStates[i]", s)));
    check_disjoint(&spans)
}

/// The driver's view of a bucket, typed by its gradient dtype.
pub enum Typed<'a, 'l> {
    F32(BucketRef<'a, 'l, f32>),
    F16(BucketRef<'a, 'l, f16>),
    Bf16(BucketRef<'a, 'l, bf16>),
}

/// Checks the arrays, then calls `f` with the bucket typed by its gradient dtype (and
/// `grad_scale`, else the arrays' `gradScale`).
fn with_bucket<R>(b: &mut BucketArrays, grad_scale: Option<f64>, f: impl FnOnce(Typed<'_, '_>) -> R) -> Result<R> {
    check_arrays(b)?;
    let dtype = grad_dtype(b)?;
    let grad_scale = grad_scale.or(b.grad_scale).unwrap_or(1.0) as f32;
    let mut states: [&mut [f32]; MAX_STATES] = Default::default();
    let mut tensor_states: [&mut [f64]; MAX_TENSOR_STATES] = Default::default();
    let (n_states, n_tensor_states) = (b.states.len(), b.tensor_states.as_ref().map_or(0, Vec::len));
    // SAFETY: the writable views were just checked to be disjoint from each other and from grads.
    unsafe {
        for (slot, s) in states.iter_mut().zip(b.states.iter_mut()) {
            *slot = s.as_mut();
        }
        for (slot, s) in tensor_states.iter_mut().zip(b.tensor_states.iter_mut().flatten()) {
            *slot = s.as_mut();
        }
    }
    // SAFETY: as above.
    let (params, steps) = unsafe { (b.params.as_mut(), b.steps.as_mut()) };
    let (offsets, has_grad) = (&b.offsets[..], &b.has_grad[..]);
    let (states, tensor_states) = (&mut states[..n_states], &mut tensor_states[..n_tensor_states]);
    Ok(match (&b.grads, dtype) {
        (Either::A(g), _) => f(Typed::F32(BucketRef { params, grads: g, grad_scale, states, tensor_states, offsets, steps, has_grad })),
        (Either::B(g), Dtype::F16) => {
            f(Typed::F16(BucketRef { params, grads: g.reinterpret_cast(), grad_scale, states, tensor_states, offsets, steps, has_grad }))
        }
        (Either::B(g), _) => f(Typed::Bf16(BucketRef { params, grads: g.reinterpret_cast(), grad_scale, states, tensor_states, offsets, steps, has_grad })),
    })
}

/// A step over a registered handle, or over arrays given with this call.
pub type BucketInput<'a> = Either<ClassInstance<'a, StepBucket>, BucketArrays>;

/// Runs one step of `kernel` on the calling thread.
fn run(kernel: AnyKernel, bucket: BucketInput<'_>, grad_scale: Option<f64>) -> Result<()> {
    match bucket {
        Either::A(handle) => handle.step(&kernel, grad_scale),
        Either::B(mut arrays) => with_bucket(&mut arrays, grad_scale, |typed| kernel.step(typed))?.map_err(invalid),
    }
}

/// Runs one step of `kernel` on the libuv thread pool; the promise settles when it is done.
fn run_async(kernel: AnyKernel, bucket: &StepBucket, grad_scale: Option<f64>) -> Result<AsyncTask<StepTask>> {
    bucket.task(kernel, grad_scale).map(AsyncTask::new)
}

/// Defines an optimizer's two step bindings: `$sync(bucket, options, gradScale?)` on this
/// thread, over a registered `StepBucket` or arrays given with the call, and
/// `$async(handle, options, gradScale?)` on the libuv thread pool, returning a Promise.
macro_rules! step_bindings {
    ($(#[$doc:meta])* $sync:ident, $async:ident, $options:ty, |$o:ident| $kernel:expr) => {
        $(#[$doc])*
        /// `gradScale` (default: the arrays' `gradScale`, else 1) multiplies the gradients as they are read.
        #[napi(catch_unwind)]
        pub fn $sync(#[napi(ts_arg_type = "StepBucket | BucketArrays")] bucket: $crate::optim::BucketInput<'_>, options: $options, grad_scale: Option<f64>) -> Result<()> {
            let $o = options;
            $crate::optim::run($kernel, bucket, grad_scale)
        }

        $(#[$doc])*
        /// On the libuv thread pool over a registered bucket; resolves when done. Until then the
        /// bucket's arrays must not be touched from JS, and another step on it is an error.
        #[napi(catch_unwind, ts_return_type = "Promise<void>")]
        pub fn $async(bucket: &$crate::optim::StepBucket, options: $options, grad_scale: Option<f64>) -> Result<AsyncTask<$crate::optim::StepTask>> {
            let $o = options;
            $crate::optim::run_async($kernel, bucket, grad_scale)
        }
    };
}
use step_bindings;

/// Σ g² over the gradients of the tensors that have one, scaled as a step reads them
/// (LAMB's global gradient norm, squared).
#[napi(catch_unwind)]
pub fn lamb_grad_square_sum(mut bucket: BucketArrays) -> Result<f64> {
    use anvil_kernels::optim::lamb::grad_square_sum as sum;
    with_bucket(&mut bucket, None, |typed| match typed {
        Typed::F32(b) => sum(b.grads, b.grad_scale, b.offsets, b.has_grad),
        Typed::F16(b) => sum(b.grads, b.grad_scale, b.offsets, b.has_grad),
        Typed::Bf16(b) => sum(b.grads, b.grad_scale, b.offsets, b.has_grad),
    })?
    .map_err(invalid)
}

/// The benchmarks' bandwidth probe: the streaming pattern of an optimizer with `states` state
/// buffers (the bucket's), trivial math, through the same driver and threads.
#[napi(catch_unwind)]
pub fn probe_step(#[napi(ts_arg_type = "StepBucket | BucketArrays")] bucket: BucketInput<'_>) -> Result<()> {
    let states = match &bucket {
        Either::A(h) => h.state_count() as usize,
        Either::B(b) => b.states.len(),
    };
    run(AnyKernel::Probe(anvil_kernels::probe::StreamProbe { states, c: 0.0 }), bucket, None)
}

/// Threads the kernels split large buckets (and the layers batches) across.
#[napi(catch_unwind)]
pub fn num_threads() -> u32 {
    anvil_kernels::num_threads() as u32
}

/// Sets the kernels' thread count (0 = one per core; `ANVIL_NUM_THREADS` sets the start value).
#[napi(catch_unwind)]
pub fn set_num_threads(threads: u32) -> Result<()> {
    anvil_kernels::set_num_threads(threads as usize).map_err(invalid)?;
    // The layers split batches over the same count (0 there also means one per core).
    anvil_layers::parallel::set_threads(anvil_kernels::num_threads());
    Ok(())
}
