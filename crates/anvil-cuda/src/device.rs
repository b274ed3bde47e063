//! Finding and opening GPUs: library presence checks before any cudarc call (cudarc panics when
//! libcuda is missing), one context, stream and compiled kernel set per device, cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream};

use crate::error::{guarded, CudaError};
use crate::kernels::compile_kernels;

pub fn driver_present() -> bool {
    // SAFETY: only probes whether the shared library can be loaded.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

pub fn nvrtc_present() -> bool {
    // SAFETY: only probes whether the shared library can be loaded.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// GPUs the driver sees; 0 when there is no driver or it fails to initialise.
pub fn device_count() -> usize {
    if !driver_present() {
        return 0;
    }
    guarded("cuInit", || {
        cudarc::driver::result::init()?;
        Ok(CudaContext::device_count()? as usize)
    })
    .unwrap_or(0)
}

pub struct Device {
    pub ordinal: usize,
    pub(crate) ctx: Arc<CudaContext>,
    pub(crate) stream: Arc<CudaStream>,
    module: Arc<CudaModule>,
    functions: Mutex<HashMap<String, CudaFunction>>,
    /// Passed for kernel pointer arguments a configuration never reads (absent state buffers).
    pub(crate) unused: CudaSlice<f32>,
}

impl Device {
    /// Opens GPU `ordinal` (cached: the kernels are compiled once per device and process).
    pub fn open(ordinal: usize) -> Result<Arc<Device>, CudaError> {
        static DEVICES: OnceLock<Mutex<HashMap<usize, Arc<Device>>>> = OnceLock::new();
        let mut cache = DEVICES.get_or_init(Default::default).lock().map_err(|_| CudaError::new("device cache poisoned"))?;
        if let Some(d) = cache.get(&ordinal) {
            return Ok(d.clone());
        }
        let count = device_count();
        if ordinal >= count {
            return Err(CudaError::new(if count == 0 {
                "CUDA was requested but no NVIDIA driver or GPU was found (libcuda.so.1 missing or no device)".to_string()
            } else {
                format!("cuda:{ordinal} was requested but only {count} GPU(s) are visible")
            }));
        }
        let device = guarded("opening the GPU", || {
            let ctx = CudaContext::new(ordinal)?;
            let module = ctx.load_module(compile_kernels()?)?;
            let stream = ctx.default_stream();
            Ok(Arc::new(Device { ordinal, unused: stream.alloc_zeros::<f32>(1)?, stream, module, functions: Mutex::default(), ctx }))
        })?;
        cache.insert(ordinal, device.clone());
        Ok(device)
    }

    /// A kernel of the compiled module by name (looked up once).
    pub(crate) fn function(&self, name: &str) -> Result<CudaFunction, CudaError> {
        let mut cache = self.functions.lock().map_err(|_| CudaError::new("kernel cache poisoned"))?;
        if let Some(f) = cache.get(name) {
            return Ok(f.clone());
        }
        let f = self.module.load_function(name).map_err(|e| CudaError::new(format!("kernel '{name}': {e}")))?;
        cache.insert(name.to_string(), f.clone());
        Ok(f)
    }

    /// Buffers are allocated stream-ordered (cuMemAllocAsync), so freed ones stay in the
    /// device's memory pool: this returns the pool's unused memory to the driver (torch's
    /// `cuda.empty_cache`). Memory in use is untouched.
    pub fn empty_cache(&self) -> Result<(), CudaError> {
        guarded("empty_cache", || {
            self.stream.synchronize()?;
            // SAFETY: the context's own device, and its default pool, which cudarc allocates from.
            unsafe {
                let pool = cudarc::driver::result::device::get_default_mem_pool(self.ctx.cu_device())?;
                cudarc::driver::result::mem_pool::trim_to(pool, 0)?;
            }
            Ok(())
        })
    }

    /// Waits for every queued kernel and copy.
    pub fn synchronize(&self) -> Result<(), CudaError> {
        Ok(self.stream.synchronize()?)
    }

    pub fn name(&self) -> Result<String, CudaError> {
        Ok(self.ctx.name()?)
    }
}
