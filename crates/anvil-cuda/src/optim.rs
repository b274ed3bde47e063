//! Optimizer steps on a device bucket: the host computes per-tensor scalars from each tensor's
//! own step with the CPU kernels' own `scalars` and a chunk table; one kernel launch updates the
//! bucket. Hyper-parameters are the CPU kernels' structs (`anvil_kernels::optim`).

use anvil_kernels::optim::{Adam, Sgd};
use anvil_kernels::ElementKernel;
use cudarc::driver::{LaunchConfig, PushKernelArg};

use crate::bucket::DeviceBucket;
use crate::error::{guarded, CudaError};

const THREADS: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Float2 {
    x: f32,
    y: f32,
}

// SAFETY: two f32s, the layout of CUDA's float2.
unsafe impl cudarc::driver::DeviceRepr for Float2 {}

fn launch_config(chunks: usize) -> LaunchConfig {
    LaunchConfig { grid_dim: (chunks as u32, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 }
}

pub fn sgd_step(bucket: &mut DeviceBucket, hp: &Sgd, steps: &mut [u32], has_grad: &[u8]) -> Result<(), CudaError> {
    let (chunks, stepped) = bucket.plan(steps, has_grad)?;
    if chunks.is_empty() {
        return Ok(());
    }
    let mut first = vec![0u8; bucket.tensors()];
    for &t in &stepped {
        first[t as usize] = u8::from(hp.scalars(steps[t as usize], &mut []));
    }
    let names: &[&str] = if hp.momentum != 0.0 { &["momentum_buffer"] } else { &[] };
    bucket.ensure_states(names)?;
    let device = bucket.device.clone();
    guarded("sgd_step", || {
        let s = &device.stream;
        let (chunks_d, first_d) = (s.clone_htod(&chunks)?, s.clone_htod(&first)?);
        let (params, grads, mut states) = bucket.views(names);
        let (sign, nesterov) = (if hp.maximize { -1.0f32 } else { 1.0 }, i32::from(hp.nesterov));
        let grad_scale = 1.0f32;
        let mut b = s.launch_builder(&device.sgd);
        b.arg(params).arg(grads);
        match states.first_mut() {
            Some(buf) => b.arg(&mut **buf),
            None => b.arg(grads), // never read: momentum is 0
        };
        b.arg(&chunks_d).arg(&first_d);
        b.arg(&hp.lr).arg(&hp.momentum).arg(&hp.dampening).arg(&hp.weight_decay).arg(&nesterov).arg(&sign).arg(&grad_scale);
        // SAFETY: argument list matches `sgd_multi`; every chunk lies inside the buffers.
        unsafe { b.launch(launch_config(chunks.len())) }?;
        Ok(())
    })
}

pub fn adam_step(bucket: &mut DeviceBucket, hp: &Adam, steps: &mut [u32], has_grad: &[u8]) -> Result<(), CudaError> {
    let (chunks, stepped) = bucket.plan(steps, has_grad)?;
    if chunks.is_empty() {
        return Ok(());
    }
    let mut scalars = vec![Float2::default(); bucket.tensors()];
    for &t in &stepped {
        let s = hp.scalars(steps[t as usize], &mut []);
        scalars[t as usize] = Float2 { x: s.step_size, y: s.bias_correction2_sqrt };
    }
    let names: &[&str] = if hp.amsgrad { &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] } else { &["exp_avg", "exp_avg_sq"] };
    bucket.ensure_states(names)?;
    let device = bucket.device.clone();
    guarded("adam_step", || {
        let s = &device.stream;
        let (chunks_d, scalars_d) = (s.clone_htod(&chunks)?, s.clone_htod(&scalars)?);
        let (params, grads, mut states) = bucket.views(names);
        let (decay, coupled_wd) = if hp.decoupled { ((1.0 - hp.lr * hp.weight_decay) as f32, 0.0f32) } else { (1.0f32, hp.weight_decay as f32) };
        let (one_minus_beta1, beta2, one_minus_beta2) = ((1.0 - hp.beta1) as f32, hp.beta2 as f32, (1.0 - hp.beta2) as f32);
        let (eps, sign, grad_scale, amsgrad) = (hp.eps as f32, if hp.maximize { -1.0f32 } else { 1.0 }, 1.0f32, i32::from(hp.amsgrad));
        let mut it = states.iter_mut();
        let (m, v) = (it.next().expect("exp_avg"), it.next().expect("exp_avg_sq"));
        let mut b = s.launch_builder(&device.adam);
        b.arg(params).arg(grads).arg(&mut **m).arg(&mut **v);
        match it.next() {
            Some(vmax) => b.arg(&mut **vmax),
            None => b.arg(grads), // never read without amsgrad
        };
        b.arg(&chunks_d).arg(&scalars_d);
        b.arg(&decay).arg(&coupled_wd).arg(&one_minus_beta1).arg(&beta2).arg(&one_minus_beta2).arg(&eps).arg(&sign).arg(&grad_scale).arg(&amsgrad);
        // SAFETY: argument list matches `adam_multi`; every chunk lies inside the buffers.
        unsafe { b.launch(launch_config(chunks.len())) }?;
        Ok(())
    })
}
