//! The CUDA backend against the CPU kernels. Without a GPU only the no-GPU behaviour and the
//! kernel compilation are checked (under CI a missing NVRTC fails); `--include-ignored` runs the
//! GPU tests: every optimizer with float32, float16 and bfloat16 gradients, tensors that skip
//! steps, the gradient passes for every norm order, and the EMA updates.

use anvil_cuda::grads::{self, GradSet};
use anvil_cuda::{compile_kernels, device_count, nvrtc_present, step, Device, DeviceBucket, DeviceBuffer, DeviceKernel, HostGrads, StepArgs};
use anvil_kernels::clip;
use anvil_kernels::elem::Element;
use anvil_kernels::grads::{Dtype, GradData, GradList};
use anvil_kernels::optim::{Adadelta, Adagrad, Adam, Adamax, Asgd, Lamb, Lion, NAdam, RAdam, RmsProp, Rprop, Sgd};
use anvil_kernels::scaler::{self, ClipSpec};
use anvil_kernels::{ema, Bucket};
use half::{bf16, f16};

#[test]
fn missing_gpu_is_an_error_not_a_panic() {
    if device_count() > 0 {
        eprintln!("a GPU is present: nothing to check here");
        return;
    }
    let err = Device::open(0).err().expect("opening a GPU must fail without one");
    assert!(err.0.contains("no NVIDIA driver or GPU"), "{err}");
}

/// Every kernel the host code launches is in the compiled module.
#[test]
fn kernels_compile_with_nvrtc() {
    if !nvrtc_present() {
        assert!(std::env::var_os("CI").is_none(), "CI must compile the CUDA kernels: libnvrtc.so.13 is not on the library path");
        eprintln!("SKIPPED: libnvrtc.so.13 not found, kernel compile check not run");
        assert!(compile_kernels().unwrap_err().0.contains("NVRTC"));
        return;
    }
    let ptx = compile_kernels().expect("kernel source compiles").to_src();
    let mut names: Vec<String> = ["lamb_finish", "norm_reduce", "ema_lerp", "ema_add_difference"].map(String::from).to_vec();
    for suffix in ["f32", "f16", "bf16"] {
        for opt in ["sgd", "adam", "adamax", "nadam", "radam", "adagrad", "rmsprop", "adadelta", "asgd", "rprop", "lion", "lamb", "lamb_moments", "norm_partial", "scale", "clamp", "unscale"] {
            names.push(format!("{opt}_{suffix}"));
        }
    }
    for name in names {
        assert!(ptx.contains(&format!(".entry {name}(")), "kernel {name} missing from the PTX");
    }
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

/// Four tensors, one of them empty, one spanning several chunks and starting off the grid.
const OFFSETS: [u32; 5] = [0, 1000, 21_000, 21_000, 21_007];
const PATTERN: [[u8; 4]; 4] = [[1, 1, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 1, 1]];

fn assert_close(gpu: &[f32], cpu: &[f32], tol: f32, what: &str) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    for (i, (a, b)) in gpu.iter().zip(cpu).enumerate() {
        let ok = a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol + tol * b.abs();
        assert!(ok, "{what}[{i}]: gpu {a} cpu {b}");
    }
}

