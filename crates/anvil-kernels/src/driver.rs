//! The one multi-tensor driver every optimizer runs through: it checks a bucket's layout once,
//! then walks its tensors, skipping those without a gradient (torch skips `grad is None`),
//! advancing each tensor's own step counter and per-tensor scalar state, and handing disjoint
//! slices to an element kernel, which reads gradients of any `Element` type widened to f32 and
//! scaled in its own element loop (`GradRun`).

use std::any::TypeId;

use crate::elem::{Element, GradRun, Plain, Scaled};
use crate::error::KernelError;
use crate::simd::multiversion;
use crate::threads::{CHUNK, PARALLEL_MIN};

/// Most state tensors any optimizer keeps per parameter (Adam with amsgrad keeps three).
pub const MAX_STATES: usize = 4;

/// Most per-tensor scalar states any optimizer keeps (ASGD keeps `eta` and `mu`).
pub const MAX_TENSOR_STATES: usize = 4;

/// A bucket: several parameters packed back to back in one allocation, with gradients and
/// optimizer state laid out identically. Tensor `i` spans `offsets[i]..offsets[i + 1]`.
/// Gradients are f32, or fp16/bf16 (`half::f16`, `half::bf16`) over f32 master weights.
pub struct Bucket<'a, G = f32> {
    pub params: &'a mut [f32],
    pub grads: &'a [G],
    /// Multiplies every gradient as it is read, `1.0` for none: AMP's unscale (`1 / loss_scale`)
    /// or a global clip factor, fused into the update pass instead of a pass of its own.
    pub grad_scale: f32,
    pub states: Vec<&'a mut [f32]>,
    /// Per-tensor scalar state (NAdam's `mu_product`, ASGD's `eta` and `mu`): one f64 per tensor
    /// in each buffer, read and written by `ElementKernel::scalars`.
    pub tensor_states: Vec<&'a mut [f64]>,
    pub offsets: &'a [u32],
    pub steps: &'a mut [u32],
    pub has_grad: &'a [u8],
}

impl<'a, G> Bucket<'a, G> {
    /// A bucket with unscaled gradients and no state; add state with the struct's fields.
    pub fn new(params: &'a mut [f32], grads: &'a [G], offsets: &'a [u32], steps: &'a mut [u32], has_grad: &'a [u8]) -> Self {
        Bucket { params, grads, grad_scale: 1.0, states: Vec::new(), tensor_states: Vec::new(), offsets, steps, has_grad }
    }
}

/// A `Bucket` whose state lists are borrowed (from a stack array): what `step_borrowed` takes,
/// so a caller that keeps its buffers (the addon's bucket handle) steps without allocating.
/// The lists' slices are moved out while stepping (left empty).
pub struct BucketRef<'a, 'l, G = f32> {
    pub params: &'a mut [f32],
    pub grads: &'a [G],
    pub grad_scale: f32,
    pub states: &'l mut [&'a mut [f32]],
    pub tensor_states: &'l mut [&'a mut [f64]],
    pub offsets: &'a [u32],
    pub steps: &'a mut [u32],
    pub has_grad: &'a [u8],
}

/// Partial sums a kernel's first pass returns per chunk; the driver adds them up over a tensor
/// and hands the total to `ElementKernel::finish` (LAMB's norms). `()` for one-pass kernels.
pub trait Sums: Copy + Default + Send + Sync {
    fn merge(self, other: Self) -> Self;
}

impl Sums for () {
    fn merge(self, _: ()) {}
}

impl Sums for [f64; 2] {
    fn merge(self, o: Self) -> Self {
        [self[0] + o[0], self[1] + o[1]]
    }
}

