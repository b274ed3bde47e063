//! The one multi-tensor driver every optimizer runs through: it checks a bucket's layout once,
//! then walks its tensors, skipping those without a gradient (torch skips `grad is None`),
//! advancing each tensor's own step counter and handing disjoint slices to an element kernel.

use crate::error::KernelError;

/// Most state tensors any optimizer keeps per parameter (Adam with amsgrad keeps three).
pub const MAX_STATES: usize = 4;

/// A bucket: several parameters packed back to back in one allocation, with gradients and
/// optimizer state laid out identically. Tensor `i` spans `offsets[i]..offsets[i + 1]`.
pub struct Bucket<'a> {
    pub params: &'a mut [f32],
    pub grads: &'a [f32],
    pub states: Vec<&'a mut [f32]>,
    pub offsets: &'a [u32],
    pub steps: &'a mut [u32],
    pub has_grad: &'a [u8],
}

/// What one optimizer contributes: host-side per-tensor scalars (bias corrections depend on the
/// tensor's own step) and an element-wise update over zipped slices.
pub trait ElementKernel {
    type Scalars: Copy;
    /// State tensors this configuration keeps (e.g. SGD without momentum keeps none).
    fn state_count(&self) -> usize;
    /// Per-tensor constants for the tensor's `step` (already advanced, so 1 on its first update).
    fn scalars(&self, step: u32) -> Self::Scalars;
    /// Updates one contiguous run of elements; every slice has the same length.
    fn update(&self, s: &Self::Scalars, params: &mut [f32], grads: &[f32], states: &mut [&mut [f32]]);
}

/// Element runs handed to the kernel at a time; a later multi-threaded driver splits on these.
const CHUNK: usize = 1 << 16;

pub fn step<K: ElementKernel>(kernel: &K, bucket: Bucket<'_>) -> Result<(), KernelError> {
    let Bucket { params, grads, states, offsets, steps, has_grad } = bucket;
    validate(kernel.state_count(), params.len(), grads.len(), &states, offsets, steps.len(), has_grad.len())?;

    let mut params_rest = params;
    let mut grads_rest = grads;
    let mut states_rest: [&mut [f32]; MAX_STATES] = Default::default();
    for (slot, s) in states_rest.iter_mut().zip(states) {
        *slot = s;
    }
    let n_states = kernel.state_count();

    for (i, window) in offsets.windows(2).enumerate() {
        let len = (window[1] - window[0]) as usize;
        let (p, rest) = std::mem::take(&mut params_rest).split_at_mut(len);
        params_rest = rest;
        let (g, rest) = grads_rest.split_at(len);
        grads_rest = rest;
        let mut views: [&mut [f32]; MAX_STATES] = Default::default();
        for (view, rest) in views.iter_mut().zip(states_rest.iter_mut()).take(n_states) {
            let (head, tail) = std::mem::take(rest).split_at_mut(len);
            *view = head;
            *rest = tail;
        }
        if has_grad[i] == 0 {
            continue;
        }
        steps[i] += 1;
        let scalars = kernel.scalars(steps[i]);
        let views = &mut views[..n_states];
        for start in (0..len).step_by(CHUNK) {
            let end = (start + CHUNK).min(len);
            let mut chunk: [&mut [f32]; MAX_STATES] = Default::default();
            for (c, v) in chunk.iter_mut().zip(views.iter_mut()) {
                *c = &mut v[start..end];
            }
            kernel.update(&scalars, &mut p[start..end], &g[start..end], &mut chunk[..n_states]);
        }
    }
    Ok(())
}

fn validate(
    n_states: usize,
    n_params: usize,
    n_grads: usize,
    states: &[&mut [f32]],
    offsets: &[u32],
    n_steps: usize,
    n_flags: usize,
) -> Result<(), KernelError> {
    if n_states > MAX_STATES {
        return Err(KernelError::new(format!("kernel wants {n_states} state tensors, at most {MAX_STATES} are supported")));
    }
    if states.len() != n_states {
        return Err(KernelError::new(format!("expected {n_states} state buffers, got {}", states.len())));
    }
    if n_grads != n_params {
        return Err(KernelError::new(format!("grads hold {n_grads} elements, params hold {n_params}")));
    }
    for (k, s) in states.iter().enumerate() {
        if s.len() != n_params {
            return Err(KernelError::new(format!("state buffer {k} holds {} elements, params hold {n_params}", s.len())));
        }
    }
    let Some((&first, _)) = offsets.split_first() else {
        return Err(KernelError::new("offsets must hold at least one entry (0)"));
    };
    if first != 0 {
        return Err(KernelError::new(format!("offsets must start at 0, got {first}")));
    }
    if offsets.windows(2).any(|w| w[1] < w[0]) {
        return Err(KernelError::new("offsets must be non-decreasing"));
    }
    let last = *offsets.last().unwrap() as usize;
    if last != n_params {
        return Err(KernelError::new(format!("offsets end at {last}, params hold {n_params}")));
    }
    let n_tensors = offsets.len() - 1;
    if n_steps != n_tensors || n_flags != n_tensors {
        return Err(KernelError::new(format!(
            "bucket has {n_tensors} tensors but {n_steps} step counters and {n_flags} has-grad flags"
        )));
    }
    Ok(())
}
