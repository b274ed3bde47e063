//! Optimizer steps over one bucket: the JS store hands its typed arrays, the kernels crate
//! runs the generic multi-tensor driver with the optimizer's element kernel.

mod adam_like;
mod adaptive;
mod sgd_like;

// The CUDA bindings take the same options.
pub use adam_like::AdamOptions;
pub use sgd_like::SgdOptions;

use anvil_kernels::{elem::Element, Bucket, ElementKernel};
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

/// The driver's inputs borrowed from a `BucketArrays`, gradients still untyped.
struct Parts<'a> {
    params: &'a mut [f32],
    grad_scale: f32,
    states: Vec<&'a mut [f32]>,
    tensor_states: Vec<&'a mut [f64]>,
    offsets: &'a [u32],
    steps: &'a mut [u32],
    has_grad: &'a [u8],
}

impl<'a> Parts<'a> {
    fn bucket<G>(self, grads: &'a [G]) -> Bucket<'a, G> {
        let Parts { params, grad_scale, states, tensor_states, offsets, steps, has_grad } = self;
        Bucket { params, grads, grad_scale, states, tensor_states, offsets, steps, has_grad }
    }
}

/// Checks the arrays, then calls `f` with the bucket typed by its gradient dtype.
fn with_bucket<R>(b: &mut BucketArrays, f: impl FnOnce(Typed<'_>) -> R) -> Result<R> {
    let grads_span = match &b.grads {
        Either::A(g) => span("grads", g),
        Either::B(g) => span("grads", g),
    };
    let tensor_states = b.tensor_states.get_or_insert_with(Vec::new);
    let mut spans = vec![span("params", &b.params), span("steps", &b.steps), grads_span];
    spans.extend(b.states.iter().map(|s| span("states[i]", s)));
    spans.extend(tensor_states.iter().map(|s| span("tensorStates[i]", s)));
    check_disjoint(&spans)?;
    // SAFETY: the writable views were just checked to be disjoint from each other and from grads.
    let parts = unsafe {
        Parts {
            params: b.params.as_mut(),
            grad_scale: b.grad_scale.unwrap_or(1.0) as f32,
            states: b.states.iter_mut().map(|s| s.as_mut()).collect(),
            tensor_states: tensor_states.iter_mut().map(|s| s.as_mut()).collect(),
            offsets: &b.offsets,
            steps: b.steps.as_mut(),
            has_grad: &b.has_grad,
        }
    };
    let typed = match (&b.grads, b.grad_dtype.as_deref().unwrap_or("float32")) {
        (Either::A(g), "float32") => Typed::F32(parts.bucket(g)),
        (Either::B(g), "float16") => Typed::F16(parts.bucket(g.reinterpret_cast::<f16>())),
        (Either::B(g), "bfloat16") => Typed::Bf16(parts.bucket(g.reinterpret_cast::<bf16>())),
        (_, d @ ("float32" | "float16" | "bfloat16")) => {
            let want = if d == "float32" { "a Float32Array" } else { "a Uint16Array of raw bits" };
            return Err(invalid(format!("gradDtype '{d}' needs grads as {want}")));
        }
        (_, d) => return Err(invalid(format!("unknown gradDtype '{d}' (expected float32, float16 or bfloat16)"))),
    };
    Ok(f(typed))
}

enum Typed<'a> {
    F32(Bucket<'a, f32>),
    F16(Bucket<'a, f16>),
    Bf16(Bucket<'a, bf16>),
}

fn run<K: ElementKernel>(kernel: &K, mut b: BucketArrays) -> Result<()> {
    fn go<K: ElementKernel, G: Element>(k: &K, b: Bucket<'_, G>) -> Result<()> {
        anvil_kernels::step(k, b).map_err(invalid)
    }
    with_bucket(&mut b, |typed| match typed {
        Typed::F32(b) => go(kernel, b),
        Typed::F16(b) => go(kernel, b),
        Typed::Bf16(b) => go(kernel, b),
    })?
}

/// Σ g² over the gradients of the tensors that have one, scaled as a step reads them
/// (LAMB's global gradient norm, squared).
#[napi(catch_unwind)]
pub fn lamb_grad_square_sum(mut bucket: BucketArrays) -> Result<f64> {
    use anvil_kernels::optim::lamb::grad_square_sum as sum;
    with_bucket(&mut bucket, |typed| match typed {
        Typed::F32(b) => sum(b.grads, b.grad_scale, b.offsets, b.has_grad),
        Typed::F16(b) => sum(b.grads, b.grad_scale, b.offsets, b.has_grad),
        Typed::Bf16(b) => sum(b.grads, b.grad_scale, b.offsets, b.has_grad),
    })?
    .map_err(invalid)
}

/// The benchmarks' bandwidth probe: the streaming pattern of an optimizer with `states` state
/// buffers (the bucket's), trivial math, through the same driver and threads.
#[napi(catch_unwind)]
pub fn probe_step(bucket: BucketArrays) -> Result<()> {
    let kernel = anvil_kernels::probe::StreamProbe { states: bucket.states.len(), c: 0.0 };
    run(&kernel, bucket)
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
