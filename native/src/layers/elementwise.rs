//! Element-wise bindings: GELU, Sigmoid, Tanh and seeded Dropout; backwards scale the incoming
//! gradient in place.

use anvil_layers::{activation, dropout};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

/// Which element-wise function: 'gelu', 'gelu_tanh', 'sigmoid' or 'tanh'.
fn kind(name: &str) -> Result<u8> {
    match name {
        "gelu" => Ok(0),
        "gelu_tanh" => Ok(1),
        "sigmoid" => Ok(2),
        "tanh" => Ok(3),
        other => Err(invalid(format!("unknown activation '{other}' (gelu, gelu_tanh, sigmoid, tanh)"))),
    }
}

/// `y = f(x)` for the named activation.
#[napi(catch_unwind)]
pub fn activation_forward(name: String, x: Float32Array, mut y: Float32Array) -> Result<()> {
    check_disjoint(&[span("y", &y), span("x", &x)])?;
    // SAFETY: y was checked not to overlap x.
    let y = unsafe { y.as_mut() };
    match kind(&name)? {
        0 => activation::gelu_forward(&x, y, false),
        1 => activation::gelu_forward(&x, y, true),
        2 => activation::sigmoid_forward(&x, y),
        _ => activation::tanh_forward(&x, y),
    }
    .map_err(invalid)
}

/// `dy *= f'(.)` in place; `saved` is the forward input for GELU, the output for Sigmoid/Tanh.
#[napi(catch_unwind)]
pub fn activation_backward(name: String, saved: Float32Array, mut dy: Float32Array) -> Result<()> {
    check_disjoint(&[span("dy", &dy), span("saved", &saved)])?;
    // SAFETY: dy was checked not to overlap the saved activations.
    let dy = unsafe { dy.as_mut() };
    match kind(&name)? {
        0 => activation::gelu_backward(&saved, dy, false),
        1 => activation::gelu_backward(&saved, dy, true),
        2 => activation::sigmoid_backward(&saved, dy),
        _ => activation::tanh_backward(&saved, dy),
    }
    .map_err(invalid)
}

/// Dropout with probability `p`: writes the mask (0 or 1/(1-p)) drawn from `seed` and `y = x * mask`.
#[napi(catch_unwind)]
pub fn dropout_forward(x: Float32Array, p: f64, seed: u32, mut mask: Float32Array, mut y: Float32Array) -> Result<()> {
    check_disjoint(&[span("mask", &mask), span("y", &y), span("x", &x)])?;
    // SAFETY: mask and y were checked not to overlap each other or x.
    let (mask, y) = unsafe { (mask.as_mut(), y.as_mut()) };
    dropout::forward(&x, p as f32, u64::from(seed), mask, y).map_err(invalid)
}

/// `dy *= mask` in place.
#[napi(catch_unwind)]
pub fn dropout_backward(mask: Float32Array, mut dy: Float32Array) -> Result<()> {
    check_disjoint(&[span("dy", &dy), span("mask", &mask)])?;
    // SAFETY: dy was checked not to overlap mask.
    dropout::backward(&mask, unsafe { dy.as_mut() }).map_err(invalid)
}
