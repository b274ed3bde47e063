//! Loss and Embedding bindings: reduced losses return their value and write `scale * dloss/dinput`
//! (CrossEntropyLoss also per position, forward and backward);
//! Embedding gathers rows forward and scatter-adds backward.

use anvil_layers::cross_entropy::{self, CrossEntropyDims, CrossEntropyOptions, Reduction, Target};
use anvil_layers::{embedding, loss};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

fn reduction(name: &str) -> Result<Reduction> {
    match name {
        "mean" => Ok(Reduction::Mean),
        "sum" => Ok(Reduction::Sum),
        other => Err(invalid(format!("reduction must be 'mean' or 'sum', got '{other}'"))),
    }
}

/// CrossEntropyLoss options; logits are [batch, classes, spatial].
#[napi(object)]
pub struct CrossEntropyShape {
    pub batch: u32,
    pub classes: u32,
    pub spatial: u32,
    pub ignore_index: i32,
    pub label_smoothing: f64,
}

/// Exactly one of class indices [batch, spatial] and probabilities (shaped as the logits).
fn target<'a>(targets: &'a Option<Int32Array>, probs: &'a Option<Float32Array>) -> Result<Target<'a>> {
    match (targets, probs) {
        (Some(t), None) => Ok(Target::Classes(t)),
        (None, Some(q)) => Ok(Target::Probs(q)),
        _ => Err(invalid("CrossEntropyLoss: give exactly one of class-index targets and probability targets")),
    }
}

fn ce_parts(shape: &CrossEntropyShape) -> CrossEntropyDims {
    CrossEntropyDims { batch: shape.batch as usize, classes: shape.classes as usize, spatial: shape.spatial as usize }
}

/// The spans of the read-only inputs, after the written one.
fn ce_spans(
    written: [(&'static str, usize, usize); 1],
    logits: &Float32Array,
    targets: &Option<Int32Array>,
    probs: &Option<Float32Array>,
    weight: &Option<Float32Array>,
) -> Vec<(&'static str, usize, usize)> {
    let mut spans = written.to_vec();
    spans.push(span("logits", logits));
    spans.extend(targets.as_ref().map(|t| span("targets", t)));
    spans.extend(probs.as_ref().map(|q| span("probability targets", q)));
    spans.extend(weight.as_ref().map(|w| span("weight", w)));
    spans
}

/// Reduced ('mean' / 'sum') loss; writes `dlogits = scale * dloss/dlogits`.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_loss(
    shape: CrossEntropyShape,
    reduction_name: String,
    logits: Float32Array,
    targets: Option<Int32Array>,
    probs: Option<Float32Array>,
    weight: Option<Float32Array>,
    scale: f64,
    mut dlogits: Float32Array,
) -> Result<f64> {
    check_disjoint(&ce_spans([span("dlogits", &dlogits)], &logits, &targets, &probs, &weight))?;
    let o = CrossEntropyOptions { weight: weight.as_deref(), ignore_index: shape.ignore_index, label_smoothing: shape.label_smoothing as f32 };
    let red = reduction(&reduction_name)?;
    // SAFETY: dlogits was checked not to overlap the inputs.
    cross_entropy::forward_backward(ce_parts(&shape), &logits, target(&targets, &probs)?, &o, red, scale as f32, unsafe { dlogits.as_mut() })
        .map_err(invalid)
}

/// reduction='none': writes the per-position losses [batch, spatial].
#[napi(catch_unwind)]
pub fn cross_entropy_loss_none(
    shape: CrossEntropyShape,
    logits: Float32Array,
    targets: Option<Int32Array>,
    probs: Option<Float32Array>,
    weight: Option<Float32Array>,
    mut losses: Float32Array,
) -> Result<()> {
    check_disjoint(&ce_spans([span("losses", &losses)], &logits, &targets, &probs, &weight))?;
    let o = CrossEntropyOptions { weight: weight.as_deref(), ignore_index: shape.ignore_index, label_smoothing: shape.label_smoothing as f32 };
    // SAFETY: losses was checked not to overlap the inputs.
    cross_entropy::forward_none(ce_parts(&shape), &logits, target(&targets, &probs)?, &o, unsafe { losses.as_mut() }).map_err(invalid)
}

/// reduction='none' backward: `dlogits = sum dlosses * dloss/dlogits`.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_loss_none_backward(
    shape: CrossEntropyShape,
    logits: Float32Array,
    targets: Option<Int32Array>,
    probs: Option<Float32Array>,
    weight: Option<Float32Array>,
    dlosses: Float32Array,
    mut dlogits: Float32Array,
) -> Result<()> {
    let mut spans = ce_spans([span("dlogits", &dlogits)], &logits, &targets, &probs, &weight);
    spans.push(span("dlosses", &dlosses));
    check_disjoint(&spans)?;
    let o = CrossEntropyOptions { weight: weight.as_deref(), ignore_index: shape.ignore_index, label_smoothing: shape.label_smoothing as f32 };
    // SAFETY: dlogits was checked not to overlap the inputs.
    cross_entropy::backward_none(ce_parts(&shape), &logits, target(&targets, &probs)?, &o, &dlosses, unsafe { dlogits.as_mut() })
        .map_err(invalid)
}

