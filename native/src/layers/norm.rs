//! Normalisation bindings: BatchNorm (train/eval), LayerNorm and GroupNorm over typed arrays;
//! absent affine parameters and unwanted gradients are passed as null.

use anvil_layers::batchnorm::{self, BatchNormDims, Running};
use anvil_layers::norm::{self, GroupNormDims, LayerNormDims};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

/// x [batch, channels, spatial]; for LayerNorm `channels` is the normalised size and `spatial` 1,
/// for GroupNorm `groups` splits the channels.
#[napi(object)]
pub struct NormShape {
    pub batch: u32,
    pub channels: u32,
    pub spatial: u32,
    pub groups: Option<u32>,
    pub eps: f64,
}

fn bn(s: &NormShape) -> BatchNormDims {
    BatchNormDims { batch: s.batch as usize, channels: s.channels as usize, spatial: s.spatial as usize, eps: s.eps as f32 }
}

fn gn(s: &NormShape) -> GroupNormDims {
    GroupNormDims { batch: s.batch as usize, channels: s.channels as usize, spatial: s.spatial as usize, groups: s.groups.unwrap_or(1) as usize, eps: s.eps as f32 }
}

fn ln(s: &NormShape) -> LayerNormDims {
    LayerNormDims { rows: s.batch as usize, features: s.channels as usize * s.spatial as usize, eps: s.eps as f32 }
}

