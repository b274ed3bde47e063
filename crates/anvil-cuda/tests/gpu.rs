//! The CUDA backend against the CPU kernels. Without a GPU only the no-GPU behaviour (and, where
//! libnvrtc is present, the kernel compilation) is checked; `--include-ignored` runs the GPU tests.

use anvil_cuda::{adam_step, compile_kernels, device_count, nvrtc_present, sgd_step, Device, DeviceBucket};
use anvil_kernels::{optim, step, Bucket};

#[test]
fn missing_gpu_is_an_error_not_a_panic() {
    if device_count() > 0 {
        eprintln!("a GPU is present: nothing to check here");
        return;
    }
    let err = Device::open(0).err().expect("opening a GPU must fail without one");
    assert!(err.0.contains("no NVIDIA driver or GPU"), "{err}");
}

#[test]
fn kernels_compile_with_nvrtc() {
    if !nvrtc_present() {
        eprintln!("libnvrtc.so.13 not found: compile check skipped");
        assert!(compile_kernels().unwrap_err().0.contains("NVRTC"));
        return;
    }
    compile_kernels().expect("kernel source compiles");
}

/// Deterministic pseudo-random values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

const OFFSETS: [u32; 4] = [0, 1000, 21_000, 21_007];
const PATTERN: [[u8; 3]; 4] = [[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 1, 1]];

fn assert_close(gpu: &[f32], cpu: &[f32], what: &str) {
    for (i, (a, b)) in gpu.iter().zip(cpu).enumerate() {
        assert!((a - b).abs() <= 1e-6 + 1e-5 * b.abs(), "{what}[{i}]: gpu {a} cpu {b}");
    }
}

#[test]
#[ignore = "needs a GPU"]
fn adam_on_gpu_matches_the_cpu_kernel() {
    let device = Device::open(0).unwrap();
    for (amsgrad, decoupled, maximize) in [(false, true, false), (true, false, true)] {
        let hp = optim::Adam { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.05, amsgrad, maximize, decoupled };
        let n = OFFSETS[3] as usize;
        let mut cpu_p = values(n, 1);
        let mut gpu = DeviceBucket::upload(&device, &cpu_p, &vec![0.0; n], &OFFSETS).unwrap();
        let mut states = vec![vec![0.0f32; n]; if amsgrad { 3 } else { 2 }];
        let (mut cpu_steps, mut gpu_steps) = ([0u32; 3], [0u32; 3]);
        for (k, has_grad) in PATTERN.iter().enumerate() {
            let g = values(n, 10 + k as u64);
            gpu.set_grads(&g).unwrap();
            adam_step(&mut gpu, &hp, &mut gpu_steps, has_grad).unwrap();
            let views = states.iter_mut().map(|s| &mut s[..]).collect();
            step(&hp, Bucket { states: views, ..Bucket::new(&mut cpu_p, &g, &OFFSETS, &mut cpu_steps, has_grad) }).unwrap();
        }
        assert_eq!(gpu_steps, cpu_steps);
        assert_close(&gpu.download_params().unwrap(), &cpu_p, "params");
        assert_close(&gpu.download_state("exp_avg_sq").unwrap().unwrap(), &states[1], "exp_avg_sq");
    }
}

#[test]
#[ignore = "needs a GPU"]
fn sgd_on_gpu_matches_the_cpu_kernel() {
    let device = Device::open(0).unwrap();
    let hp = optim::Sgd { lr: 0.05, momentum: 0.9, dampening: 0.1, weight_decay: 0.01, nesterov: false, maximize: true };
    let n = OFFSETS[3] as usize;
    let mut cpu_p = values(n, 2);
    let mut gpu = DeviceBucket::upload(&device, &cpu_p, &vec![0.0; n], &OFFSETS).unwrap();
    let mut buf = vec![0.0f32; n];
    let (mut cpu_steps, mut gpu_steps) = ([0u32; 3], [0u32; 3]);
    for (k, has_grad) in PATTERN.iter().enumerate() {
        let g = values(n, 20 + k as u64);
        gpu.set_grads(&g).unwrap();
        sgd_step(&mut gpu, &hp, &mut gpu_steps, has_grad).unwrap();
        step(&hp, Bucket { states: vec![&mut buf], ..Bucket::new(&mut cpu_p, &g, &OFFSETS, &mut cpu_steps, has_grad) }).unwrap();
    }
    assert_close(&gpu.download_params().unwrap(), &cpu_p, "params");
    assert_close(&gpu.download_state("momentum_buffer").unwrap().unwrap(), &buf, "momentum_buffer");
}
