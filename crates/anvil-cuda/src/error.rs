//! The one error type of the CUDA backend: driver, NVRTC and layout failures as messages.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaError(pub String);

impl CudaError {
    pub fn new(msg: impl Into<String>) -> Self {
        CudaError(msg.into())
    }
}

impl fmt::Display for CudaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CudaError {}

impl From<cudarc::driver::DriverError> for CudaError {
    fn from(e: cudarc::driver::DriverError) -> Self {
        CudaError(format!("CUDA driver: {e}"))
    }
}

/// Runs `f`, turning a panic (cudarc panics when a library is missing) into an error.
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, CudaError>) -> Result<T, CudaError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(CudaError::new(format!("{what}: the CUDA library failed to load or panicked"))))
}
