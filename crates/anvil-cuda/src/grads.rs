//! Gradient passes over device buckets with torch's semantics, as the CPU kernels give them:
//! clip_grad_norm (a two-stage reduction: one partial per chunk in a single read pass, then one
//! block folds them in a fixed order), clip_grad_value, GradScaler's fused unscale + inf check,
//! and the fused AMP step's read pass (inf check and norm together, nothing written).

use anvil_kernels::clip::{clip_coefficient, empty_tensor_norm, non_finite_norm, norm_needs_elements};
use anvil_kernels::scaler::{inv_scale, AmpCheck, ClipSpec};
use cudarc::driver::{CudaSlice, LaunchArgs, LaunchConfig, PushKernelArg};

use crate::bucket::{DeviceBucket, DeviceGrads};
use crate::error::{guarded, CudaError};
use crate::optim::launch_config;

/// The gradients of one bucket's tensors flagged in `include` (torch: the parameters whose grad is not None).
pub struct GradSet<'a> {
    pub bucket: &'a mut DeviceBucket,
    pub include: &'a [u8],
}

pub(crate) fn push_grads<'a>(b: &mut LaunchArgs<'a>, grads: &'a DeviceGrads) {
    match grads {
        DeviceGrads::F32(g) => b.arg(g),
        DeviceGrads::Half(g, _) => b.arg(g),
    };
}

fn push_grads_mut<'a>(b: &mut LaunchArgs<'a>, grads: &'a mut DeviceGrads) {
    match grads {
        DeviceGrads::F32(g) => b.arg(g),
        DeviceGrads::Half(g, _) => b.arg(g),
    };
}

/// The reduction a norm order needs (`mode` in kernels.cu's norm_partial); the order is checked by `reduce`.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Two = 0,
    One = 1,
    Max = 2,
    Min = 3,
    Count = 4,
    Power = 5,
}

fn mode(norm_type: f64) -> Mode {
    match norm_type {
        0.0 => Mode::Count,
        1.0 => Mode::One,
        2.0 => Mode::Two,
        f64::INFINITY => Mode::Max,
        f64::NEG_INFINITY => Mode::Min,
        _ => Mode::Power,
    }
}