/// MSELoss; writes `dinput = scale * dloss/dinput`.
#[napi(catch_unwind)]
pub fn mse_loss(input: Float32Array, target: Float32Array, reduction_name: String, scale: f64, mut dinput: Float32Array) -> Result<f64> {
    check_disjoint(&[span("dinput", &dinput), span("input", &input), span("target", &target)])?;
    // SAFETY: dinput was checked not to overlap the inputs.
    loss::mse(&input, &target, reduction(&reduction_name)?, scale as f32, unsafe { dinput.as_mut() }).map_err(invalid)
}

/// BCEWithLogitsLoss; `weight` and `posWeight` broadcast along the last dimension.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn bce_with_logits_loss(
    input: Float32Array,
    target: Float32Array,
    weight: Option<Float32Array>,
    pos_weight: Option<Float32Array>,
    reduction_name: String,
    scale: f64,
    mut dinput: Float32Array,
) -> Result<f64> {
    let mut spans = vec![span("dinput", &dinput), span("input", &input), span("target", &target)];
    spans.extend(weight.as_ref().map(|w| span("weight", w)));
    spans.extend(pos_weight.as_ref().map(|w| span("pos_weight", w)));
    check_disjoint(&spans)?;
    let red = reduction(&reduction_name)?;
    // SAFETY: dinput was checked not to overlap the inputs.
    loss::bce_with_logits(&input, &target, weight.as_deref(), pos_weight.as_deref(), red, scale as f32, unsafe { dinput.as_mut() }).map_err(invalid)
}

/// `y[i] = W[indices[i]]` for W [numEmbeddings, dim].
#[napi(catch_unwind)]
pub fn embedding_forward(indices: Uint32Array, w: Float32Array, num_embeddings: u32, dim: u32, mut y: Float32Array) -> Result<()> {
    check_disjoint(&[span("y", &y), span("weight", &w), span("indices", &indices)])?;
    // SAFETY: y was checked not to overlap the inputs.
    embedding::forward(&indices, &w, num_embeddings as usize, dim as usize, unsafe { y.as_mut() }).map_err(invalid)
}

/// `dW[indices[i]] += dy[i]`, skipping `paddingIdx`.
#[napi(catch_unwind)]
pub fn embedding_backward(indices: Uint32Array, dy: Float32Array, num_embeddings: u32, dim: u32, padding_idx: Option<u32>, mut dw: Float32Array) -> Result<()> {
    check_disjoint(&[span("dw", &dw), span("dy", &dy), span("indices", &indices)])?;
    // SAFETY: dw was checked not to overlap the inputs.
    embedding::backward(&indices, &dy, num_embeddings as usize, dim as usize, padding_idx, unsafe { dw.as_mut() }).map_err(invalid)
}
