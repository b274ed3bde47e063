//! Optimizer steps on a device bucket, one generic driver for every optimizer: the host computes
//! each stepped tensor's scalars with the CPU kernel's own `scalars` (same f64 host math, same
//! per-tensor scalar state), packs them into a float4 table beside the chunk table, and one
//! launch of the optimizer's CUDA functor updates the bucket. Two-pass kernels (LAMB's trust
//! ratio) add a per-chunk reduction and a finishing launch.

use anvil_kernels::optim::{Adadelta, Adagrad, Adam, Adamax, Asgd, Lamb, Lion, NAdam, RAdam, RmsProp, Rprop, Sgd};
use anvil_kernels::ElementKernel;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use crate::bucket::{Chunk, DeviceBucket};
use crate::error::{guarded, CudaError};

pub(crate) const THREADS: u32 = 256;

/// Element constants of an optimizer's CUDA functor (`struct Hyper` in kernels.cu).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Hyper(pub [f32; 12]);

// SAFETY: twelve f32s, the layout of `struct Hyper`.
unsafe impl cudarc::driver::DeviceRepr for Hyper {}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct Float4([f32; 4]);

// SAFETY: four f32s, the layout (and 16-byte alignment is not required for an array read by index) of float4.
unsafe impl cudarc::driver::DeviceRepr for Float4 {}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct Uint2([u32; 2]);

// SAFETY: two u32s, the layout of uint2.
unsafe impl cudarc::driver::DeviceRepr for Uint2 {}

/// A CPU element kernel that also runs on the GPU: the functor's name in kernels.cu, its
/// element constants, and its per-tensor scalars packed as four floats.
pub trait DeviceKernel: ElementKernel {
    const NAME: &'static str;
    fn hyper(&self) -> Hyper;
    fn pack(&self, s: &Self::Scalars) -> [f32; 4];
}

fn sign(maximize: bool) -> f32 {
    if maximize { -1.0 } else { 1.0 }
}

fn flag(b: bool) -> f32 {
    f32::from(u8::from(b))
}

/// Weight decay folded into the update as torch's coupled / decoupled forms: (decay, coupled wd).
fn decays(lr: f64, wd: f64, decoupled: bool) -> (f32, f32) {
    if wd != 0.0 && decoupled { ((1.0 - lr * wd) as f32, 0.0) } else { (1.0, wd as f32) }
}

fn hyper(values: &[f32]) -> Hyper {
    let mut h = Hyper::default();
    h.0[..values.len()].copy_from_slice(values);
    h
}

impl DeviceKernel for Sgd {
    const NAME: &'static str = "sgd";
    fn hyper(&self) -> Hyper {
        hyper(&[self.lr, self.momentum, self.dampening, self.weight_decay, flag(self.nesterov), sign(self.maximize)])
    }
    fn pack(&self, &first: &bool) -> [f32; 4] {
        [flag(first), 0.0, 0.0, 0.0]
    }
}

impl DeviceKernel for Adam {
    const NAME: &'static str = "adam";
    fn hyper(&self) -> Hyper {
        let (decay, coupled) = decays(self.lr, self.weight_decay, self.decoupled);
        hyper(&[decay, coupled, (1.0 - self.beta1) as f32, self.beta2 as f32, (1.0 - self.beta2) as f32, self.eps as f32, sign(self.maximize), flag(self.amsgrad)])
    }
    fn pack(&self, s: &Self::Scalars) -> [f32; 4] {
        [s.step_size, s.bias_correction2_sqrt, 0.0, 0.0]
    }
}

impl DeviceKernel for Adamax {
    const NAME: &'static str = "adamax";
    fn hyper(&self) -> Hyper {
        hyper(&[sign(self.maximize), self.weight_decay as f32, (1.0 - self.beta1) as f32, self.beta1 as f32, self.beta2 as f32, self.eps as f32])
    }
    fn pack(&self, &neg_clr: &f32) -> [f32; 4] {
        [neg_clr, 0.0, 0.0, 0.0]
    }
}

impl DeviceKernel for NAdam {
    const NAME: &'static str = "nadam";
    fn hyper(&self) -> Hyper {
        let (decay, wd) = decays(self.lr, self.weight_decay, self.decoupled_weight_decay);
        let (b1, b2) = (self.beta1, self.beta2);
        hyper(&[sign(self.maximize), decay, wd, (1.0 - b1) as f32, b1 as f32, b2 as f32, (1.0 - b2) as f32, self.eps as f32])
    }
    fn pack(&self, s: &Self::Scalars) -> [f32; 4] {
        [s.bias_correction2, s.grad_coef, s.avg_coef, 0.0]
    }
}

impl DeviceKernel for RAdam {
    const NAME: &'static str = "radam";
    fn hyper(&self) -> Hyper {
        let (decay, wd) = decays(self.lr, self.weight_decay, self.decoupled_weight_decay);
        let (b1, b2) = (self.beta1, self.beta2);
        hyper(&[sign(self.maximize), decay, wd, (1.0 - b1) as f32, b1 as f32, b2 as f32, (1.0 - b2) as f32, self.eps as f32, self.lr as f32])
    }
    fn pack(&self, s: &Self::Scalars) -> [f32; 4] {
        [s.bias_correction1, s.bias_correction2_sqrt, s.rect.unwrap_or(0.0), flag(s.rect.is_some())]
    }
}