/// What one optimizer contributes: host-side per-tensor scalars (bias corrections depend on the
/// tensor's own step) and an element-wise update over zipped slices.
/// `Sync` with `Send + Sync` scalars: chunks of one step run on several threads.
pub trait ElementKernel: Sync {
    type Scalars: Copy + Send + Sync;
    /// What `update` returns per chunk (`()` unless the kernel makes a second pass).
    type Sums: Sums;
    /// State tensors this configuration keeps (e.g. SGD without momentum keeps none).
    fn state_count(&self) -> usize;
    /// Per-tensor scalar states this configuration keeps (`Bucket::tensor_states`).
    fn tensor_state_count(&self) -> usize {
        0
    }
    /// Per-tensor constants for the tensor's `step` (already advanced, so 1 on its first update).
    /// `tensor_state` is this tensor's scalar state: read it, and write its new value.
    /// Without per-tensor state it must depend on `step` only (the driver reuses the result
    /// for the next tensor at the same step).
    fn scalars(&self, step: u32, tensor_state: &mut [f64]) -> Self::Scalars;
    /// Updates one contiguous run of elements; every slice has `grads.len()` elements.
    /// `grads` yields f32 values (widened and scaled in the element loop): zip `grads.values()`.
    fn update<R: GradRun>(&self, s: &Self::Scalars, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) -> Self::Sums;
    /// Whether `finish` runs: a second pass over each tensor once its `Sums` are complete.
    fn two_pass(&self) -> bool {
        false
    }
    /// The second pass over one run (gradients are not read again: state carries what is needed).
    fn finish(&self, _s: &Self::Scalars, _sums: Self::Sums, _params: &mut [f32], _states: &mut [&mut [f32]]) {}
}

/// One stepped tensor: its scalars for this step and its slices.
struct Tensor<'a, S, G> {
    scalars: S,
    params: &'a mut [f32],
    grads: &'a [G],
    states: [&'a mut [f32]; MAX_STATES],
}

/// One thread's share: a chunk of tensor `tensor` (an index into the stepped tensors).
struct Work<'a, G> {
    tensor: usize,
    params: &'a mut [f32],
    grads: &'a [G],
    states: [&'a mut [f32]; MAX_STATES],
}

/// Steps every tensor of `bucket` that has a gradient.
pub fn step<K, G>(kernel: &K, bucket: Bucket<'_, G>) -> Result<(), KernelError>
where
    K: ElementKernel,
    G: Element,
{
    let Bucket { params, grads, grad_scale, mut states, mut tensor_states, offsets, steps, has_grad } = bucket;
    step_borrowed(kernel, BucketRef { params, grads, grad_scale, states: &mut states, tensor_states: &mut tensor_states, offsets, steps, has_grad })
}

/// `step` over borrowed state lists: allocates nothing unless the bucket is large enough to be
/// split across threads.
pub fn step_borrowed<K, G>(kernel: &K, bucket: BucketRef<'_, '_, G>) -> Result<(), KernelError>
where
    K: ElementKernel,
    G: Element,
{
    let n = bucket.params.len();
    validate(kernel, n, bucket.grads.len(), bucket.states, bucket.tensor_states, bucket.offsets, bucket.steps.len(), bucket.has_grad.len())?;
    let grad_scale = bucket.grad_scale;
    let n_states = kernel.state_count();
    match (n >= PARALLEL_MIN).then(crate::threads::pool).flatten() {
        None => walk(kernel, bucket, |t| run_tensor(kernel, t, grad_scale, n_states)),
        Some(pool) => {
            // The only allocations of a step, and only for buckets large enough to split.
            let mut tensors = Vec::new();
            walk(kernel, bucket, |t| tensors.push(t));
            pool.install(|| run_parallel(kernel, tensors, grad_scale, n_states));
        }
    }
    Ok(())
}

/// Walks the bucket's tensors, advancing the step and per-tensor state of those with a
/// gradient and handing each of them, with disjoint slices, to `visit`.
fn walk<'a, K: ElementKernel, G>(kernel: &K, bucket: BucketRef<'a, '_, G>, mut visit: impl FnMut(Tensor<'a, K::Scalars, G>)) {
    let BucketRef { params, grads, states, tensor_states, offsets, steps, has_grad, .. } = bucket;
    let (n_states, n_tensor_states) = (kernel.state_count(), kernel.tensor_state_count());
    let mut params_rest = params;
    let mut grads_rest = grads;
    let mut states_rest: [&mut [f32]; MAX_STATES] = Default::default();
    for (slot, s) in states_rest.iter_mut().zip(states.iter_mut()) {
        *slot = std::mem::take(s);
    }
    // Scalars without per-tensor state depend on the step only: tensors stepped together share it.
    let mut last: Option<(u32, K::Scalars)> = None;
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
        let scalars = match last {
            Some((step, s)) if n_tensor_states == 0 && step == steps[i] => s,
            _ => {
                let mut scalar_state = [0.0f64; MAX_TENSOR_STATES];
                for (v, ts) in scalar_state.iter_mut().zip(tensor_states.iter()) {
                    *v = ts[i];
                }
                let s = kernel.scalars(steps[i], &mut scalar_state[..n_tensor_states]);
                for (v, ts) in scalar_state.iter().zip(tensor_states.iter_mut()) {
                    ts[i] = *v;
                }
                last = Some((steps[i], s));
                s
            }
        };
        visit(Tensor { scalars, params: p, grads: g, states: views });
    }
}

