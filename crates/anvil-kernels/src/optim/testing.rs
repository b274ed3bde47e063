//! Test helper for the kernels: steps one kernel over one tensor with given gradients and
//! returns the parameters, state tensors and per-tensor scalar state afterwards.

use crate::driver::{step, Bucket, ElementKernel};

pub struct Run {
    pub params: Vec<f32>,
    pub states: Vec<Vec<f32>>,
    pub scalars: Vec<f64>,
    pub step: u32,
}

/// `init_states` fills each state buffer before the first step (Adagrad's accumulator).
pub fn run<K: ElementKernel>(k: &K, params: &[f32], grads: &[&[f32]], init_states: &[f32]) -> Run {
    let n = params.len();
    let mut p = params.to_vec();
    let mut states: Vec<Vec<f32>> = (0..k.state_count()).map(|i| vec![init_states.get(i).copied().unwrap_or(0.0); n]).collect();
    let mut scalars = vec![0.0f64; k.tensor_state_count()];
    let mut steps = [0u32];
    let offsets = [0, n as u32];
    for g in grads {
        let mut b = Bucket::new(&mut p[..], g, &offsets, &mut steps, &[1]);
        b.states = states.iter_mut().map(|s| &mut s[..]).collect();
        b.tensor_states = scalars.chunks_mut(1).collect();
        step(k, b).unwrap();
    }
    Run { params: p, states, scalars, step: steps[0] }
}

#[track_caller]
pub fn close(actual: f32, expected: f64) {
    let tol = 1e-6 + 1e-5 * expected.abs();
    assert!((f64::from(actual) - expected).abs() <= tol, "got {actual}, expected {expected}");
}
