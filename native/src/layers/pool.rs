//! Spatial bindings over NCHW planes: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d and
//! Upsample (nearest, bilinear); input gradients are overwritten.

use anvil_layers::pool::{self, AvgOptions, Pool2dDims};
use anvil_layers::upsample::{self, Mode, UpsampleDims};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

/// A pooling window over `planes` (= batch * channels) planes of height x width.
#[napi(object)]
pub struct PoolShape {
    pub planes: u32,
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
    pub ceil_mode: bool,
}

fn dims(s: &PoolShape) -> Pool2dDims {
    let u = |v: u32| v as usize;
    Pool2dDims {
        planes: u(s.planes),
        height: u(s.height),
        width: u(s.width),
        kernel: [u(s.kernel_h), u(s.kernel_w)],
        stride: [u(s.stride_h), u(s.stride_w)],
        padding: [u(s.pad_h), u(s.pad_w)],
        dilation: [u(s.dilation_h), u(s.dilation_w)],
        ceil_mode: s.ceil_mode,
    }
}

/// `[outH, outW]` of a pooling window (torch's rules), or why it does not fit.
#[napi(catch_unwind, js_name = "pool2dOutputSize")]
pub fn pool2d_output_size(shape: PoolShape) -> Result<Vec<u32>> {
    let (h, w) = dims(&shape).output_size().map_err(invalid)?;
    Ok(vec![h as u32, w as u32])
}

/// Max over each window; `argmax` receives the winning index inside each plane.
#[napi(catch_unwind, js_name = "maxPool2dForward")]
pub fn max_pool2d_forward(shape: PoolShape, x: Float32Array, mut y: Float32Array, mut argmax: Uint32Array) -> Result<()> {
    check_disjoint(&[span("y", &y), span("argmax", &argmax), span("x", &x)])?;
    // SAFETY: y and argmax were checked not to overlap each other or x.
    let (y, a) = unsafe { (y.as_mut(), argmax.as_mut()) };
    pool::max_pool_forward(dims(&shape), &x, y, a).map_err(invalid)
}

#[napi(catch_unwind, js_name = "maxPool2dBackward")]
pub fn max_pool2d_backward(shape: PoolShape, dy: Float32Array, argmax: Uint32Array, mut dx: Float32Array) -> Result<()> {
    check_disjoint(&[span("dx", &dx), span("dy", &dy), span("argmax", &argmax)])?;
    // SAFETY: dx was checked not to overlap the inputs.
    pool::max_pool_backward(dims(&shape), &dy, &argmax, unsafe { dx.as_mut() }).map_err(invalid)
}

fn avg(count_include_pad: bool, divisor_override: Option<u32>) -> AvgOptions {
    AvgOptions { count_include_pad, divisor_override: divisor_override.map(|v| v as usize) }
}

#[napi(catch_unwind, js_name = "avgPool2dForward")]
pub fn avg_pool2d_forward(shape: PoolShape, count_include_pad: bool, divisor_override: Option<u32>, x: Float32Array, mut y: Float32Array) -> Result<()> {
    check_disjoint(&[span("y", &y), span("x", &x)])?;
    // SAFETY: y was checked not to overlap x.
    pool::avg_pool_forward(dims(&shape), avg(count_include_pad, divisor_override), &x, unsafe { y.as_mut() }).map_err(invalid)
}

#[napi(catch_unwind, js_name = "avgPool2dBackward")]
pub fn avg_pool2d_backward(shape: PoolShape, count_include_pad: bool, divisor_override: Option<u32>, dy: Float32Array, mut dx: Float32Array) -> Result<()> {
    check_disjoint(&[span("dx", &dx), span("dy", &dy)])?;
    // SAFETY: dx was checked not to overlap dy.
    pool::avg_pool_backward(dims(&shape), avg(count_include_pad, divisor_override), &dy, unsafe { dx.as_mut() }).map_err(invalid)
}

/// x [planes, height, width] -> y [planes, outH, outW].
#[napi(catch_unwind, js_name = "adaptiveAvgPool2dForward")]
#[allow(clippy::too_many_arguments)]
pub fn adaptive_avg_pool2d_forward(planes: u32, height: u32, width: u32, out_h: u32, out_w: u32, x: Float32Array, mut y: Float32Array) -> Result<()> {
    check_disjoint(&[span("y", &y), span("x", &x)])?;
    let (hw, out) = ([height as usize, width as usize], [out_h as usize, out_w as usize]);
    // SAFETY: y was checked not to overlap x.
    pool::adaptive_avg_pool_forward(planes as usize, hw, out, &x, unsafe { y.as_mut() }).map_err(invalid)
}

#[napi(catch_unwind, js_name = "adaptiveAvgPool2dBackward")]
#[allow(clippy::too_many_arguments)]
pub fn adaptive_avg_pool2d_backward(planes: u32, height: u32, width: u32, out_h: u32, out_w: u32, dy: Float32Array, mut dx: Float32Array) -> Result<()> {
    check_disjoint(&[span("dx", &dx), span("dy", &dy)])?;
    let (hw, out) = ([height as usize, width as usize], [out_h as usize, out_w as usize]);
    // SAFETY: dx was checked not to overlap dy.
    pool::adaptive_avg_pool_backward(planes as usize, hw, out, &dy, unsafe { dx.as_mut() }).map_err(invalid)
}

/// Upsample of `planes` planes: `mode` 'nearest' or 'bilinear' (`alignCorners` only for bilinear);
/// `scaleH`/`scaleW` are the user's scale factors when given.
#[napi(object)]
pub struct UpsampleShape {
    pub planes: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub mode: String,
    pub align_corners: bool,
    pub scale_h: Option<f64>,
    pub scale_w: Option<f64>,
}

fn upsample_dims(s: &UpsampleShape) -> Result<UpsampleDims> {
    let mode = match s.mode.as_str() {
        "nearest" => Mode::Nearest,
        "bilinear" => Mode::Bilinear { align_corners: s.align_corners },
        other => return Err(invalid(format!("Upsample: mode must be 'nearest' or 'bilinear', got '{other}'"))),
    };
    Ok(UpsampleDims {
        planes: s.planes as usize,
        input: [s.in_h as usize, s.in_w as usize],
        output: [s.out_h as usize, s.out_w as usize],
        mode,
        scale_factor: [s.scale_h, s.scale_w],
    })
}

#[napi(catch_unwind)]
pub fn upsample_forward(shape: UpsampleShape, x: Float32Array, mut y: Float32Array) -> Result<()> {
    check_disjoint(&[span("y", &y), span("x", &x)])?;
    // SAFETY: y was checked not to overlap x.
    upsample::forward(upsample_dims(&shape)?, &x, unsafe { y.as_mut() }).map_err(invalid)
}

#[napi(catch_unwind)]
pub fn upsample_backward(shape: UpsampleShape, dy: Float32Array, mut dx: Float32Array) -> Result<()> {
    check_disjoint(&[span("dx", &dx), span("dy", &dy)])?;
    // SAFETY: dx was checked not to overlap dy.
    upsample::backward(upsample_dims(&shape)?, &dy, unsafe { dx.as_mut() }).map_err(invalid)
}
