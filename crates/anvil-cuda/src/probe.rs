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
