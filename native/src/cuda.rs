//! CUDA bindings: whether a GPU is usable, buckets living in GPU memory that optimizer steps and
//! gradient passes update in place (host copies only on demand), and averaged-model buffers.
//! Errors, never aborts, without a GPU.

use anvil_cuda::grads::{self, GradSet};
use anvil_cuda::{device_count, step, Device, DeviceBucket, DeviceBuffer, DeviceKernel, HostGrads, StepArgs};
use anvil_kernels::grads::Dtype;
use anvil_kernels::optim;
use anvil_kernels::scaler::ClipSpec;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::optim::{
    AdadeltaOptions, AdagradOptions, AdamOptions, AdamaxOptions, AsgdOptions, LambOptions, LionOptions, NAdamOptions, RAdamOptions,
    RmsPropOptions, RpropOptions, SgdOptions,
};
use crate::views::invalid;

/// Number of GPUs the NVIDIA driver sees (0 without a driver: never throws).
#[napi(catch_unwind)]
pub fn cuda_device_count() -> u32 {
    device_count() as u32
}

/// Returns GPU `ordinal`'s unused pooled memory to the driver (torch's `cuda.empty_cache`).
#[napi(catch_unwind)]
pub fn cuda_empty_cache(ordinal: u32) -> Result<()> {
    Device::open(ordinal as usize).and_then(|d| d.empty_cache()).map_err(invalid)
}

fn host_grads<'a>(grads: &'a Either<Float32Array, Uint16Array>, dtype: Option<&str>) -> Result<HostGrads<'a>> {
    let d = Dtype::parse(dtype.unwrap_or("float32")).map_err(invalid)?;
    match (grads, d) {
        (Either::A(g), Dtype::F32) => Ok(HostGrads::F32(g)),
        (Either::B(g), Dtype::F16 | Dtype::Bf16) => Ok(HostGrads::Half(g, d)),
        _ => Err(invalid(format!("gradDtype {d:?} needs grads as {}", if d == Dtype::F32 { "a Float32Array" } else { "a Uint16Array of raw bits" }))),
    }
}

/// A bucket (params, grads, optimizer state) in the memory of one GPU.
#[napi]
pub struct CudaBucket {
    inner: DeviceBucket,
}

/// What one device optimizer step takes besides the options (the host keeps steps and scalar state).
#[napi(object, object_to_js = false)]
pub struct CudaStepArgs {
    /// State buffer names in the CPU kernel's order; missing ones start zero-filled.
    pub states: Vec<String>,
    pub tensor_states: Option<Vec<Float64Array>>,
    pub steps: Uint32Array,
    pub has_grad: Uint8Array,
    pub grad_scale: Option<f64>,
}

fn run<K: DeviceKernel>(bucket: &mut DeviceBucket, kernel: &K, mut args: CudaStepArgs) -> Result<()> {
    let names: Vec<&str> = args.states.iter().map(String::as_str).collect();
    let mut tensor_states = args.tensor_states.take().unwrap_or_default();
    // SAFETY: steps and each scalar-state array are written only here, and are distinct JS arrays.
    let mut ts: Vec<&mut [f64]> = tensor_states.iter_mut().map(|t| unsafe { t.as_mut() }).collect();
    let steps = unsafe { args.steps.as_mut() };
    let grad_scale = args.grad_scale.unwrap_or(1.0) as f32;
    step(bucket, kernel, StepArgs { states: &names, tensor_states: &mut ts, steps, has_grad: &args.has_grad, grad_scale }).map_err(invalid)
}

