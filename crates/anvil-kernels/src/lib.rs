//! Anvil's numeric core: a generic multi-tensor driver and the element kernels it runs.
//! Pure Rust on flat `f32` buffers; the napi crate and the CUDA crate sit on top of it.

mod chunks;
pub mod clip;
pub mod driver;
pub mod elem;
pub mod ema;
pub mod error;
pub mod grads;
pub mod optim;
pub mod probe;
pub mod scaler;
mod simd;
pub mod staging;
pub mod threads;

pub use driver::{step, Bucket, ElementKernel, Sums};
pub use error::KernelError;
pub use threads::{num_threads, set_num_threads};
