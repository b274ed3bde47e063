//! GPU AdamW step throughput against the bandwidth of a device-to-device copy of the same bytes,
//! one tensor and 100 tensors of mixed sizes. Run on a GPU machine: `bench_cuda [N]`.

use std::time::Instant;

use anvil_cuda::{adam_step, Device, DeviceBucket};
use anvil_kernels::optim::Adam;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(50_000_000);
    let device = Device::open(0).expect("a GPU");
    println!("device: {}", device.name().unwrap());
    let hp = Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, amsgrad: false, maximize: false, decoupled: true };
    println!("| layout | elements | ms/step | GB/s (28 B/elem) | copy GB/s (probe) | % of copy |");
    println!("|---|---|---|---|---|---|");
    for tensors in [1usize, 100] {
        // Mixed sizes: tensor i gets a share proportional to (i % 7 + 1).
        let weights: Vec<usize> = (0..tensors).map(|i| i % 7 + 1).collect();
        let total_w: usize = weights.iter().sum();
        let mut offsets = vec![0u32];
        for (i, w) in weights.iter().enumerate() {
            let len = if i + 1 == tensors { n - *offsets.last().unwrap() as usize } else { n * w / total_w };
            offsets.push(offsets.last().unwrap() + len as u32);
        }
        let host = vec![0.5f32; n];
        let mut bucket = DeviceBucket::upload(&device, &host, &host, &offsets).unwrap();
        let mut steps = vec![0u32; tensors];
        let has_grad = vec![1u8; tensors];
        for _ in 0..3 {
            adam_step(&mut bucket, &hp, &mut steps, &has_grad).unwrap();
        }
        device.synchronize().unwrap();
        let reps = 20;
        let t = Instant::now();
        for _ in 0..reps {
            adam_step(&mut bucket, &hp, &mut steps, &has_grad).unwrap();
        }
        device.synchronize().unwrap();
        let step_s = t.elapsed().as_secs_f64() / reps as f64;
        let gbs = 28.0 * n as f64 / step_s / 1e9;
        drop(bucket);
        let copy = (anvil_cuda::probe::copy_bandwidth(&device, n, 10).unwrap() + anvil_cuda::probe::copy_bandwidth(&device, n, 10).unwrap()) / 2.0;
        println!("| {tensors} tensor(s) | {n} | {:.3} | {gbs:.0} | {copy:.0} | {:.0}% |", step_s * 1e3, 100.0 * gbs / copy);
    }
}

