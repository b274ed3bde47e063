//! The bandwidth probe benchmarks pair with every timed GPU step: a device-to-device copy,
//! the trivial kernel with the same streaming pattern, whose rate is the achievable bound.

use std::sync::Arc;
use std::time::Instant;

use crate::device::Device;
use crate::error::CudaError;

/// GB/s (bytes read plus written) of copying `n` floats device to device, over `reps` copies.
pub fn copy_bandwidth(device: &Arc<Device>, n: usize, reps: usize) -> Result<f64, CudaError> {
    let s = &device.stream;
    let src = s.alloc_zeros::<f32>(n)?;
    let mut dst = s.alloc_zeros::<f32>(n)?;
    s.memcpy_dtod(&src, &mut dst)?;
    s.synchronize()?;
    let t = Instant::now();
    for _ in 0..reps {
        s.memcpy_dtod(&src, &mut dst)?;
    }
    s.synchronize()?;
    Ok(8.0 * n as f64 * reps as f64 / t.elapsed().as_secs_f64() / 1e9)
}

/// The paired probe: a device-to-device copy of `n` floats (8n bytes moved), run before and after
/// each timed repetition so every rate is read against the bandwidth of the same moment.
pub struct Copy {
    device: Arc<Device>,
    src: cudarc::driver::CudaSlice<f32>,
    dst: std::cell::RefCell<cudarc::driver::CudaSlice<f32>>,
}

impl Copy {
    pub fn new(device: &Arc<Device>, n: usize) -> Result<Self, CudaError> {
        let s = &device.stream;
        Ok(Copy { device: device.clone(), src: s.alloc_zeros::<f32>(n)?, dst: std::cell::RefCell::new(s.alloc_zeros::<f32>(n)?) })
    }

    /// Queues one copy.
    pub fn run(&self) -> Result<(), CudaError> {
        Ok(self.device.stream.memcpy_dtod(&self.src, &mut *self.dst.borrow_mut())?)
    }
}
