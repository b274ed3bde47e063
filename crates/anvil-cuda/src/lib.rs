//! Anvil's CUDA backend: the optimizer kernels as CUDA C compiled at run time by NVRTC, launched
//! once per bucket through a chunk table. The driver is loaded dynamically, so this crate builds
//! and its callers run on machines without CUDA: `device_count()` is then 0, never a panic.

mod bucket;
mod device;
mod error;
mod kernels;
mod optim;
pub mod probe;

pub use bucket::DeviceBucket;
pub use device::{device_count, driver_present, nvrtc_present, Device};
pub use error::CudaError;
pub use kernels::{compile_kernels, KERNEL_SOURCE};
pub use optim::{adam_step, sgd_step};
