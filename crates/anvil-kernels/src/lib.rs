//! Anvil's numeric core: a generic multi-tensor driver and the element kernels it runs.
//! Pure Rust on flat `f32` buffers; the napi crate and the CUDA crate sit on top of it.

pub mod driver;
pub mod error;
pub mod optim;

pub use driver::{step, Bucket, ElementKernel};
pub use error::KernelError;
