//! Conv2d bindings: NCHW typed arrays and a shape object in, outputs and gradients written in
//! place (the math is anvil_layers::conv).

use anvil_layers::conv::{self, Conv2dDims};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

/// One Conv2d call's shapes: x [batch, inChannels, height, width], weight
/// [outChannels, inChannels / groups, kernelH, kernelW].
#[napi(object, js_name = "Conv2dShape")]
pub struct Conv2dShape {
    pub batch: u32,
    pub in_channels: u32,
    pub out_channels: u32,
    pub height: u32,
    pub width: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub pad_h: u32,
    pub pad_w: u32,
    pub dilation_h: u32,
    pub dilation_w: u32,
    pub groups: u32,
}

impl From<&Conv2dShape> for Conv2dDims {
    fn from(s: &Conv2dShape) -> Self {
        let u = |v: u32| v as usize;
        Conv2dDims {
            batch: u(s.batch),
            in_channels: u(s.in_channels),
            out_channels: u(s.out_channels),
            height: u(s.height),
            width: u(s.width),
            kernel: [u(s.kernel_h), u(s.kernel_w)],
            stride: [u(s.stride_h), u(s.stride_w)],
            padding: [u(s.pad_h), u(s.pad_w)],
            dilation: [u(s.dilation_h), u(s.dilation_w)],
            groups: u(s.groups),
        }
    }
}

/// `[outH, outW]` of a Conv2d, or an error naming what does not fit.
#[napi(catch_unwind, js_name = "conv2dOutputSize")]
pub fn conv2d_output_size(shape: Conv2dShape) -> Result<Vec<u32>> {
    let (h, w) = Conv2dDims::from(&shape).output_size().map_err(invalid)?;
    Ok(vec![h as u32, w as u32])
}

/// `y = conv2d(x, W) + b` (no bias when `b` is null).
#[napi(catch_unwind, js_name = "conv2dForward")]
pub fn conv2d_forward(shape: Conv2dShape, x: Float32Array, w: Float32Array, b: Option<Float32Array>, mut y: Float32Array) -> Result<()> {
    let mut spans = vec![span("y", &y), span("x", &x), span("weight", &w)];
    if let Some(b) = &b {
        spans.push(span("bias", b));
    }
    check_disjoint(&spans)?;
    // SAFETY: y was checked not to overlap the inputs.
    let y = unsafe { y.as_mut() };
    conv::forward((&shape).into(), &x, &w, b.as_deref(), y).map_err(invalid)
}

/// Accumulates `dW` and `db` (when given); writes `dx` when given.
#[napi(catch_unwind, js_name = "conv2dBackward")]
pub fn conv2d_backward(
    shape: Conv2dShape,
    x: Float32Array,
    w: Float32Array,
    dy: Float32Array,
    mut dw: Float32Array,
    db: Option<Float32Array>,
    dx: Option<Float32Array>,
) -> Result<()> {
    let (mut db, mut dx) = (db, dx);
    let mut spans = vec![span("dw", &dw)];
    spans.extend(db.as_ref().map(|v| span("db", v)));
    spans.extend(dx.as_ref().map(|v| span("dx", v)));
    spans.extend([span("x", &x), span("weight", &w), span("dy", &dy)]);
    check_disjoint(&spans)?;
    // SAFETY: the written views were checked not to overlap each other or the inputs.
    let (dw, db, dx) = unsafe { (dw.as_mut(), db.as_mut().map(|v| v.as_mut()), dx.as_mut().map(|v| v.as_mut())) };
    conv::backward((&shape).into(), &x, &w, &dy, dw, db, dx).map_err(invalid)
}