/// Runs `k` for 4 steps on the GPU and on the CPU over the same data, and compares params and states.
fn check_optimizer<K: DeviceKernel + Sync>(k: &K, names: &[&str], dtype: Dtype, grad_scale: f32, init: Option<f32>) {
    let device = Device::open(0).unwrap();
    let n = *OFFSETS.last().unwrap() as usize;
    let tensors = OFFSETS.len() - 1;
    let mut cpu_p = values(n, 1);
    let zero_bits = vec![0u16; n];
    let zeros = match dtype {
        Dtype::F32 => HostGrads::F32(&cpu_p), // overwritten before the first step
        _ => HostGrads::Half(&zero_bits, dtype),
    };
    let mut gpu = DeviceBucket::upload_with(&device, &cpu_p, zeros, &OFFSETS).unwrap();
    let mut states = vec![vec![init.unwrap_or(0.0); n]; names.len()];
    if let Some(v) = init {
        gpu.set_state(names[0], &vec![v; n]).unwrap();
    }
    let nts = k.tensor_state_count();
    let (mut cpu_ts, mut gpu_ts) = (vec![vec![0.0f64; tensors]; nts], vec![vec![0.0f64; tensors]; nts]);
    let (mut cpu_steps, mut gpu_steps) = (vec![0u32; tensors], vec![0u32; tensors]);
    for (s, has_grad) in PATTERN.iter().enumerate() {
        let g = values(n, 10 + s as u64);
        match dtype {
            Dtype::F32 => gpu.set_grads_with(HostGrads::F32(&g)).unwrap(),
            _ => {
                let bits: Vec<u16> = match dtype {
                    Dtype::F16 => g.iter().map(|&v| f16::from_f32(v).to_bits()).collect(),
                    _ => g.iter().map(|&v| bf16::from_f32(v).to_bits()).collect(),
                };
                gpu.set_grads_with(HostGrads::Half(&bits, dtype)).unwrap();
            }
        }
        let mut ts: Vec<&mut [f64]> = gpu_ts.iter_mut().map(|v| &mut v[..]).collect();
        step(&mut gpu, k, StepArgs { states: names, tensor_states: &mut ts, steps: &mut gpu_steps, has_grad, grad_scale }).unwrap();
        let views: Vec<&mut [f32]> = states.iter_mut().map(|s| &mut s[..]).collect();
        let ts: Vec<&mut [f64]> = cpu_ts.iter_mut().map(|v| &mut v[..]).collect();
        match dtype {
            Dtype::F32 => cpu_step(k, &mut cpu_p, &g, views, ts, &mut cpu_steps, has_grad, grad_scale),
            Dtype::F16 => cpu_step(k, &mut cpu_p, &g.iter().map(|&v| f16::from_f32(v)).collect::<Vec<_>>(), views, ts, &mut cpu_steps, has_grad, grad_scale),
            Dtype::Bf16 => cpu_step(k, &mut cpu_p, &g.iter().map(|&v| bf16::from_f32(v)).collect::<Vec<_>>(), views, ts, &mut cpu_steps, has_grad, grad_scale),
        }
    }
    let what = format!("{} ({dtype:?})", K::NAME);
    assert_eq!(gpu_steps, cpu_steps, "{what}: steps");
    assert_eq!(gpu_ts, cpu_ts, "{what}: per-tensor scalar state");
    assert_close(&gpu.download_params().unwrap(), &cpu_p, 2e-6, &format!("{what} params"));
    for (name, cpu) in names.iter().zip(&states) {
        assert_close(&gpu.download_state(name).unwrap().unwrap(), cpu, 2e-6, &format!("{what} {name}"));
    }
}

#[allow(clippy::too_many_arguments)]
fn cpu_step<K: DeviceKernel + Sync, G: Element>(k: &K, p: &mut [f32], g: &[G], states: Vec<&mut [f32]>, ts: Vec<&mut [f64]>, steps: &mut [u32], has_grad: &[u8], grad_scale: f32) {
    anvil_kernels::step(k, Bucket { states, tensor_states: ts, grad_scale, ..Bucket::new(p, g, &OFFSETS, steps, has_grad) }).unwrap();
}

fn each_dtype(f: impl Fn(Dtype, f32)) {
    f(Dtype::F32, 1.0);
    f(Dtype::F16, 0.5);
    f(Dtype::Bf16, 0.25);
}