/// One tensor on the calling thread: chunk by chunk, then the second pass if the kernel has one.
fn run_tensor<K: ElementKernel, G: Element>(kernel: &K, t: Tensor<'_, K::Scalars, G>, grad_scale: f32, n_states: usize) {
    let Tensor { scalars, params: p, grads: g, states: mut views } = t;
    let views = &mut views[..n_states];
    let len = p.len();
    let mut sums = K::Sums::default();
    for start in (0..len).step_by(CHUNK) {
        let end = (start + CHUNK).min(len);
        let mut chunk = sub_views(views, start, end);
        sums = sums.merge(update_dispatched(kernel, &scalars, &mut p[start..end], &g[start..end], grad_scale, &mut chunk[..n_states]));
    }
    if kernel.two_pass() {
        for start in (0..len).step_by(CHUNK) {
            let end = (start + CHUNK).min(len);
            let mut chunk = sub_views(views, start, end);
            finish_dispatched(kernel, &scalars, sums, &mut p[start..end], &mut chunk[..n_states]);
        }
    }
}

/// Every chunk of every stepped tensor as one pool of work; per-tensor sums are reduced
/// between the passes of two-pass kernels.
fn run_parallel<K, G>(kernel: &K, tensors: Vec<Tensor<'_, K::Scalars, G>>, grad_scale: f32, n_states: usize)
where
    K: ElementKernel,
    G: Element,
{
    use rayon::prelude::*;
    let mut scalars = Vec::with_capacity(tensors.len());
    let mut work = Vec::new();
    for (ti, t) in tensors.into_iter().enumerate() {
        let Tensor { scalars: s, params, grads, states } = t;
        scalars.push(s);
        let (mut p, mut g, mut st) = (params, grads, states);
        while !p.is_empty() {
            let take = p.len().min(CHUNK);
            let (ph, pt) = std::mem::take(&mut p).split_at_mut(take);
            let (gh, gt) = g.split_at(take);
            let mut heads: [&mut [f32]; MAX_STATES] = Default::default();
            for (h, s) in heads.iter_mut().zip(st.iter_mut()).take(n_states) {
                let (a, b) = std::mem::take(s).split_at_mut(take);
                *h = a;
                *s = b;
            }
            work.push(Work { tensor: ti, params: ph, grads: gh, states: heads });
            (p, g) = (pt, gt);
        }
    }
    let sums: Vec<(usize, K::Sums)> = work
        .par_iter_mut()
        .map(|w| (w.tensor, update_dispatched(kernel, &scalars[w.tensor], w.params, w.grads, grad_scale, &mut w.states[..n_states])))
        .collect();
    if kernel.two_pass() {
        let mut totals = vec![K::Sums::default(); scalars.len()];
        for (t, s) in sums {
            totals[t] = totals[t].merge(s);
        }
        work.par_iter_mut().for_each(|w| finish_dispatched(kernel, &scalars[w.tensor], totals[w.tensor], w.params, &mut w.states[..n_states]));
    }
}

multiversion! {
    /// `update_chunk` compiled for the widest vector unit of this CPU.
    fn update_dispatched<K: ElementKernel, G: Element>(kernel: &K, s: &K::Scalars, p: &mut [f32], g: &[G], grad_scale: f32, states: &mut [&mut [f32]]) -> K::Sums => update_chunk
}

multiversion! {
    /// `ElementKernel::finish`, dispatched as `update_dispatched`.
    fn finish_dispatched<K: ElementKernel>(kernel: &K, s: &K::Scalars, sums: K::Sums, p: &mut [f32], states: &mut [&mut [f32]]) -> () => finish_chunk
}

#[inline(always)]
fn finish_chunk<K: ElementKernel>(kernel: &K, s: &K::Scalars, sums: K::Sums, p: &mut [f32], states: &mut [&mut [f32]]) {
    kernel.finish(s, sums, p, states)
}

fn sub_views<'v>(views: &'v mut [&mut [f32]], start: usize, end: usize) -> [&'v mut [f32]; MAX_STATES] {
    let mut chunk: [&mut [f32]; MAX_STATES] = Default::default();
    for (c, v) in chunk.iter_mut().zip(views.iter_mut()) {
        *c = &mut v[start..end];
    }
    chunk
}

