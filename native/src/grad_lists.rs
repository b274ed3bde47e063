//! Gradient buffers and tensor lists from JS for clipping, loss scaling and averaging: typed
//! arrays checked not to overlap (sorted, so long lists stay cheap), then handed over as slices.

use anvil_kernels::grads::{Dtype, GradData, GradList};
use anvil_kernels::KernelError;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::invalid;

/// Gradient tensors back to back in one buffer: a bucket's `grads` with its `offsets` and its
/// `hasGrad` flags as `include`, or a single tensor (no offsets). Exactly one of `values`
/// (float32) or `bits` (fp16/bf16 raw bits, named by `dtype`: 'float16' or 'bfloat16').
#[napi(object, object_to_js = false)]
pub struct GradBuffer {
    pub values: Option<Float32Array>,
    pub bits: Option<Uint16Array>,
    pub dtype: Option<String>,
    pub offsets: Option<Uint32Array>,
    pub include: Option<Uint8Array>,
}

/// A typed array's memory: which list, which entry, first byte, byte length.
pub struct Span {
    what: &'static str,
    index: usize,
    start: usize,
    len: usize,
}

pub fn span_of<T>(what: &'static str, index: usize, s: &[T]) -> Span {
    Span { what, index, start: s.as_ptr() as usize, len: std::mem::size_of_val(s) }
}

fn overlap(a: &Span, b: &Span) -> Error {
    invalid(format!("typed arrays {}[{}] and {}[{}] overlap; each must be its own memory", a.what, a.index, b.what, b.index))
}

/// Errors when two written views overlap, or a read view overlaps a written one (read views may
/// share memory with each other). Sorting makes this O(n log n) for lists of thousands of tensors.
pub fn check_spans(mut written: Vec<Span>, read: &[Span]) -> Result<()> {
    written.retain(|s| s.len > 0);
    written.sort_by_key(|s| s.start);
    for w in written.windows(2) {
        if w[1].start < w[0].start + w[0].len {
            return Err(overlap(&w[0], &w[1]));
        }
    }
    // Disjoint sorted spans also have sorted ends: find the first one ending after `r` starts.
    for r in read.iter().filter(|r| r.len > 0) {
        let i = written.partition_point(|w| w.start + w.len <= r.start);
        if let Some(w) = written.get(i) {
            if w.start < r.start + r.len {
                return Err(overlap(w, r));
            }
        }
    }
    Ok(())
}

/// Checks the buffers (one data array each, none overlapping) and runs `f` on them as kernel lists.
pub fn with_grad_lists<R>(buffers: &mut [GradBuffer], f: impl FnOnce(&mut [GradList<'_>]) -> std::result::Result<R, KernelError>) -> Result<R> {
    let mut spans = Vec::with_capacity(buffers.len());
    let mut layout = Vec::new();
    for (i, b) in buffers.iter().enumerate() {
        spans.push(match (&b.values, &b.bits) {
            (Some(v), None) => span_of("grads", i, v),
            (None, Some(bits)) => span_of("grads", i, bits),
            _ => return Err(invalid(format!("grads[{i}]: give exactly one of 'values' (float32) or 'bits' (fp16/bf16 with 'dtype')"))),
        });
        layout.extend(b.offsets.as_deref().map(|o| span_of("offsets", i, o)));
        layout.extend(b.include.as_deref().map(|f| span_of("include", i, f)));
    }
    // The gradients are written; offsets and flags are read while they are.
    check_spans(spans, &layout)?;
    let mut lists = Vec::with_capacity(buffers.len());
    for (i, b) in buffers.iter_mut().enumerate() {
        let GradBuffer { values, bits, dtype, offsets, include } = b;
        let dtype = dtype.as_deref().map(Dtype::parse).transpose().map_err(|e| invalid(format!("grads[{i}]: {e}")))?;
        let data = match (values, bits) {
            (Some(v), _) if dtype.is_none_or(|d| d == Dtype::F32) => {
                // SAFETY: every buffer was checked above not to overlap another.
                GradData::F32(unsafe { v.as_mut() })
            }
            (Some(_), _) => return Err(invalid(format!("grads[{i}]: float32 'values' with dtype '{}'", dtype_name(dtype)))),
            (_, Some(bits)) => {
                let dtype = dtype.ok_or_else(|| invalid(format!("grads[{i}]: 16-bit 'bits' need a 'dtype' ('float16' or 'bfloat16')")))?;
                // SAFETY: as above.
                GradData::from_bits(unsafe { bits.as_mut() }, dtype).map_err(|e| invalid(format!("grads[{i}]: {e}")))?
            }
            (None, None) => unreachable!("checked above"),
        };
        lists.push(GradList::new(data, offsets.as_deref(), include.as_deref()).map_err(|e| invalid(format!("grads[{i}]: {e}")))?);
    }
    f(&mut lists).map_err(invalid)
}

fn dtype_name(d: Option<Dtype>) -> &'static str {
    match d {
        Some(Dtype::F16) => "float16",
        Some(Dtype::Bf16) => "bfloat16",
        _ => "float32",
    }
}