/// The optimizer options of `kind` (the CPU binding's option objects) as its kernel.
macro_rules! kernels {
    ($env:expr, $kind:expr, $options:expr, |$k:ident| $body:expr, { $($name:literal => $opts:ty => $kernel:ident { $($f:ident),* }),* $(,)? }) => {
        match $kind {
            $($name => {
                // SAFETY: `options` is a live JS value of this call.
                let o = unsafe { <$opts>::from_napi_value($env.raw(), $options.raw()) }?;
                let $k = &optim::$kernel { $($f: o.$f as _),* }; // SGD keeps f32 hyper-parameters
                $body
            })*
            other => Err(invalid(format!("CudaBucket.step: unknown optimizer kernel '{other}'"))),
        }
    };
}

#[napi]
impl CudaBucket {
    /// Copies a host bucket to GPU `ordinal` (grads: float32 values or fp16/bf16 bits as
    /// `gradDtype` says); throws when CUDA or that GPU is unavailable.
    #[napi(factory, catch_unwind)]
    pub fn upload(ordinal: u32, params: Float32Array, grads: Either<Float32Array, Uint16Array>, offsets: Uint32Array, grad_dtype: Option<String>) -> Result<Self> {
        let device = Device::open(ordinal as usize).map_err(invalid)?;
        let g = host_grads(&grads, grad_dtype.as_deref())?;
        Ok(CudaBucket { inner: DeviceBucket::upload_with(&device, &params, g, &offsets).map_err(invalid)? })
    }

    #[napi(getter)]
    pub fn ordinal(&self) -> u32 {
        self.inner.device().ordinal as u32
    }

    #[napi(catch_unwind)]
    pub fn set_grads(&mut self, grads: Either<Float32Array, Uint16Array>) -> Result<()> {
        let dtype = match self.inner.grad_dtype() {
            Dtype::F32 => "float32",
            Dtype::F16 => "float16",
            Dtype::Bf16 => "bfloat16",
        };
        let g = host_grads(&grads, Some(dtype))?;
        self.inner.set_grads_with(g).map_err(invalid)
    }

    #[napi(catch_unwind)]
    pub fn set_params(&mut self, params: Float32Array) -> Result<()> {
        self.inner.set_params(&params).map_err(invalid)
    }

    /// Copies the parameters back into `out` (a host array of the bucket's length).
    #[napi(catch_unwind)]
    pub fn download_params(&self, mut out: Float32Array) -> Result<()> {
        // SAFETY: `out` is the only view this call writes.
        self.inner.download_params_into(unsafe { out.as_mut() }).map_err(invalid)
    }

    /// Copies the gradients back into `out` (float32 values, or the bits of half-precision ones).
    #[napi(catch_unwind)]
    pub fn download_grads(&self, out: Either<Float32Array, Uint16Array>) -> Result<()> {
        match out {
            Either::A(mut o) => copy_into(unsafe { o.as_mut() }, self.inner.download_grads().map_err(invalid)?),
            Either::B(mut o) => copy_into(unsafe { o.as_mut() }, self.inner.download_grad_bits().map_err(invalid)?),
        }
    }

    /// Sets (creating it) a state buffer from host values.
    #[napi(catch_unwind)]
    pub fn set_state(&mut self, name: String, values: Float32Array) -> Result<()> {
        self.inner.set_state(&name, &values).map_err(invalid)
    }

    /// Copies a state buffer into `out`; false when the bucket has no such state.
    #[napi(catch_unwind)]
    pub fn download_state(&self, name: String, mut out: Float32Array) -> Result<bool> {
        match self.inner.download_state(&name).map_err(invalid)? {
            Some(v) => copy_into(unsafe { out.as_mut() }, v).map(|_| true),
            None => Ok(false),
        }
    }

    #[napi(catch_unwind)]
    pub fn state_names(&self) -> Vec<String> {
        self.inner.state_names()
    }

