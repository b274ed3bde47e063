//! Lists of gradient tensors for clipping and loss scaling: one buffer of tensors back to back
//! (a bucket's gradients, or a single tensor), its element type, and which tensors take part.

use std::ops::Range;

use half::slice::HalfBitsSliceExt;
use half::{bf16, f16};

use crate::error::KernelError;

/// Element type of a gradient buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    Bf16,
}

impl Dtype {
    /// torch's names: `float32`, `float16`, `bfloat16` (`half` and `float` too).
    pub fn parse(name: &str) -> Result<Dtype, KernelError> {
        match name {
            "float32" | "float" => Ok(Dtype::F32),
            "float16" | "half" => Ok(Dtype::F16),
            "bfloat16" => Ok(Dtype::Bf16),
            _ => Err(KernelError::new(format!("unknown gradient dtype '{name}' (expected float32, float16 or bfloat16)"))),
        }
    }
}

pub enum GradData<'a> {
    F32(&'a mut [f32]),
    F16(&'a mut [f16]),
    Bf16(&'a mut [bf16]),
}

impl<'a> GradData<'a> {
    /// Half-precision gradients from their raw bits (JS has no Float16Array in Node 20).
    pub fn from_bits(bits: &'a mut [u16], dtype: Dtype) -> Result<Self, KernelError> {
        match dtype {
            Dtype::F16 => Ok(GradData::F16(bits.reinterpret_cast_mut())),
            Dtype::Bf16 => Ok(GradData::Bf16(bits.reinterpret_cast_mut())),
            Dtype::F32 => Err(KernelError::new("float32 gradients come as f32 values, not 16-bit words")),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            GradData::F32(d) => d.len(),
            GradData::F16(d) => d.len(),
            GradData::Bf16(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A read-only run of one gradient buffer (a chunk handed to a worker thread).
#[derive(Clone, Copy)]
pub enum GradSlice<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    Bf16(&'a [bf16]),
}

impl GradData<'_> {
    /// Elements `r` of the buffer, read-only.
    pub fn slice(&self, r: Range<usize>) -> GradSlice<'_> {
        match self {
            GradData::F32(d) => GradSlice::F32(&d[r]),
            GradData::F16(d) => GradSlice::F16(&d[r]),
            GradData::Bf16(d) => GradSlice::Bf16(&d[r]),
        }
    }

    /// Elements `r` of the buffer, writable.
    pub fn slice_mut(&mut self, r: Range<usize>) -> GradData<'_> {
        match self {
            GradData::F32(d) => GradData::F32(&mut d[r]),
            GradData::F16(d) => GradData::F16(&mut d[r]),
            GradData::Bf16(d) => GradData::Bf16(&mut d[r]),
        }
    }

    /// The buffer cut at ascending, disjoint `ranges`: one mutable view per range, in order.
    pub fn cut<'s>(&'s mut self, ranges: impl Iterator<Item = Range<usize>>, out: &mut Vec<GradData<'s>>) {
        fn cut_typed<'s, T>(mut d: &'s mut [T], ranges: impl Iterator<Item = Range<usize>>, wrap: fn(&'s mut [T]) -> GradData<'s>, out: &mut Vec<GradData<'s>>) {
            let mut at = 0;
            for r in ranges {
                let (_, rest) = std::mem::take(&mut d).split_at_mut(r.start - at);
                let (piece, rest) = rest.split_at_mut(r.end - r.start);
                out.push(wrap(piece));
                d = rest;
                at = r.end;
            }
        }
        match self {
            GradData::F32(d) => cut_typed(d, ranges, GradData::F32, out),
            GradData::F16(d) => cut_typed(d, ranges, GradData::F16, out),
            GradData::Bf16(d) => cut_typed(d, ranges, GradData::Bf16, out),
        }
    }
}

/// Runs `$body` with `$d` bound to the typed slice (`&mut [f32]`, `&mut [f16]` or `&mut [bf16]`),
/// so one generic kernel serves every element type.
macro_rules! with_grads {
    ($data:expr, $d:ident => $body:expr) => {
        match $data {
            $crate::grads::GradData::F32($d) => $body,
            $crate::grads::GradData::F16($d) => $body,
            $crate::grads::GradData::Bf16($d) => $body,
        }
    };
}
pub(crate) use with_grads;

/// `with_grads!` for a `GradSlice`.
macro_rules! with_slice {
    ($slice:expr, $d:ident => $body:expr) => {
        match $slice {
            $crate::grads::GradSlice::F32($d) => $body,
            $crate::grads::GradSlice::F16($d) => $body,
            $crate::grads::GradSlice::Bf16($d) => $body,
        }
    };
}
pub(crate) use with_slice;

/// Tensor `i` spans `offsets[i]..offsets[i + 1]` of `data` and takes part when `include[i] != 0`
/// (a bucket passes its `hasGrad` flags: torch skips `grad is None`). Without offsets the whole
/// buffer is one tensor; without flags every tensor takes part.
pub struct GradList<'a> {
    pub data: GradData<'a>,
    offsets: Option<&'a [u32]>,
    include: Option<&'a [u8]>,
}

impl<'a> GradList<'a> {
    pub fn new(data: GradData<'a>, offsets: Option<&'a [u32]>, include: Option<&'a [u8]>) -> Result<Self, KernelError> {
        let n = data.len();
        let tensors = match offsets {
            Some(offsets) => {
                if offsets.first() != Some(&0) {
                    return Err(KernelError::new("gradient offsets must start at 0"));
                }
                if offsets.windows(2).any(|w| w[1] < w[0]) {
                    return Err(KernelError::new("gradient offsets must be non-decreasing"));
                }
                let last = *offsets.last().unwrap() as usize;
                if last != n {
                    return Err(KernelError::new(format!("gradient offsets end at {last}, the buffer holds {n} elements")));
                }
                offsets.len() - 1
            }
            None => 1,
        };
        if let Some(include) = include {
            if include.len() != tensors {
                return Err(KernelError::new(format!("{} include flags for {tensors} gradient tensors", include.len())));
            }
        }
        Ok(GradList { data, offsets, include })
    }

    /// One whole buffer as a single tensor.
    pub fn whole(data: GradData<'a>) -> Self {
        GradList { data, offsets: None, include: None }
    }

    /// Element ranges of the included tensors, in order.
    pub fn tensors(&self) -> impl Iterator<Item = Range<usize>> + 'a {
        let (offsets, include, len) = (self.offsets, self.include, self.data.len());
        let n = offsets.map_or(1, |o| o.len() - 1);
        (0..n).filter(move |&i| include.is_none_or(|f| f[i] != 0)).map(move |i| match offsets {
            Some(o) => o[i] as usize..o[i + 1] as usize,
            None => 0..len,
        })
    }

    /// The included, non-empty tensors with neighbours merged: for element-wise passes, where
    /// tensor boundaries do not matter, a fully included bucket is one contiguous run.
    pub fn runs(&self) -> impl Iterator<Item = Range<usize>> + 'a {
        let mut tensors = self.tensors().filter(|r| !r.is_empty()).peekable();
        std::iter::from_fn(move || {
            let mut run = tensors.next()?;
            while let Some(next) = tensors.next_if(|r| r.start == run.end) {
                run.end = next.end;
            }
            Some(run)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn included_tensors_and_merged_runs() {
        let mut g = [0.0f32; 6];
        let offsets = [0, 1, 3, 3, 6];
        let list = GradList::new(GradData::F32(&mut g), Some(&offsets), Some(&[1, 1, 1, 0])).unwrap();
        assert_eq!(list.tensors().collect::<Vec<_>>(), vec![0..1, 1..3, 3..3]);
        assert_eq!(list.runs().collect::<Vec<_>>(), vec![0..3]);
        let list = GradList::new(GradData::F32(&mut g), Some(&offsets), Some(&[1, 0, 0, 1])).unwrap();
        assert_eq!(list.runs().collect::<Vec<_>>(), vec![0..1, 3..6]);
        assert_eq!(GradList::whole(GradData::F32(&mut g)).tensors().collect::<Vec<_>>(), vec![0..6]);
    }

    #[test]
    fn bad_layouts_are_errors() {
        let mut g = [0.0f32; 4];
        let e = |o: &[u32], f: Option<&[u8]>| GradList::new(GradData::F32(&mut [0.0f32; 4]), Some(o), f).err().unwrap().0;
        assert!(e(&[1, 4], None).contains("start at 0"));
        assert!(e(&[0, 3, 2, 4], None).contains("non-decreasing"));
        assert!(e(&[0, 3], None).contains("end at 3"));
        assert!(e(&[0, 4], Some(&[1, 1])).contains("2 include flags for 1"));
        assert!(GradList::new(GradData::F32(&mut g), None, Some(&[1])).is_ok());
        let mut bits = [0u16; 2];
        assert!(GradData::from_bits(&mut bits, Dtype::F32).is_err());
        assert_eq!(Dtype::parse("bfloat16"), Ok(Dtype::Bf16));
        assert!(Dtype::parse("int8").unwrap_err().0.contains("unknown gradient dtype 'int8'"));
    }
}