#[test]
#[ignore = "needs a GPU"]
fn every_optimizer_on_gpu_matches_the_cpu_kernel() {
    each_dtype(|d, gs| {
        for (nesterov, momentum, wd) in [(false, 0.0, 0.0), (false, 0.9, 0.01), (true, 0.9, 0.0)] {
            let k = Sgd { lr: 0.05, momentum, dampening: if nesterov { 0.0 } else { 0.1 }, weight_decay: wd, nesterov, maximize: !nesterov };
            let names: &[&str] = if momentum != 0.0 { &["momentum_buffer"] } else { &[] };
            check_optimizer(&k, names, d, gs, None);
        }
        for (amsgrad, decoupled, maximize) in [(false, true, false), (true, false, true)] {
            let k = Adam { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.05, amsgrad, maximize, decoupled };
            let names: &[&str] = if amsgrad { &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] } else { &["exp_avg", "exp_avg_sq"] };
            check_optimizer(&k, names, d, gs, None);
        }
        check_optimizer(&Adamax { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, maximize: false }, &["exp_avg", "exp_inf"], d, gs, None);
        for decoupled in [false, true] {
            let k = NAdam { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, momentum_decay: 4e-3, decoupled_weight_decay: decoupled, maximize: false };
            check_optimizer(&k, &["exp_avg", "exp_avg_sq"], d, gs, None);
            // beta2 small enough that rho_t > 5 within the four steps: both RAdam branches run.
            let k = RAdam { lr: 1e-3, beta1: 0.9, beta2: 0.5, eps: 1e-8, weight_decay: 0.01, decoupled_weight_decay: decoupled, maximize: decoupled };
            check_optimizer(&k, &["exp_avg", "exp_avg_sq"], d, gs, None);
        }
        check_optimizer(&Adagrad { lr: 0.01, lr_decay: 0.1, weight_decay: 0.01, eps: 1e-10, maximize: false }, &["sum"], d, gs, Some(0.1));
        for (momentum, centered) in [(0.0, false), (0.9, false), (0.0, true), (0.9, true)] {
            let k = RmsProp { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0.01, momentum, centered, maximize: false };
            let mut names = vec!["square_avg"];
            if momentum > 0.0 {
                names.push("momentum_buffer");
            }
            if centered {
                names.push("grad_avg");
            }
            check_optimizer(&k, &names, d, gs, None);
        }
        check_optimizer(&Adadelta { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0.01, maximize: true }, &["square_avg", "acc_delta"], d, gs, None);
        check_optimizer(&Asgd { lr: 0.01, lambd: 1e-4, alpha: 0.75, t0: 2.0, weight_decay: 0.01, maximize: false }, &["ax"], d, gs, None);
        check_optimizer(&Rprop { lr: 0.01, eta_minus: 0.5, eta_plus: 1.2, step_size_min: 1e-6, step_size_max: 50.0, maximize: false }, &["prev", "step_size"], d, gs, None);
        check_optimizer(&Lion { lr: 1e-4, beta1: 0.9, beta2: 0.99, weight_decay: 0.1, maximize: false }, &["exp_avg"], d, gs, None);
        for (wd, trust_clip) in [(0.0, false), (0.01, false), (0.01, true)] {
            let k = Lamb { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-6, weight_decay: wd, bias_correction: true, grad_averaging: true, trust_clip, always_adapt: false };
            check_optimizer(&k, &["exp_avg", "exp_avg_sq"], d, gs, None);
        }
    });
}

/// The host gradients of OFFSETS as the CPU's GradList and a device bucket, in a given type,
/// scaled by `scale` and with a few special values planted.
fn grad_pair(device: &std::sync::Arc<Device>, dtype: Dtype, scale: f32, special: &[(usize, f32)]) -> (Vec<f32>, DeviceBucket) {
    let n = *OFFSETS.last().unwrap() as usize;
    let mut g: Vec<f32> = values(n, 99).iter().map(|v| v * scale).collect();
    for &(i, v) in special {
        g[i] = v;
    }
    let p = vec![0.0f32; n];
    let bucket = match dtype {
        Dtype::F32 => DeviceBucket::upload_with(device, &p, HostGrads::F32(&g), &OFFSETS).unwrap(),
        Dtype::F16 => DeviceBucket::upload_with(device, &p, HostGrads::Half(&g.iter().map(|&v| f16::from_f32(v).to_bits()).collect::<Vec<_>>(), dtype), &OFFSETS).unwrap(),
        Dtype::Bf16 => DeviceBucket::upload_with(device, &p, HostGrads::Half(&g.iter().map(|&v| bf16::from_f32(v).to_bits()).collect::<Vec<_>>(), dtype), &OFFSETS).unwrap(),
    };
    (g, bucket)
}