    /// One step of optimizer `kind` ('sgd', 'adam', 'adamax', 'nadam', 'radam', 'adagrad',
    /// 'rmsprop', 'adadelta', 'asgd', 'rprop', 'lion', 'lamb') with the CPU binding's options.
    #[napi(catch_unwind)]
    pub fn step(&mut self, env: Env, kind: String, options: Unknown<'_>, args: CudaStepArgs) -> Result<()> {
        let b = &mut self.inner;
        kernels!(env, kind.as_str(), options, |k| run(b, k, args), {
            "sgd" => SgdOptions => Sgd { lr, momentum, dampening, weight_decay, nesterov, maximize },
            "adam" => AdamOptions => Adam { lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled },
            "adamax" => AdamaxOptions => Adamax { lr, beta1, beta2, eps, weight_decay, maximize },
            "nadam" => NAdamOptions => NAdam { lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize },
            "radam" => RAdamOptions => RAdam { lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize },
            "adagrad" => AdagradOptions => Adagrad { lr, lr_decay, weight_decay, eps, maximize },
            "rmsprop" => RmsPropOptions => RmsProp { lr, alpha, eps, weight_decay, momentum, centered, maximize },
            "adadelta" => AdadeltaOptions => Adadelta { lr, rho, eps, weight_decay, maximize },
            "asgd" => AsgdOptions => Asgd { lr, lambd, alpha, t0, weight_decay, maximize },
            "rprop" => RpropOptions => Rprop { lr, eta_minus, eta_plus, step_size_min, step_size_max, maximize },
            "lion" => LionOptions => Lion { lr, beta1, beta2, weight_decay, maximize },
            "lamb" => LambOptions => Lamb { lr, beta1, beta2, eps, weight_decay, bias_correction, grad_averaging, trust_clip, always_adapt },
        })
    }
}

fn copy_into<T: Copy>(out: &mut [T], values: Vec<T>) -> Result<()> {
    if out.len() != values.len() {
        return Err(invalid(format!("out holds {} values, the device buffer {}", out.len(), values.len())));
    }
    out.copy_from_slice(&values);
    Ok(())
}

/// The gradients of each bucket's tensors flagged in the matching `include` array.
fn sets<'a>(buckets: &'a mut [ClassInstance<'_, CudaBucket>], include: &'a [Uint8Array]) -> Result<Vec<GradSet<'a>>> {
    if buckets.len() != include.len() {
        return Err(invalid(format!("{} buckets but {} include arrays", buckets.len(), include.len())));
    }
    Ok(buckets.iter_mut().zip(include).map(|(b, inc)| GradSet { bucket: &mut b.inner, include: inc }).collect())
}

/// torch's `get_total_norm` over device buckets, and whether a raw gradient was inf or NaN.
#[napi(object)]
pub struct CudaNorm {
    pub norm: f64,
    pub found_inf: bool,
}

#[napi(catch_unwind)]
pub fn cuda_total_norm(mut buckets: Vec<ClassInstance<'_, CudaBucket>>, include: Vec<Uint8Array>, norm_type: f64, value_scale: Option<f64>) -> Result<CudaNorm> {
    let (norm, found_inf) = grads::total_norm_and_check(&mut sets(&mut buckets, &include)?, norm_type, value_scale.unwrap_or(1.0) as f32).map_err(invalid)?;
    Ok(CudaNorm { norm: f64::from(norm), found_inf })
}

/// Σ (valueScale g)² over the included gradients (LAMB's global norm, squared).
#[napi(catch_unwind)]
pub fn cuda_grad_square_sum(mut buckets: Vec<ClassInstance<'_, CudaBucket>>, include: Vec<Uint8Array>, value_scale: Option<f64>) -> Result<f64> {
    grads::square_sum(&mut sets(&mut buckets, &include)?, value_scale.unwrap_or(1.0) as f32).map_err(invalid)
}

/// torch's `clip_grad_norm_` over device buckets; returns the total norm.
#[napi(catch_unwind)]
pub fn cuda_clip_grad_norm(mut buckets: Vec<ClassInstance<'_, CudaBucket>>, include: Vec<Uint8Array>, max_norm: f64, norm_type: f64, error_if_nonfinite: bool) -> Result<f64> {
    grads::clip_grad_norm(&mut sets(&mut buckets, &include)?, max_norm, norm_type, error_if_nonfinite).map(f64::from).map_err(invalid)
}