impl DeviceKernel for Adagrad {
    const NAME: &'static str = "adagrad";
    fn hyper(&self) -> Hyper {
        hyper(&[sign(self.maximize), self.weight_decay as f32, self.eps as f32])
    }
    fn pack(&self, &neg_clr: &f32) -> [f32; 4] {
        [neg_clr, 0.0, 0.0, 0.0]
    }
}

impl DeviceKernel for RmsProp {
    const NAME: &'static str = "rmsprop";
    fn hyper(&self) -> Hyper {
        hyper(&[
            sign(self.maximize),
            self.weight_decay as f32,
            self.eps as f32,
            -self.lr as f32,
            self.momentum as f32,
            self.alpha as f32,
            (1.0 - self.alpha) as f32,
            flag(self.momentum > 0.0),
            flag(self.centered),
        ])
    }
    fn pack(&self, _: &()) -> [f32; 4] {
        [0.0; 4]
    }
}

impl DeviceKernel for Adadelta {
    const NAME: &'static str = "adadelta";
    fn hyper(&self) -> Hyper {
        hyper(&[sign(self.maximize), self.weight_decay as f32, self.eps as f32, -self.lr as f32, self.rho as f32, (1.0 - self.rho) as f32])
    }
    fn pack(&self, _: &()) -> [f32; 4] {
        [0.0; 4]
    }
}

impl DeviceKernel for Asgd {
    const NAME: &'static str = "asgd";
    fn hyper(&self) -> Hyper {
        hyper(&[sign(self.maximize), self.weight_decay as f32])
    }
    fn pack(&self, s: &Self::Scalars) -> [f32; 4] {
        [s.decay, s.neg_eta, s.mu, 0.0]
    }
}

impl DeviceKernel for Rprop {
    const NAME: &'static str = "rprop";
    fn hyper(&self) -> Hyper {
        let r = self;
        hyper(&[sign(r.maximize), r.eta_minus as f32, r.eta_plus as f32, r.step_size_min as f32, r.step_size_max as f32, r.lr as f32])
    }
    fn pack(&self, &first: &bool) -> [f32; 4] {
        [flag(first), 0.0, 0.0, 0.0]
    }
}

impl DeviceKernel for Lion {
    const NAME: &'static str = "lion";
    fn hyper(&self) -> Hyper {
        let l = self;
        hyper(&[
            sign(l.maximize),
            (1.0 - l.lr * l.weight_decay) as f32,
            -l.lr as f32,
            l.beta1 as f32,
            (1.0 - l.beta1) as f32,
            (1.0 - l.beta2) as f32,
            l.beta2 as f32,
        ])
    }
    fn pack(&self, _: &()) -> [f32; 4] {
        [0.0; 4]
    }
}

impl DeviceKernel for Lamb {
    const NAME: &'static str = "lamb";
    fn hyper(&self) -> Hyper {
        let beta3 = if self.grad_averaging { (1.0 - self.beta1) as f32 } else { 1.0 };
        hyper(&[
            self.beta1 as f32,
            beta3,
            self.beta2 as f32,
            (1.0 - self.beta2) as f32,
            self.eps as f32,
            self.weight_decay as f32,
            -self.lr as f32,
            flag(self.trust_clip),
        ])
    }
    fn pack(&self, s: &Self::Scalars) -> [f32; 4] {
        [s.bias_correction1, s.bias_correction2_sqrt, 0.0, 0.0]
    }
}

pub(crate) fn launch_config(blocks: usize) -> LaunchConfig {
    LaunchConfig { grid_dim: (blocks as u32, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 }
}

/// The per-step inputs of a device step besides the bucket (the host keeps steps and scalar state).
pub struct StepArgs<'a> {
    /// The state buffers' names in the CPU kernel's order (`state_count()` of them).
    pub states: &'a [&'a str],
    /// Per-tensor scalar states (NAdam's mu_product, ASGD's eta and mu), one f64 per tensor each.
    pub tensor_states: &'a mut [&'a mut [f64]],
    pub steps: &'a mut [u32],
    pub has_grad: &'a [u8],
    /// Multiplies every gradient as it is read: AMP's 1 / scale times a clip coefficient.
    pub grad_scale: f32,
}