/// Runs `f` on the CPU over the same gradients as `grad_pair` gives the GPU; returns the gradients after, widened.
fn on_cpu<R>(g: &[f32], dtype: Dtype, include: &[u8], f: impl FnOnce(&mut [GradList<'_>]) -> R) -> (R, Vec<f32>) {
    match dtype {
        Dtype::F32 => {
            let mut v = g.to_vec();
            let r = f(&mut [GradList::new(GradData::F32(&mut v), Some(&OFFSETS), Some(include)).unwrap()]);
            (r, v)
        }
        _ => {
            let mut bits: Vec<u16> = match dtype {
                Dtype::F16 => g.iter().map(|&v| f16::from_f32(v).to_bits()).collect(),
                _ => g.iter().map(|&v| bf16::from_f32(v).to_bits()).collect(),
            };
            let r = f(&mut [GradList::new(GradData::from_bits(&mut bits, dtype).unwrap(), Some(&OFFSETS), Some(include)).unwrap()]);
            (r, widen(&bits, dtype))
        }
    }
}

fn widen(bits: &[u16], dtype: Dtype) -> Vec<f32> {
    bits.iter().map(|&b| if dtype == Dtype::F16 { f16::from_bits(b).to_f32() } else { bf16::from_bits(b).to_f32() }).collect()
}

fn device_grads(b: &DeviceBucket) -> Vec<f32> {
    match b.grad_dtype() {
        Dtype::F32 => b.download_grads().unwrap(),
        d => widen(&b.download_grad_bits().unwrap(), d),
    }
}

#[test]
#[ignore = "needs a GPU"]
fn gradient_passes_on_gpu_match_the_cpu_kernels() {
    let device = Device::open(0).unwrap();
    let include = [1u8, 0, 1, 1];
    for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        // Max and min have no identity: an included empty tensor is an error, as on the CPU.
        let (g, mut b) = grad_pair(&device, dtype, 1.0, &[]);
        let err = grads::total_norm(&mut [GradSet { bucket: &mut b, include: &include }], f64::INFINITY).unwrap_err();
        let (cpu, _) = on_cpu(&g, dtype, &include, |l| clip::total_norm(l, f64::INFINITY));
        assert_eq!(err.0, cpu.unwrap_err().0);
        let include = [1u8, 0, 0, 1];
        for norm_type in [2.0, 1.0, f64::INFINITY, f64::NEG_INFINITY, 0.0, 3.0, 0.5] {
            let (g, mut b) = grad_pair(&device, dtype, 1.0, &[(5, 0.0)]);
            let gpu = grads::clip_grad_norm(&mut [GradSet { bucket: &mut b, include: &include }], 0.5, norm_type, false).unwrap();
            let (cpu, after) = on_cpu(&g, dtype, &include, |l| clip::clip_grad_norm(l, 0.5, norm_type, false).unwrap());
            assert!((gpu - cpu).abs() <= 1e-5 * cpu.abs().max(1.0), "{dtype:?} norm {norm_type}: gpu {gpu} cpu {cpu}");
            assert_close(&device_grads(&b), &after, 1e-5, &format!("{dtype:?} clipped by the {norm_type} norm"));
        }
        // inf and NaN propagate; error_if_nonfinite names the order.
        for bad in [f32::INFINITY, f32::NAN] {
            let (g, mut b) = grad_pair(&device, dtype, 1.0, &[(30, bad)]);
            let gpu = grads::total_norm(&mut [GradSet { bucket: &mut b, include: &include }], 2.0).unwrap();
            let (cpu, _) = on_cpu(&g, dtype, &include, |l| clip::total_norm(l, 2.0).unwrap());
            assert!(gpu.is_nan() == cpu.is_nan() && (gpu.is_nan() || gpu == cpu), "{dtype:?} with {bad}: gpu {gpu} cpu {cpu}");
            let err = grads::clip_grad_norm(&mut [GradSet { bucket: &mut b, include: &include }], 1.0, 2.0, true).unwrap_err();
            assert!(err.0.contains("non-finite"), "{err}");
        }
        // clip_grad_value
        let (g, mut b) = grad_pair(&device, dtype, 2.0, &[(7, f32::NAN)]);
        grads::clip_grad_value(&mut [GradSet { bucket: &mut b, include: &include }], 0.75).unwrap();
        let (_, after) = on_cpu(&g, dtype, &include, |l| clip::clip_grad_value(l, 0.75));
        assert_close(&device_grads(&b), &after, 0.0, &format!("{dtype:?} clip_grad_value"));
        // GradScaler's unscale: found_inf only for included tensors, values scaled in place.
        for special in [vec![], vec![(1500usize, f32::INFINITY)], vec![(500usize, f32::NAN)]] {
            let (g, mut b) = grad_pair(&device, dtype, 1024.0, &special);
            let found = grads::unscale(&mut [GradSet { bucket: &mut b, include: &include }], 1.0 / 1024.0).unwrap();
            let (cpu_found, after) = on_cpu(&g, dtype, &include, |l| scaler::unscale(l, 1.0 / 1024.0));
            assert_eq!(found, cpu_found, "{dtype:?} found_inf with {special:?}");
            assert_close(&device_grads(&b), &after, 0.0, &format!("{dtype:?} unscaled"));
        }
        // The fused AMP check: same found_inf, norm and folded grad scale, nothing written.
        for special in [vec![], vec![(20_000usize, f32::INFINITY)]] {
            let clip = Some(ClipSpec { max_norm: 1.0, norm_type: 2.0, error_if_nonfinite: false });
            let (g, mut b) = grad_pair(&device, dtype, 512.0, &special);
            let gpu = grads::amp_check(&mut [GradSet { bucket: &mut b, include: &include }], 512.0, clip).unwrap();
            let (cpu, untouched) = on_cpu(&g, dtype, &include, |l| scaler::amp_check(l, 512.0, clip).unwrap());
            assert_eq!(gpu.found_inf, cpu.found_inf, "{dtype:?} amp found_inf");
            let (a, c) = (gpu.total_norm.unwrap(), cpu.total_norm.unwrap());
            assert!((a.is_nan() && c.is_nan()) || (a - c).abs() <= 1e-5 * c.abs().max(1.0), "{dtype:?} amp norm gpu {a} cpu {c}");
            assert!((gpu.grad_scale - cpu.grad_scale).abs() <= 1e-5 * cpu.grad_scale.abs() || (gpu.grad_scale.is_nan() && cpu.grad_scale.is_nan()));
            assert_close(&device_grads(&b), &untouched, 0.0, "amp check writes nothing");
        }
    }
}

#[test]
#[ignore = "needs a GPU"]
fn ema_on_gpu_matches_the_cpu_kernel() {
    let device = Device::open(0).unwrap();
    let n = 100_003;
    for (w, lerp) in [(0.0002, true), (0.9, true), (1.0, true), (0.25, false)] {
        let (mut avg, src) = (values(n, 3), values(n, 4));
        let mut gpu = DeviceBuffer::upload(&device, &avg).unwrap();
        let gsrc = DeviceBuffer::upload(&device, &src).unwrap();
        if lerp {
            gpu.lerp_from(&gsrc, w).unwrap();
            ema::lerp(&mut [&mut avg[..]], &[&src[..]], w).unwrap();
        } else {
            gpu.add_difference_from(&gsrc, w).unwrap();
            ema::add_difference(&mut [&mut avg[..]], &[&src[..]], w).unwrap();
        }
        assert_close(&gpu.download().unwrap(), &avg, 0.0, &format!("ema w={w} lerp={lerp}"));
    }
}

#[test]
#[ignore = "needs a GPU"]
fn empty_cache_returns_pool_memory() {
    let device = Device::open(0).unwrap();
    {
        let _big = DeviceBuffer::upload(&device, &vec![0.0f32; 1 << 24]).unwrap();
    }
    device.empty_cache().unwrap();
}
