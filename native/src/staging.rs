//! Half-precision gradient staging bindings: a bucket's fp16/bf16 gradient bits widened into a
//! float32 staging array that models add into, and rounded back before anything reads them.

use anvil_kernels::grads::{Dtype, GradData};
use anvil_kernels::staging;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::{check_disjoint, invalid, span};

fn half(dtype: &str) -> Result<Dtype> {
    match Dtype::parse(dtype).map_err(invalid)? {
        Dtype::F32 => Err(invalid("staging converts 16-bit gradients: dtype must be 'float16' or 'bfloat16'")),
        d => Ok(d),
    }
}

/// `staged` = the values of the `dtype` bits in `bits`.
#[napi(catch_unwind)]
pub fn widen_grad_bits(mut bits: Uint16Array, dtype: String, mut staged: Float32Array) -> Result<()> {
    let d = half(&dtype)?;
    check_disjoint(&[span("bits", &bits), span("staged", &staged)])?;
    // SAFETY: the two views were checked not to overlap.
    let (src, dst) = unsafe { (bits.as_mut(), staged.as_mut()) };
    staging::widen(&GradData::from_bits(src, d).map_err(invalid)?, dst).map_err(invalid)
}

/// `bits` = `staged` rounded to `dtype` (nearest even; overflow becomes infinity).
#[napi(catch_unwind)]
pub fn narrow_grad_bits(staged: Float32Array, dtype: String, mut bits: Uint16Array) -> Result<()> {
    let d = half(&dtype)?;
    check_disjoint(&[span("staged", &staged), span("bits", &bits)])?;
    // SAFETY: the two views were checked not to overlap.
    let dst = unsafe { bits.as_mut() };
    staging::narrow(&staged, &mut GradData::from_bits(dst, d).map_err(invalid)?).map_err(invalid)
}