/// Names and spans of the optional views, for `check_disjoint`.
fn spans(views: &[(&'static str, Option<&Float32Array>)]) -> Vec<(&'static str, usize, usize)> {
    views.iter().filter_map(|(n, v)| v.map(|v| span(n, v))).collect()
}

/// Mutable slice of an optional typed array.
///
/// # Safety
/// The caller has checked that the view overlaps no other view of the call.
unsafe fn opt_mut(v: &mut Option<Float32Array>) -> Option<&mut [f32]> {
    v.as_mut().map(|a| unsafe { a.as_mut() })
}

/// Training forward: batch statistics (saved for backward) and, when the running buffers are
/// given, their update with `momentum` (torch's; pass 1/num_batches_tracked for momentum=None).
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_forward_train(
    shape: NormShape,
    x: Float32Array,
    weight: Option<Float32Array>,
    bias: Option<Float32Array>,
    running_mean: Option<Float32Array>,
    running_var: Option<Float32Array>,
    momentum: f64,
    mut y: Float32Array,
    mut save_mean: Float32Array,
    mut save_invstd: Float32Array,
) -> Result<()> {
    let (mut rm, mut rv) = (running_mean, running_var);
    let mut all = vec![span("y", &y), span("save_mean", &save_mean), span("save_invstd", &save_invstd), span("x", &x)];
    all.extend(spans(&[("running_mean", rm.as_ref()), ("running_var", rv.as_ref()), ("weight", weight.as_ref()), ("bias", bias.as_ref())]));
    check_disjoint(&all)?;
    // SAFETY: every written view was checked not to overlap another view.
    let (y, sm, si, rm, rv) = unsafe { (y.as_mut(), save_mean.as_mut(), save_invstd.as_mut(), opt_mut(&mut rm), opt_mut(&mut rv)) };
    let running = match (rm, rv) {
        (Some(mean), Some(var)) => Some(Running { mean, var, momentum: momentum as f32 }),
        (None, None) => None,
        _ => return Err(invalid("batchNormForwardTrain: pass both running_mean and running_var, or neither")),
    };
    batchnorm::forward_train(bn(&shape), &x, weight.as_deref(), bias.as_deref(), running, y, sm, si).map_err(invalid)
}

/// Evaluation forward with the running statistics.
#[napi(catch_unwind)]
pub fn batch_norm_forward_eval(
    shape: NormShape,
    x: Float32Array,
    weight: Option<Float32Array>,
    bias: Option<Float32Array>,
    running_mean: Float32Array,
    running_var: Float32Array,
    mut y: Float32Array,
) -> Result<()> {
    let mut all = vec![span("y", &y), span("x", &x), span("running_mean", &running_mean), span("running_var", &running_var)];
    all.extend(spans(&[("weight", weight.as_ref()), ("bias", bias.as_ref())]));
    check_disjoint(&all)?;
    // SAFETY: y was checked not to overlap the inputs.
    let y = unsafe { y.as_mut() };
    batchnorm::forward_eval(bn(&shape), &x, weight.as_deref(), bias.as_deref(), &running_mean, &running_var, y).map_err(invalid)
}

/// Backward with the statistics forward used (`train`: batch statistics, which depend on x).
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    shape: NormShape,
    train: bool,
    x: Float32Array,
    dy: Float32Array,
    weight: Option<Float32Array>,
    mean: Float32Array,
    invstd: Float32Array,
    dweight: Option<Float32Array>,
    dbias: Option<Float32Array>,
    dx: Option<Float32Array>,
) -> Result<()> {
    let (mut dw, mut db, mut dx) = (dweight, dbias, dx);
    let mut all = spans(&[("dweight", dw.as_ref()), ("dbias", db.as_ref()), ("dx", dx.as_ref()), ("weight", weight.as_ref())]);
    all.extend([span("x", &x), span("dy", &dy), span("mean", &mean), span("invstd", &invstd)]);
    check_disjoint(&all)?;
    // SAFETY: every written view was checked not to overlap another view.
    let (dw, db, dx) = unsafe { (opt_mut(&mut dw), opt_mut(&mut db), opt_mut(&mut dx)) };
    batchnorm::backward(bn(&shape), train, &x, &dy, weight.as_deref(), &mean, &invstd, dw, db, dx).map_err(invalid)
}

/// LayerNorm (`group` false: rows [batch, channels * spatial]) or GroupNorm (`group` true):
/// normalises, saving mean and rstd per row / per (sample, group).
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn norm_forward(
    shape: NormShape,
    group: bool,
    x: Float32Array,
    weight: Option<Float32Array>,
    bias: Option<Float32Array>,
    mut y: Float32Array,
    mut save_mean: Float32Array,
    mut save_rstd: Float32Array,
) -> Result<()> {
    let mut all = vec![span("y", &y), span("save_mean", &save_mean), span("save_rstd", &save_rstd), span("x", &x)];
    all.extend(spans(&[("weight", weight.as_ref()), ("bias", bias.as_ref())]));
    check_disjoint(&all)?;
    // SAFETY: the written views were checked not to overlap each other or the inputs.
    let (y, sm, sr) = unsafe { (y.as_mut(), save_mean.as_mut(), save_rstd.as_mut()) };
    let (w, b) = (weight.as_deref(), bias.as_deref());
    if group {
        norm::group_norm_forward(gn(&shape), &x, w, b, y, sm, sr)
    } else {
        norm::layer_norm_forward(ln(&shape), &x, w, b, y, sm, sr)
    }
    .map_err(invalid)
}

/// Backward of `normForward`: accumulates dweight/dbias, writes dx (each when given).
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn norm_backward(
    shape: NormShape,
    group: bool,
    x: Float32Array,
    dy: Float32Array,
    weight: Option<Float32Array>,
    mean: Float32Array,
    rstd: Float32Array,
    dweight: Option<Float32Array>,
    dbias: Option<Float32Array>,
    dx: Option<Float32Array>,
) -> Result<()> {
    let (mut dw, mut db, mut dx) = (dweight, dbias, dx);
    let mut all = spans(&[("dweight", dw.as_ref()), ("dbias", db.as_ref()), ("dx", dx.as_ref()), ("weight", weight.as_ref())]);
    all.extend([span("x", &x), span("dy", &dy), span("mean", &mean), span("rstd", &rstd)]);
    check_disjoint(&all)?;
    // SAFETY: every written view was checked not to overlap another view.
    let (dw, db, dx) = unsafe { (opt_mut(&mut dw), opt_mut(&mut db), opt_mut(&mut dx)) };
    let w = weight.as_deref();
    if group {
        norm::group_norm_backward(gn(&shape), &x, &dy, w, &mean, &rstd, dw, db, dx)
    } else {
        norm::layer_norm_backward(ln(&shape), &x, &dy, w, &mean, &rstd, dw, db, dx)
    }
    .map_err(invalid)
}
