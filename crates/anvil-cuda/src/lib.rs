//! Anvil's CUDA backend: every optimizer, the gradient passes (clip_grad_norm, clip_grad_value,
//! GradScaler's unscale, the fused AMP check) and EMA updates, as CUDA C compiled at run time by
//! NVRTC and launched once per bucket through a chunk table. The driver is loaded dynamically,
//! so this crate builds and its callers run on machines without CUDA: `device_count()` is then 0,
//! never a panic.

mod bucket;
mod device;
mod ema;
mod error;
pub mod grads;
mod kernels;
mod optim;
pub mod probe;

pub use bucket::{DeviceBucket, HostGrads};
pub use device::{device_count, driver_present, nvrtc_present, Device};
pub use ema::DeviceBuffer;
pub use error::CudaError;
pub use kernels::{compile_kernels, KERNEL_SOURCE};
pub use optim::{adam_step, sgd_step, step, DeviceKernel, Hyper, StepArgs};
