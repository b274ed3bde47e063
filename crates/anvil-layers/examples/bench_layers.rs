//! Times Linear 4096x4096 and Conv2d forward/backward on the CNN demo's shapes against a bare sgemm
//! of the same size
//! (`cargo run --release -p anvil-layers --example bench_layers`); ANVIL_NUM_THREADS picks threads.

use std::time::Instant;

use anvil_layers::batchnorm::{self, BatchNormDims};
use anvil_layers::conv::{self, Conv2dDims};
use anvil_layers::linear::{self, LinearDims};
use anvil_layers::pool::{self, Pool2dDims};

fn time(name: &str, flops: f64, mut f: impl FnMut()) {
    f();
    let n = 10;
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    let s = t.elapsed().as_secs_f64() / n as f64;
    println!("{name:<36} {:8.2} ms {:8.1} GFLOP/s", s * 1e3, flops / s / 1e9);
}

fn main() {
    // Linear 4096x4096 on 256 rows (the layer benchmark's shape): three products of 2*256*4096^2.
    let ld = LinearDims { batch: 256, in_features: 4096, out_features: 4096 };
    let lx: Vec<f32> = (0..256 * 4096).map(|i| ((i * 13) % 29) as f32 * 0.01).collect();
    let lw: Vec<f32> = (0..4096 * 4096).map(|i| ((i * 7) % 31) as f32 * 0.001).collect();
    let lb = vec![0.0f32; 4096];
    let mut ly = vec![0.0f32; 256 * 4096];
    let lflops = 2.0 * 256.0 * 4096.0 * 4096.0;
    time("linear 4096x4096 fwd (256 rows)", lflops, || linear::forward(ld, &lx, &lw, &lb, &mut ly).unwrap());
    let (mut ldw, mut ldb, mut ldx) = (vec![0.0f32; lw.len()], vec![0.0f32; 4096], vec![0.0f32; lx.len()]);
    time("linear 4096x4096 bwd", 2.0 * lflops, || linear::backward(ld, &lx, &lw, &ly, &mut ldw, &mut ldb, Some(&mut ldx)).unwrap());
    let batch = 128;
    // The element-wise layers after the first conv: [128, 32, 28, 28].
    let n = batch * 32 * 28 * 28;
    let x: Vec<f32> = (0..n).map(|i| ((i * 31) % 97) as f32 * 0.01).collect();
    let mut y = vec![0.0f32; n];
    let bn = BatchNormDims { batch, channels: 32, spatial: 784, eps: 1e-5 };
    let (mut m, mut s) = (vec![0.0; 32], vec![0.0; 32]);
    time("batchnorm train fwd 128x32x28x28", 0.0, || batchnorm::forward_train(bn, &x, None, None, None, &mut y, &mut m, &mut s).unwrap());
    let mut dx = vec![0.0f32; n];
    time("batchnorm train bwd", 0.0, || batchnorm::backward(bn, true, &x, &y, None, &m, &s, None, None, Some(&mut dx)).unwrap());
    let pd = Pool2dDims { planes: batch * 32, height: 28, width: 28, kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceil_mode: false };
    let (mut py, mut pa) = (vec![0.0f32; n / 4], vec![0u32; n / 4]);
    time("maxpool 2x2 fwd 128x32x28x28", 0.0, || pool::max_pool_forward(pd, &x, &mut py, &mut pa).unwrap());
    time("maxpool 2x2 bwd", 0.0, || pool::max_pool_backward(pd, &py, &pa, &mut dx).unwrap());
    for (c, o, hw) in [(1usize, 32usize, 28usize), (32, 64, 14)] {
        let d = Conv2dDims { batch, in_channels: c, out_channels: o, height: hw, width: hw, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
        let x: Vec<f32> = (0..batch * c * hw * hw).map(|i| (i % 7) as f32 * 0.1).collect();
        let w: Vec<f32> = (0..o * c * 9).map(|i| (i % 5) as f32 * 0.01).collect();
        let b = vec![0.0f32; o];
        let mut y = vec![0.0f32; batch * o * hw * hw];
        let flops = 2.0 * (batch * o * c * 9 * hw * hw) as f64;
        time(&format!("conv {c}->{o} {hw}x{hw} fwd"), flops, || conv::forward(d, &x, &w, Some(&b), &mut y).unwrap());
        let (mut dw, mut db, mut dx) = (vec![0.0; w.len()], vec![0.0; o], vec![0.0; x.len()]);
        time(&format!("conv {c}->{o} {hw}x{hw} bwd"), 2.0 * flops, || conv::backward(d, &x, &w, &y, &mut dw, Some(&mut db), Some(&mut dx)).unwrap());
        // The forward's GEMMs as one [o, 9c] x [9c, batch*hw*hw] product, for reference.
        let (m, k, n) = (o, 9 * c, batch * hw * hw);
        let a = vec![0.5f32; m * k];
        let bm = vec![0.5f32; k * n];
        let mut cm = vec![0.0f32; m * n];
        time(&format!("sgemm {m}x{k}x{n}"), 2.0 * (m * k * n) as f64, || unsafe {
            matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, bm.as_ptr(), n as isize, 1, 0.0, cm.as_mut_ptr(), n as isize, 1);
        });
    }
}
