//! GPU throughput of the CUDA backend against the device's copy bandwidth, measured in the same
//! run: AdamW, SGD with momentum, clip_grad_norm and the fused AMP step (fp16 gradients: one read
//! pass for the inf check and the norm, unscale and clip folded into the AdamW pass), at 1e7 and
//! 1e8 elements, as one tensor and as 200 tensors of mixed sizes. Prints one JSON line per row
//! (bench/cuda_table.py turns them and PyTorch's into the table). Run on a GPU: `bench_cuda`.

use std::sync::Arc;
use std::time::Instant;

use anvil_cuda::grads::{self, GradSet};
use anvil_cuda::{step, Device, DeviceBucket, HostGrads, StepArgs};
use anvil_kernels::grads::Dtype;
use anvil_kernels::optim::{Adam, Sgd};
use anvil_kernels::scaler::ClipSpec;

const ADAMW: Adam = Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, amsgrad: false, maximize: false, decoupled: true };
const SGD: Sgd = Sgd { lr: 1e-3, momentum: 0.9, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false };

/// Tensor boundaries: one tensor, or `tensors` of sizes proportional to (i % 7 + 1).
fn offsets(n: usize, tensors: usize) -> Vec<u32> {
    let weights: Vec<usize> = (0..tensors).map(|i| i % 7 + 1).collect();
    let total: usize = weights.iter().sum();
    let mut out = vec![0u32];
    for (i, w) in weights.iter().enumerate() {
        let len = if i + 1 == tensors { n - *out.last().unwrap() as usize } else { n * w / total };
        out.push(out.last().unwrap() + len as u32);
    }
    out
}

/// Seconds per call of `f`, over `reps` calls between two synchronisations.
fn time(device: &Arc<Device>, reps: usize, mut f: impl FnMut()) -> f64 {
    device.synchronize().unwrap();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    device.synchronize().unwrap();
    t.elapsed().as_secs_f64() / reps as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let device = Device::open(0).expect("a GPU");
    eprintln!("device: {}", device.name().unwrap());
    for n in [10_000_000usize, 100_000_000] {
        let reps = if n > 50_000_000 { 10 } else { 40 };
        for tensors in [1usize, 200] {
            let offs = offsets(n, tensors);
            let t = tensors;
            let host = vec![0.5f32; n];
            let half = vec![half::f16::from_f32(0.5).to_bits(); n];
            let all = vec![1u8; t];
            for op in ["adamw", "sgd", "clip_grad_norm", "amp_step"] {
                let mut bucket = if op == "amp_step" {
                    DeviceBucket::upload_with(&device, &host, HostGrads::Half(&half, Dtype::F16), &offs).unwrap()
                } else {
                    DeviceBucket::upload(&device, &host, &host, &offs).unwrap()
                };
                let mut steps = vec![0u32; t];
                let clip = Some(ClipSpec { max_norm: 1.0, norm_type: 2.0, error_if_nonfinite: false });
                let mut run = || match op {
                    "adamw" => step(&mut bucket, &ADAMW, StepArgs { states: &["exp_avg", "exp_avg_sq"], tensor_states: &mut [], steps: &mut steps, has_grad: &all, grad_scale: 1.0 }).unwrap(),
                    "sgd" => step(&mut bucket, &SGD, StepArgs { states: &["momentum_buffer"], tensor_states: &mut [], steps: &mut steps, has_grad: &all, grad_scale: 1.0 }).unwrap(),
                    // max_norm above the norm would skip the scaling pass: keep it below.
                    "clip_grad_norm" => {
                        grads::clip_grad_norm(&mut [GradSet { bucket: &mut bucket, include: &all }], 1e-3, 2.0, false).unwrap();
                    }
                    _ => {
                        let c = grads::amp_check(&mut [GradSet { bucket: &mut bucket, include: &all }], 65536.0, clip).unwrap();
                        if !c.found_inf {
                            step(&mut bucket, &ADAMW, StepArgs { states: &["exp_avg", "exp_avg_sq"], tensor_states: &mut [], steps: &mut steps, has_grad: &all, grad_scale: c.grad_scale }).unwrap();
                        }
                    }
                };
                for _ in 0..3 {
                    run();
                }
                let probe = anvil_cuda::probe::Copy::new(&device, n).unwrap();
                let (mut ratios, mut secs, mut copies) = (Vec::new(), Vec::new(), Vec::new());
                // Bytes each element really moves: read + written.
                let bytes = match op {
                    "adamw" => 28.0,
                    "sgd" => 20.0,
                    "clip_grad_norm" => 12.0,
                    _ => 28.0, // 2 (check pass) + 2 + 24 (update pass over fp16 grads)
                };
                for _ in 0..5 {
                    let before = time(&device, reps, || probe.run().unwrap());
                    let s = time(&device, reps, &mut run);
                    let after = time(&device, reps, || probe.run().unwrap());
                    let copy_gbs = 8.0 * n as f64 / ((before + after) / 2.0) / 1e9;
                    let gbs = bytes * n as f64 / s / 1e9;
                    ratios.push(gbs / copy_gbs);
                    secs.push(s);
                    copies.push(copy_gbs);
                }
                let s = median(secs);
                println!(
                    "{{\"impl\": \"anvil\", \"op\": \"{op}\", \"n\": {n}, \"tensors\": {tensors}, \"ms\": {:.4}, \"bytes_per_elem\": {bytes}, \"gbs\": {:.1}, \"copy_gbs\": {:.1}, \"of_copy\": {:.4}}}",
                    s * 1e3,
                    bytes * n as f64 / s / 1e9,
                    median(copies),
                    median(ratios)
                );
            }
        }
    }
}

