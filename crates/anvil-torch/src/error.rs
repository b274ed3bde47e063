//! One error type for libtorch failures, Anvil kernel errors and bad arguments.

use std::fmt;

use anvil_kernels::KernelError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchError(pub String);

impl TorchError {
    pub fn new(msg: impl Into<String>) -> Self {
        TorchError(msg.into())
    }
}

impl fmt::Display for TorchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TorchError {}

impl From<tch::TchError> for TorchError {
    fn from(e: tch::TchError) -> Self {
        TorchError(format!("libtorch: {e}"))
    }
}

impl From<KernelError> for TorchError {
    fn from(e: KernelError) -> Self {
        TorchError(e.0)
    }
}