/// torch's `clip_grad_value_` over device buckets.
#[napi(catch_unwind)]
pub fn cuda_clip_grad_value(mut buckets: Vec<ClassInstance<'_, CudaBucket>>, include: Vec<Uint8Array>, clip_value: f64) -> Result<()> {
    grads::clip_grad_value(&mut sets(&mut buckets, &include)?, clip_value).map_err(invalid)
}

/// GradScaler's unscale over device buckets (times float32(1/scale)); returns found_inf.
#[napi(catch_unwind)]
pub fn cuda_unscale_grads(mut buckets: Vec<ClassInstance<'_, CudaBucket>>, include: Vec<Uint8Array>, scale: f64) -> Result<bool> {
    let inv = anvil_kernels::scaler::inv_scale(scale as f32);
    grads::unscale(&mut sets(&mut buckets, &include)?, inv).map_err(invalid)
}

#[napi(object)]
pub struct CudaClipOptions {
    pub max_norm: f64,
    pub norm_type: f64,
    pub error_if_nonfinite: bool,
}

#[napi(object)]
pub struct CudaAmpCheck {
    pub found_inf: bool,
    pub total_norm: Option<f64>,
    pub grad_scale: f64,
}

/// The fused AMP step's read pass over device buckets (see `GradScaler.fusedStep`).
#[napi(catch_unwind)]
pub fn cuda_amp_check(mut buckets: Vec<ClassInstance<'_, CudaBucket>>, include: Vec<Uint8Array>, scale: f64, clip: Option<CudaClipOptions>) -> Result<CudaAmpCheck> {
    let clip = clip.map(|c| ClipSpec { max_norm: c.max_norm, norm_type: c.norm_type, error_if_nonfinite: c.error_if_nonfinite });
    let r = grads::amp_check(&mut sets(&mut buckets, &include)?, scale as f32, clip).map_err(invalid)?;
    Ok(CudaAmpCheck { found_inf: r.found_inf, total_norm: r.total_norm.map(f64::from), grad_scale: f64::from(r.grad_scale) })
}

/// A float32 array in GPU memory: an averaged model's parameters (EMA / SWA).
#[napi]
pub struct CudaBuffer {
    inner: DeviceBuffer,
}

#[napi]
impl CudaBuffer {
    #[napi(factory, catch_unwind)]
    pub fn upload(ordinal: u32, values: Float32Array) -> Result<Self> {
        let device = Device::open(ordinal as usize).map_err(invalid)?;
        Ok(CudaBuffer { inner: DeviceBuffer::upload(&device, &values).map_err(invalid)? })
    }

    #[napi(catch_unwind)]
    pub fn download(&self, mut out: Float32Array) -> Result<()> {
        copy_into(unsafe { out.as_mut() }, self.inner.download().map_err(invalid)?)
    }

    /// `this.lerp_(src, weight)`: MMEngine's ExponentialMovingAverage / MomentumAnnealingEMA.
    #[napi(catch_unwind)]
    pub fn lerp_from(&mut self, src: &CudaBuffer, weight: f64) -> Result<()> {
        self.inner.lerp_from(&src.inner, weight).map_err(invalid)
    }

    /// EMA of a device bucket's parameters.
    #[napi(catch_unwind)]
    pub fn lerp_from_params(&mut self, src: &CudaBucket, weight: f64) -> Result<()> {
        self.inner.lerp_from_params(&src.inner, weight).map_err(invalid)
    }

    /// `this.add_(src - this, alpha)`: StochasticWeightAverage.
    #[napi(catch_unwind)]
    pub fn add_difference_from(&mut self, src: &CudaBuffer, alpha: f64) -> Result<()> {
        self.inner.add_difference_from(&src.inner, alpha).map_err(invalid)
    }
}