/// f32 gradients at scale 1 go to the kernel as they are; anything else is widened and scaled
/// by the kernel's element loop as it reads them (in registers, no staging copy).
#[inline(always)]
fn update_chunk<K: ElementKernel, G: Element>(
    kernel: &K,
    s: &K::Scalars,
    params: &mut [f32],
    grads: &[G],
    grad_scale: f32,
    states: &mut [&mut [f32]],
) -> K::Sums {
    if grad_scale == 1.0 {
        if let Some(g) = as_f32(grads) {
            return kernel.update(s, params, Plain(g), states);
        }
    }
    kernel.update(s, params, Scaled { data: grads, scale: grad_scale }, states)
}

/// The slice itself when the gradient type is f32.
fn as_f32<G: Element>(grads: &[G]) -> Option<&[f32]> {
    // SAFETY: G is f32 (same TypeId), so the slice already is a `[f32]`.
    (TypeId::of::<G>() == TypeId::of::<f32>()).then(|| unsafe { &*(grads as *const [G] as *const [f32]) })
}

#[allow(clippy::too_many_arguments)]
fn validate<K: ElementKernel>(
    kernel: &K,
    n_params: usize,
    n_grads: usize,
    states: &[&mut [f32]],
    tensor_states: &[&mut [f64]],
    offsets: &[u32],
    n_steps: usize,
    n_flags: usize,
) -> Result<(), KernelError> {
    let (n_states, n_tensor_states) = (kernel.state_count(), kernel.tensor_state_count());
    if n_states > MAX_STATES || n_tensor_states > MAX_TENSOR_STATES {
        return Err(KernelError::new(format!(
            "kernel wants {n_states} state tensors and {n_tensor_states} per-tensor states, at most {MAX_STATES} and {MAX_TENSOR_STATES} are supported"
        )));
    }
    if states.len() != n_states {
        return Err(KernelError::new(format!("expected {n_states} state buffers, got {}", states.len())));
    }
    if tensor_states.len() != n_tensor_states {
        return Err(KernelError::new(format!("expected {n_tensor_states} per-tensor state buffers, got {}", tensor_states.len())));
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
    for (k, s) in tensor_states.iter().enumerate() {
        if s.len() != n_tensors {
            return Err(KernelError::new(format!("per-tensor state buffer {k} holds {} entries, the bucket has {n_tensors} tensors", s.len())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use half::{bf16, f16};

    use super::*;

    /// p -= g, and counts the f32 gradient runs it was handed; keeps one scalar state (a sum of steps).
    struct Probe;

    impl ElementKernel for Probe {
        type Scalars = ();
        type Sums = [f64; 2];
        fn state_count(&self) -> usize {
            1
        }
        fn tensor_state_count(&self) -> usize {
            1
        }
        fn scalars(&self, step: u32, ts: &mut [f64]) {
            ts[0] += f64::from(step);
        }
        fn update<R: GradRun>(&self, _: &(), params: &mut [f32], grads: R, states: &mut [&mut [f32]]) -> [f64; 2] {
            let [seen] = states else { unreachable!() };
            for ((p, g), s) in params.iter_mut().zip(grads.values()).zip(seen.iter_mut()) {
                *p -= g;
                *s += 1.0;
            }
            [grads.values().map(f64::from).sum(), 1.0]
        }
        fn two_pass(&self) -> bool {
            true
        }
        // Second pass: every element of the tensor gets the tensor's gradient sum added.
        fn finish(&self, _: &(), sums: [f64; 2], params: &mut [f32], _: &mut [&mut [f32]]) {
            params.iter_mut().for_each(|p| *p += sums[0] as f32);
        }
    }

    fn run<G: Element>(grads: &[G], scale: f32, has_grad: &[u8]) -> (Vec<f32>, Vec<f32>, Vec<f64>, [u32; 2]) {
        let n = grads.len();
        let mut p = vec![0.0f32; n];
        let mut seen = vec![0.0f32; n];
        let mut ts = vec![0.0f64; 2];
        let mut steps = [0u32; 2];
        let offsets = [0, 1, n as u32];
        for _ in 0..2 {
            let mut b = Bucket::new(&mut p[..], grads, &offsets, &mut steps, has_grad);
            b.grad_scale = scale;
            b.states = vec![&mut seen[..]];
            b.tensor_states = vec![&mut ts[..]];
            step(&Probe, b).unwrap();
        }
        (p, seen, ts, steps)
    }

    #[test]
    fn half_gradients_read_as_f32_and_scaled_on_the_way_in() {
        // 600 elements: tensor 1 spans 599, more than two stack tiles of 256.
        let g32: Vec<f32> = (0..600).map(|i| (i % 7) as f32 * 0.25 - 0.5).collect();
        let g16: Vec<f16> = g32.iter().map(|&x| f16::from_f32(x)).collect();
        let gb16: Vec<bf16> = g32.iter().map(|&x| bf16::from_f32(x)).collect();
        let reference = run(&g32, 0.5, &[1, 1]);
        assert_eq!(run(&g16, 0.5, &[1, 1]), reference);
        assert_eq!(run(&gb16, 0.5, &[1, 1]), reference);
        // Scale 0.5 halves what the kernel sees: two steps of p -= g / 2, then + sum(g / 2) each.
        let (p, seen, ts, steps) = reference;
        let g1 = &g32[1..];
        let sum: f32 = g1.iter().map(|g| g * 0.5).sum();
        assert!((p[5] - (-g32[5] + 2.0 * sum)).abs() < 1e-3, "{} {}", p[5], sum);
        assert!(seen.iter().all(|&s| s == 2.0));
        // Per-tensor scalar state: 1 + 2 after two steps, for each tensor.
        assert_eq!((ts, steps), (vec![3.0, 3.0], [2, 2]));
        // Unscaled f32 is handed over in place and gives the same as a unit-scaled half read.
        assert_eq!(run(&g32, 1.0, &[1, 1]).0, run(&g16, 1.0, &[1, 1]).0);
    }

    /// A bucket above the parallel threshold, with a gradient-less tensor and a tensor spanning
    /// several chunks, stepped with one thread and with two: the bits must not differ.
    #[test]
    fn threads_split_large_buckets_without_changing_a_bit() {
        let n = PARALLEL_MIN + 3 * CHUNK + 17;
        let offsets = [0, 5, (CHUNK + 9) as u32, (n - 1000) as u32, n as u32];
        let grads: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
        let adam = crate::optim::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, amsgrad: true, maximize: false, decoupled: true };
        let run = |threads: usize| {
            crate::threads::set_num_threads(threads).unwrap();
            let mut p: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * 0.1).collect();
            let mut states = vec![vec![0.0f32; n]; 3];
            let mut seen = vec![0.0f32; n];
            let mut ts = vec![0.0f64; 4];
            let mut steps = [0u32; 4];
            for _ in 0..2 {
                let mut b = Bucket::new(&mut p[..], &grads[..], &offsets, &mut steps, &[1, 0, 1, 1]);
                b.states = states.iter_mut().map(|s| &mut s[..]).collect();
                step(&adam, b).unwrap();
                let mut b = Bucket::new(&mut p[..], &grads[..], &offsets, &mut steps, &[1, 1, 0, 1]);
                b.grad_scale = 0.5;
                b.states = vec![&mut seen[..]];
                b.tensor_states = vec![&mut ts[..]];
                step(&Probe, b).unwrap();
            }
            (p, states, seen, ts, steps)
        };
        let one = run(1);
        let two = run(2);
        crate::threads::set_num_threads(0).unwrap();
        assert!(one == two, "results differ between 1 and 2 threads");
        assert_eq!(one.4, [4, 2, 2, 4]);
    }

    #[test]
    fn skipped_tensors_keep_their_step_and_scalar_state() {
        let (p, seen, ts, steps) = run(&[1.0f32, 2.0, 3.0], 1.0, &[0, 1]);
        assert_eq!((p[0], seen[0], ts[0], steps), (0.0, 0.0, 0.0, [0, 2]));
        assert_eq!(ts[1], 3.0);
    }

    #[test]
    fn bad_per_tensor_state_is_an_error() {
        let mut p = [0.0f32; 2];
        let mut seen = [0.0f32; 2];
        let mut ts = [0.0f64; 1];
        let mut steps = [0u32; 2];
        let mut b = Bucket::new(&mut p[..], &[0.0f32; 2][..], &[0, 1, 2], &mut steps, &[1, 1]);
        b.states = vec![&mut seen[..]];
        b.tensor_states = vec![&mut ts[..]];
        let err = step(&Probe, b).unwrap_err();
        assert!(err.0.contains("per-tensor state buffer 0 holds 1 entries, the bucket has 2 tensors"), "{err}");
    }
}
