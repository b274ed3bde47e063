//! Averaged models on the GPU: a float32 buffer updated from a source buffer (or a bucket's
//! parameters) by MMEngine's EMA rule (torch's `lerp_`) or SWA's `add_(src - avg, alpha)`.

use std::sync::Arc;

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use crate::bucket::DeviceBucket;
use crate::device::Device;
use crate::error::{guarded, CudaError};

/// A float32 array in GPU memory.
pub struct DeviceBuffer {
    device: Arc<Device>,
    data: CudaSlice<f32>,
}

impl DeviceBuffer {
    pub fn upload(device: &Arc<Device>, values: &[f32]) -> Result<Self, CudaError> {
        Ok(DeviceBuffer { device: device.clone(), data: device.stream.clone_htod(values)? })
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.len() == 0
    }

    pub fn download(&self) -> Result<Vec<f32>, CudaError> {
        Ok(self.device.stream.clone_dtoh(&self.data)?)
    }

    /// `self.lerp_(src, weight)` (weight rounded to f32, torch's two-formula lerp).
    pub fn lerp_from(&mut self, src: &DeviceBuffer, weight: f64) -> Result<(), CudaError> {
        self.update("ema_lerp", &src.data, weight as f32)
    }

    /// `self.add_(src - self, alpha)`.
    pub fn add_difference_from(&mut self, src: &DeviceBuffer, alpha: f64) -> Result<(), CudaError> {
        self.update("ema_add_difference", &src.data, alpha as f32)
    }

    /// EMA of a device bucket's parameters (the model the averaged copy follows).
    pub fn lerp_from_params(&mut self, src: &DeviceBucket, weight: f64) -> Result<(), CudaError> {
        self.update("ema_lerp", &src.params, weight as f32)
    }

    fn update(&mut self, kernel: &str, src: &CudaSlice<f32>, w: f32) -> Result<(), CudaError> {
        if src.len() != self.len() {
            return Err(CudaError::new(format!("{kernel}: averaged holds {} elements, source {}", self.len(), src.len())));
        }
        if self.is_empty() {
            return Ok(());
        }
        let device = self.device.clone();
        guarded(kernel, || {
            let f = device.function(kernel)?;
            let n = self.len() as u64;
            let blocks = self.len().div_ceil(256).min(65_535) as u32;
            let mut b = device.stream.launch_builder(&f);
            b.arg(&mut self.data).arg(src).arg(&n).arg(&w);
            // SAFETY: matches the kernel; both buffers hold `n` floats.
            unsafe { b.launch(LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 }) }?;
            Ok(())
        })
    }
}