fn same_device(lists: &[GradSet<'_>]) -> Result<(), CudaError> {
    if lists.windows(2).any(|w| w[0].bucket.device.ordinal != w[1].bucket.device.ordinal) {
        return Err(CudaError::new("the gradients live on different GPUs"));
    }
    Ok(())
}

/// torch's `get_total_norm` of `value_scale * g` over the included tensors, and whether a raw
/// gradient was inf or NaN (the AMP check). One read pass over the gradients.
pub fn total_norm_and_check(lists: &mut [GradSet<'_>], norm_type: f64, value_scale: f32) -> Result<(f32, bool), CudaError> {
    let mode = mode(norm_type);
    let (total, found_inf) = reduce(lists, mode, norm_type, value_scale)?;
    // torch sums in float32: beyond its range the sum is inf (the CPU kernels' rule; each |x|^p
    // and each thread's partial are float32 on the device already).
    let in_f32 = |x: f64| f64::from(x as f32);
    let norm = match mode {
        Mode::Two => in_f32(total).sqrt(),
        Mode::Power => in_f32(total).powf(1.0 / norm_type),
        _ => total,
    };
    Ok((norm as f32, found_inf))
}

/// Σ (value_scale g)² over the included gradients (LAMB's global gradient norm, squared).
pub fn square_sum(lists: &mut [GradSet<'_>], value_scale: f32) -> Result<f64, CudaError> {
    Ok(reduce(lists, Mode::Two, 2.0, value_scale)?.0)
}

/// The folded partials of one norm order (before the final root) and the inf/NaN flag.
fn reduce(lists: &mut [GradSet<'_>], mode: Mode, norm_type: f64, value_scale: f32) -> Result<(f64, bool), CudaError> {
    // The CPU kernels' rules for the order (NaN is an error; max, min and negative powers need elements).
    let needs_elements = norm_needs_elements(norm_type).map_err(|e| CudaError::new(e.0))?;
    same_device(lists)?;
    let mut tables = Vec::new();
    let mut tensors = 0usize;
    for l in lists.iter_mut() {
        let chunks = l.bucket.table(l.include)?;
        for (w, &inc) in l.bucket.offsets.windows(2).zip(l.include) {
            if inc != 0 {
                tensors += 1;
                if w[0] == w[1] && needs_elements {
                    return Err(CudaError::new(empty_tensor_norm(norm_type).0));
                }
            }
        }
        tables.push(chunks);
    }
    let total_chunks: usize = tables.iter().map(|t| t.host.len()).sum();
    if tensors == 0 || total_chunks == 0 {
        // No tensors, or only empty ones: every sum is 0.
        return Ok((0.0, false));
    }
    let device = lists[0].bucket.device.clone();
    guarded("total_norm", || {
        let s = &device.stream;
        let mut partials = s.alloc_zeros::<f64>(total_chunks)?;
        let mut flags = s.alloc_zeros::<u32>(total_chunks)?;
        let mut off = 0usize;
        let (mode_i, p) = (mode as i32, norm_type as f32);
        for (l, table) in lists.iter().zip(&tables) {
            let (chunks, chunks_d) = (&table.host, &table.device);
            if chunks.is_empty() {
                continue;
            }
            let f = device.function(&format!("norm_partial_{}", l.bucket.grads.suffix()))?;
            let mut part = partials.slice_mut(off..off + chunks.len());
            let mut flag = flags.slice_mut(off..off + chunks.len());
            let mut b = s.launch_builder(&f);
            push_grads(&mut b, &l.bucket.grads);
            b.arg(chunks_d).arg(&mode_i).arg(&p).arg(&value_scale).arg(&mut part).arg(&mut flag);
            // SAFETY: matches norm_partial_*; one partial and flag per chunk of this list.
            unsafe { b.launch(launch_config(chunks.len())) }?;
            off += chunks.len();
        }
        let found_inf;
        let total = if mode == Mode::Count {
            // torch counts the tensors holding a non-zero element: group the chunks by tensor.
            let counts = s.clone_dtoh(&partials)?;
            found_inf = s.clone_dtoh(&flags)?.iter().any(|&f| f != 0);
            let mut n = 0.0f64;
            let mut k = 0usize;
            for table in &tables {
                let mut last: Option<u32> = None;
                for c in &table.host {
                    if counts[k] != 0.0 && last != Some(c.tensor) {
                        n += 1.0;
                        last = Some(c.tensor);
                    }
                    k += 1;
                }
            }
            n
        } else {
            let mut out = s.alloc_zeros::<f64>(2)?;
            let f = device.function("norm_reduce")?;
            let mut b = s.launch_builder(&f);
            let n = total_chunks as u32;
            b.arg(&partials).arg(&flags).arg(&n).arg(&mode_i).arg(&mut out);
            // SAFETY: matches norm_reduce; one block folds `n` partials into out[0..2].
            unsafe { b.launch(LaunchConfig { grid_dim: (1, 1, 1), block_dim: (1024, 1, 1), shared_mem_bytes: 0 }) }?;
            let out = s.clone_dtoh(&out)?;
            found_inf = out[1] != 0.0;
            out[0]
        };
        Ok((total, found_inf))
    })
}

/// torch's `get_total_norm`: the total norm of the included gradients (0 with none).
pub fn total_norm(lists: &mut [GradSet<'_>], norm_type: f64) -> Result<f32, CudaError> {
    Ok(total_norm_and_check(lists, norm_type, 1.0)?.0)
}

/// Runs an in-place pass (`scale_*`, `clamp_*`, `unscale_*`) over each list's included tensors,
/// with the kernel's float arguments after the chunk table.
fn grad_pass(lists: &mut [GradSet<'_>], kernel: &str, floats: &[f32], found: Option<&mut CudaSlice<u32>>) -> Result<(), CudaError> {
    let mut found = found;
    for l in lists.iter_mut() {
        let table = l.bucket.table(l.include)?;
        let chunks = &table.host;
        if chunks.is_empty() {
            continue;
        }
        let device = l.bucket.device.clone();
        let s = &device.stream;
        let chunks_d = &table.device;
        let f = device.function(&format!("{kernel}_{}", l.bucket.grads.suffix()))?;
        let mut b = s.launch_builder(&f);
        push_grads_mut(&mut b, &mut l.bucket.grads);
        b.arg(chunks_d);
        for x in floats {
            b.arg(x);
        }
        if let Some(flag) = found.as_deref_mut() {
            b.arg(flag);
        }
        // SAFETY: matches the pass kernel's arguments; every chunk lies inside the gradients.
        unsafe { b.launch(launch_config(chunks.len())) }?;
    }
    Ok(())
}

/// Multiplies every included gradient by `factor` (f32 math, one rounding for half types).
pub fn scale(lists: &mut [GradSet<'_>], factor: f32) -> Result<(), CudaError> {
    guarded("scale", || grad_pass(lists, "scale", &[factor], None))
}

/// torch's `clip_grad_norm_`: returns the total norm, and multiplies by the clamped coefficient
/// unless it is exactly 1.
pub fn clip_grad_norm(lists: &mut [GradSet<'_>], max_norm: f64, norm_type: f64, error_if_nonfinite: bool) -> Result<f32, CudaError> {
    let total = total_norm(lists, norm_type)?;
    if error_if_nonfinite && !total.is_finite() {
        return Err(CudaError::new(non_finite_norm(norm_type).0));
    }
    let coef = clip_coefficient(max_norm, total);
    if coef != 1.0 {
        scale(lists, coef)?;
    }
    Ok(total)
}

/// torch's `clip_grad_value_`: clamp to [-c, c] in float32 (clamp_min, then clamp_max).
pub fn clip_grad_value(lists: &mut [GradSet<'_>], clip_value: f64) -> Result<(), CudaError> {
    let hi = clip_value as f32;
    let lo = -hi;
    guarded("clip_grad_value", || grad_pass(lists, "clamp", &[lo, hi], None))
}

/// GradScaler's unscale: multiplies by `inv_scale` and returns whether any gradient was inf or
/// NaN before scaling (torch's found_inf). One pass; one 4-byte read back.
pub fn unscale(lists: &mut [GradSet<'_>], inv_scale: f32) -> Result<bool, CudaError> {
    if lists.is_empty() {
        return Ok(false);
    }
    same_device(lists)?;
    let device = lists[0].bucket.device.clone();
    guarded("unscale", || {
        let mut found = device.stream.alloc_zeros::<u32>(1)?;
        grad_pass(lists, "unscale", &[inv_scale], Some(&mut found))?;
        Ok(device.stream.clone_dtoh(&found)?[0] != 0)
    })
}

/// The fused AMP step's read pass over still-scaled gradients (as `anvil_kernels::scaler::amp_check`):
/// the inf/nan check and, with `clip`, the total norm of the unscaled gradients, in one pass.
/// The returned `grad_scale` is what the optimizer step multiplies gradients by as it reads them.
pub fn amp_check(lists: &mut [GradSet<'_>], scale: f32, clip: Option<ClipSpec>) -> Result<AmpCheck, CudaError> {
    let inv = inv_scale(scale);
    let Some(c) = clip else {
        return Ok(AmpCheck { found_inf: unscale(lists, 1.0)?, total_norm: None, grad_scale: inv });
    };
    let (total, found_inf) = total_norm_and_check(lists, c.norm_type, inv)?;
    if c.error_if_nonfinite && !total.is_finite() {
        return Err(CudaError::new(non_finite_norm(c.norm_type).0));
    }
    Ok(AmpCheck { found_inf, total_norm: Some(total), grad_scale: inv * clip_coefficient(c.max_norm, total) })
}
