//! The CUDA C source of every kernel (`kernels.cu`) and its NVRTC compilation.

use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};

use crate::error::{guarded, CudaError};

/// Elements one block updates: large enough to amortise the block, small enough to fill the GPU.
pub const CHUNK: u32 = 8192;

pub const KERNEL_SOURCE: &str = include_str!("kernels.cu");

/// Compiles the kernels to PTX with IEEE math (no fast-math), so results track the CPU kernels.
pub fn compile_kernels() -> Result<Ptx, CudaError> {
    if !crate::nvrtc_present() {
        return Err(CudaError::new("NVRTC (libnvrtc.so.13) was not found: install the CUDA 13 runtime to compile kernels"));
    }
    guarded("NVRTC", || {
        // No FMA contraction either: the element math then rounds as the CPU kernels' does.
        let opts = CompileOptions { use_fast_math: Some(false), prec_div: Some(true), prec_sqrt: Some(true), fmad: Some(false), ..Default::default() };
        compile_ptx_with_opts(KERNEL_SOURCE, opts).map_err(|e| CudaError::new(format!("NVRTC failed to compile the kernels: {e}")))
    })
}
