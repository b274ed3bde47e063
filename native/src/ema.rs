//! Averaged-model bindings (MMEngine's EMA / SWA updates): lists of averaged and source float32
//! tensors, updated in place in one call.

use anvil_kernels::ema;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::grad_lists::{check_spans, span_of};
use crate::views::invalid;

fn run(mut averaged: Vec<Float32Array>, source: Vec<Float32Array>, f: impl FnOnce(&mut [&mut [f32]], &[&[f32]]) -> std::result::Result<(), anvil_kernels::KernelError>) -> Result<()> {
    let written = averaged.iter().enumerate().map(|(i, a)| span_of("averaged", i, a)).collect();
    let read: Vec<_> = source.iter().enumerate().map(|(i, s)| span_of("source", i, s)).collect();
    check_spans(written, &read)?;
    // SAFETY: the averaged views were checked to be disjoint from each other and from the sources.
    let mut avg: Vec<&mut [f32]> = averaged.iter_mut().map(|a| unsafe { a.as_mut() }).collect();
    let src: Vec<&[f32]> = source.iter().map(|s| &s[..]).collect();
    f(&mut avg, &src).map_err(invalid)
}

/// `averaged[i].lerp_(source[i], weight)` for every pair (ExponentialMovingAverage).
#[napi(catch_unwind)]
pub fn ema_lerp(averaged: Vec<Float32Array>, source: Vec<Float32Array>, weight: f64) -> Result<()> {
    run(averaged, source, |a, s| ema::lerp(a, s, weight))
}

/// `averaged[i] += alpha * (source[i] - averaged[i])` for every pair (StochasticWeightAverage).
#[napi(catch_unwind)]
pub fn swa_add_difference(averaged: Vec<Float32Array>, source: Vec<Float32Array>, alpha: f64) -> Result<()> {
    run(averaged, source, |a, s| ema::add_difference(a, s, alpha))
}
