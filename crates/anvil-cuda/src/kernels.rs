//! The CUDA C source of the optimizer kernels and its NVRTC compilation. Each kernel walks one
//! chunk of a bucket per block; per-tensor scalars (bias corrections) come from a small table.

use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};

use crate::error::{guarded, CudaError};

/// Elements one block updates: large enough to amortise the block, small enough to fill the GPU.
pub const CHUNK: u32 = 8192;

pub const KERNEL_SOURCE: &str = r#"
struct Chunk { unsigned int tensor; unsigned int start; unsigned int end; };

// Threads start at the 32-element (128-byte) boundary at or before the chunk, so a warp's
// loads stay coalesced when a tensor starts at an arbitrary offset in the bucket.
#define FOR_CHUNK(i, c) for (unsigned int i = ((c).start & ~31u) + threadIdx.x; i < (c).end; i += blockDim.x) if (i >= (c).start)

// torch.optim.SGD, one chunk per block. `first[t]`: tensor t's first step (buffer = gradient).
extern "C" __global__ void sgd_multi(
    float* __restrict__ p, const float* __restrict__ g, float* __restrict__ buf,
    const Chunk* __restrict__ chunks, const unsigned char* __restrict__ first,
    float lr, float momentum, float dampening, float wd, int nesterov, float sign, float grad_scale)
{
    const Chunk c = chunks[blockIdx.x];
    const bool is_first = first[c.tensor] != 0;
    const float keep = is_first ? 0.0f : momentum;
    const float take = is_first ? 1.0f : 1.0f - dampening;
    FOR_CHUNK(i, c) {
        const float pi = p[i];
        float d = sign * (g[i] * grad_scale) + wd * pi;
        if (momentum != 0.0f) {
            const float b = keep * buf[i] + take * d;
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[i] = pi - lr * d;
    }
}

// torch.optim.Adam / AdamW. scalars[t] = (step_size, sqrt(bias_correction2)) for tensor t.
extern "C" __global__ void adam_multi(
    float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
    float* __restrict__ v, float* __restrict__ vmax,
    const Chunk* __restrict__ chunks, const float2* __restrict__ scalars,
    float decay, float coupled_wd, float one_minus_beta1, float beta2, float one_minus_beta2,
    float eps, float sign, float grad_scale, int amsgrad)
{
    const Chunk c = chunks[blockIdx.x];
    const float2 s = scalars[c.tensor];
    FOR_CHUNK(i, c) {
        const float pi = p[i] * decay;
        const float gi = sign * (g[i] * grad_scale) + coupled_wd * pi;
        const float mi = m[i] + one_minus_beta1 * (gi - m[i]);
        const float vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float vv = vi;
        if (amsgrad) { vv = fmaxf(vmax[i], vi); vmax[i] = vv; }
        const float denom = sqrtf(vv) / s.y + eps;
        p[i] = pi - s.x * (mi / denom);
    }
}
"#;

/// Compiles the kernels to PTX with IEEE math (no fast-math), so results track the CPU kernels.
pub fn compile_kernels() -> Result<Ptx, CudaError> {
    if !crate::nvrtc_present() {
        return Err(CudaError::new("NVRTC (libnvrtc.so.13) was not found: install the CUDA 13 runtime to compile kernels"));
    }
    guarded("NVRTC", || {
        let opts = CompileOptions { use_fast_math: Some(false), prec_div: Some(true), prec_sqrt: Some(true), ..Default::default() };
        compile_ptx_with_opts(KERNEL_SOURCE, opts).map_err(|e| CudaError::new(format!("NVRTC failed to compile the kernels: {e}")))
    })
}
