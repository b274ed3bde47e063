//! Layer forward/backward bindings: typed arrays and dimensions in, results written in place.
//! Linear, ReLU and the classifiers' fused loss here; the other layer families in layers/*.rs.

mod conv;
mod elementwise;
mod losses;
mod norm;
mod pool;

use anvil_layers::{activation, linear, loss};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

fn dims(batch: u32, in_features: u32, out_features: u32) -> linear::LinearDims {
    linear::LinearDims { batch: batch as usize, in_features: in_features as usize, out_features: out_features as usize }
}

/// `y = x W^T + b` for x [batch, in], W [out, in], b [out], y [batch, out].
#[napi(catch_unwind)]
pub fn linear_forward(x: Float32Array, w: Float32Array, b: Float32Array, mut y: Float32Array, batch: u32, in_features: u32, out_features: u32) -> Result<()> {
    check_disjoint(&[span("y", &y), span("x", &x), span("weight", &w), span("bias", &b)])?;
    // SAFETY: y was checked not to overlap the inputs.
    let y = unsafe { y.as_mut() };
    linear::forward(dims(batch, in_features, out_features), &x, &w, &b, y).map_err(invalid)
}

/// Accumulates `dW += dy^T x`, `db += sum(dy)`; writes `dx = dy W` when `dx` is given.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn linear_backward(
    x: Float32Array,
    w: Float32Array,
    dy: Float32Array,
    mut dw: Float32Array,
    mut db: Float32Array,
    dx: Option<Float32Array>,
    batch: u32,
    in_features: u32,
    out_features: u32,
) -> Result<()> {
    let mut dx = dx;
    let mut spans = vec![span("dw", &dw), span("db", &db), span("x", &x), span("weight", &w), span("dy", &dy)];
    if let Some(dx) = &dx {
        spans.insert(2, span("dx", dx));
    }
    check_disjoint(&spans)?;
    // SAFETY: the written views were checked not to overlap each other or the inputs.
    let (dw, db, dx) = unsafe { (dw.as_mut(), db.as_mut(), dx.as_mut().map(|d| d.as_mut())) };
    linear::backward(dims(batch, in_features, out_features), &x, &w, &dy, dw, db, dx).map_err(invalid)
}

/// `x = max(x, 0)` in place.
#[napi(catch_unwind)]
pub fn relu_in_place(mut x: Float32Array) {
    // SAFETY: x is the only view this call touches.
    activation::relu_in_place(unsafe { x.as_mut() });
}

/// `dy *= (y > 0)` in place.
#[napi(catch_unwind)]
pub fn relu_backward(y: Float32Array, mut dy: Float32Array) -> Result<()> {
    check_disjoint(&[span("dy", &dy), span("y", &y)])?;
    // SAFETY: dy was checked not to overlap y.
    activation::relu_backward(&y, unsafe { dy.as_mut() }).map_err(invalid)
}

/// Mean softmax cross-entropy over `labels.length` rows; writes `scale * dloss/dlogits`.
#[napi(catch_unwind)]
pub fn softmax_cross_entropy(logits: Float32Array, labels: Uint32Array, classes: u32, scale: f64, mut dlogits: Float32Array) -> Result<f64> {
    check_disjoint(&[span("dlogits", &dlogits), span("logits", &logits)])?;
    // SAFETY: dlogits was checked not to overlap logits.
    loss::softmax_cross_entropy(&logits, &labels, classes as usize, scale as f32, unsafe { dlogits.as_mut() }).map_err(invalid)
}
