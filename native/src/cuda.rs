//! CUDA bindings: whether a GPU is usable, and a bucket living in GPU memory that optimizer
//! steps update in place (host copies only on demand). Errors, never aborts, without a GPU.

use anvil_cuda::{adam_step, device_count, sgd_step, Device, DeviceBucket};
use anvil_kernels::optim;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::optim::{AdamOptions, SgdOptions};
use crate::views::invalid;

/// Number of GPUs the NVIDIA driver sees (0 without a driver: never throws).
#[napi(catch_unwind)]
pub fn cuda_device_count() -> u32 {
    device_count() as u32
}

/// A bucket (params, grads, optimizer state) in the memory of GPU `ordinal`.
#[napi]
pub struct CudaBucket {
    inner: DeviceBucket,
}

#[napi]
impl CudaBucket {
    /// Copies a host bucket to GPU `ordinal`; throws when CUDA or that GPU is unavailable.
    #[napi(factory, catch_unwind)]
    pub fn upload(ordinal: u32, params: Float32Array, grads: Float32Array, offsets: Uint32Array) -> Result<Self> {
        let device = Device::open(ordinal as usize).map_err(invalid)?;
        Ok(CudaBucket { inner: DeviceBucket::upload(&device, &params, &grads, &offsets).map_err(invalid)? })
    }

    #[napi(catch_unwind)]
    pub fn set_grads(&mut self, grads: Float32Array) -> Result<()> {
        self.inner.set_grads(&grads).map_err(invalid)
    }

    /// Copies the parameters back into `out` (a host view of the same length).
    #[napi(catch_unwind)]
    pub fn download_params(&self, mut out: Float32Array) -> Result<()> {
        let values = self.inner.download_params().map_err(invalid)?;
        // SAFETY: `out` is the only view this call writes.
        let out = unsafe { out.as_mut() };
        if out.len() != values.len() {
            return Err(invalid(format!("downloadParams: out holds {} values, the bucket {}", out.len(), values.len())));
        }
        out.copy_from_slice(&values);
        Ok(())
    }

    #[napi(catch_unwind)]
    pub fn sgd_step(&mut self, options: SgdOptions, mut steps: Uint32Array, has_grad: Uint8Array) -> Result<()> {
        // SAFETY: `steps` is the only view this call writes.
        sgd_step(&mut self.inner, &optim::Sgd::from(options), unsafe { steps.as_mut() }, &has_grad).map_err(invalid)
    }

    #[napi(catch_unwind)]
    pub fn adam_step(&mut self, options: AdamOptions, mut steps: Uint32Array, has_grad: Uint8Array) -> Result<()> {
        // SAFETY: `steps` is the only view this call writes.
        adam_step(&mut self.inner, &optim::Adam::from(options), unsafe { steps.as_mut() }, &has_grad).map_err(invalid)
    }
}