/// One optimizer step over a device bucket: the CPU kernel's semantics, on the GPU.
pub fn step<K: DeviceKernel>(bucket: &mut DeviceBucket, kernel: &K, args: StepArgs<'_>) -> Result<(), CudaError> {
    let StepArgs { states: names, tensor_states, steps, has_grad, grad_scale } = args;
    if names.len() != kernel.state_count() {
        return Err(CudaError::new(format!("{}: expected {} state buffer names, got {}", K::NAME, kernel.state_count(), names.len())));
    }
    if names.len() > 3 {
        return Err(CudaError::new(format!("{}: the CUDA kernels take at most 3 state buffers, got {}", K::NAME, names.len())));
    }
    let t = bucket.tensors();
    if tensor_states.len() != kernel.tensor_state_count() || tensor_states.iter().any(|s| s.len() != t) {
        return Err(CudaError::new(format!("{}: expected {} per-tensor scalar states of {t} values", K::NAME, kernel.tensor_state_count())));
    }
    let (table, stepped) = bucket.plan(steps, has_grad)?;
    let chunks = &table.host;
    if chunks.is_empty() {
        return Ok(());
    }
    let mut scalars = vec![Float4::default(); t];
    let mut scratch = [0.0f64; 4];
    for &i in &stepped {
        let i = i as usize;
        let n = tensor_states.len();
        for (v, ts) in scratch.iter_mut().zip(tensor_states.iter()) {
            *v = ts[i];
        }
        let s = kernel.scalars(steps[i], &mut scratch[..n]);
        for (v, ts) in scratch.iter().zip(tensor_states.iter_mut()) {
            ts[i] = *v;
        }
        scalars[i] = Float4(kernel.pack(&s));
    }
    bucket.ensure_states(names)?;
    let device = bucket.device.clone();
    let h = kernel.hyper();
    let n_states = names.len() as i32;
    guarded(K::NAME, || {
        let s = &device.stream;
        let (chunks_d, scalars_d) = (&table.device, s.clone_htod(&scalars)?);
        let suffix = bucket.grads.suffix();
        let two_pass = kernel.two_pass();
        let (params, grads, mut states) = bucket.views(names);
        let partials: Option<CudaSlice<f64>> = if two_pass { Some(s.alloc_zeros::<f64>(2 * chunks.len())?) } else { None };
        let name = if two_pass { format!("{}_moments_{suffix}", K::NAME) } else { format!("{}_{suffix}", K::NAME) };
        let f = device.function(&name)?;
        let mut b = s.launch_builder(&f);
        if two_pass {
            b.arg(&*params);
        } else {
            b.arg(&mut *params);
        }
        crate::grads::push_grads(&mut b, grads);
        let mut it = states.iter_mut();
        let slots = if two_pass { 2 } else { 3 };
        for _ in 0..slots {
            match it.next() {
                Some(st) => b.arg(&mut **st),
                None => b.arg(&device.unused), // never read by this configuration
            };
        }
        if !two_pass {
            b.arg(&n_states);
        }
        b.arg(chunks_d).arg(&scalars_d).arg(&h).arg(&grad_scale);
        if let Some(p) = &partials {
            b.arg(p);
        }
        // SAFETY: the argument list matches the kernel's; every chunk lies inside the buffers.
        unsafe { b.launch(launch_config(chunks.len())) }?;
        if let Some(partials) = partials {
            // Each tensor's chunks are consecutive in the table: record (first, count).
            let mut ranges = vec![Uint2::default(); t];
            for (k, c) in chunks.iter().enumerate() {
                let r = &mut ranges[c.tensor as usize].0;
                if r[1] == 0 {
                    r[0] = k as u32;
                }
                r[1] += 1;
            }
            let ranges_d = s.clone_htod(&ranges)?;
            let f = device.function(&format!("{}_finish", K::NAME))?;
            let mut b = s.launch_builder(&f);
            let mut it = states.iter();
            let (m, v) = (it.next().expect("two states"), it.next().expect("two states"));
            b.arg(&mut *params).arg(&**m).arg(&**v).arg(chunks_d).arg(&scalars_d).arg(&h).arg(&partials).arg(&ranges_d);
            // SAFETY: as above; `partials` holds two values per chunk, `ranges` one pair per tensor.
            unsafe { b.launch(launch_config(chunks.len())) }?;
        }
        Ok(())
    })
}

/// `Chunk` must stay what the kernels read.
const _: () = assert!(std::mem::size_of::<Chunk>() == 12);

/// torch.optim.SGD on the device (kept for callers of the first API).
pub fn sgd_step(bucket: &mut DeviceBucket, hp: &Sgd, steps: &mut [u32], has_grad: &[u8]) -> Result<(), CudaError> {
    let names: &[&str] = if hp.momentum != 0.0 { &["momentum_buffer"] } else { &[] };
    step(bucket, hp, StepArgs { states: names, tensor_states: &mut [], steps, has_grad, grad_scale: 1.0 })
}

/// torch.optim.Adam / AdamW on the device (kept for callers of the first API).
pub fn adam_step(bucket: &mut DeviceBucket, hp: &Adam, steps: &mut [u32], has_grad: &[u8]) -> Result<(), CudaError> {
    let names: &[&str] = if hp.amsgrad { &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] } else { &["exp_avg", "exp_avg_sq"] };
    step(bucket, hp, StepArgs { states: names, tensor_states: &mut [], steps, has_grad, grad_scale: 1.0 })
}
