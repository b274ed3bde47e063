//! Host buffers a collective works on: float32 (gradients, parameters), float64 (int64 buffers
//! held as exact integers, scalars) and bytes (serialized evaluation results).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    U8,
}

impl Dtype {
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
            Dtype::U8 => 1,
        }
    }
}

pub enum Buf<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    U8(&'a [u8]),
}

pub enum BufMut<'a> {
    F32(&'a mut [f32]),
    F64(&'a mut [f64]),
    U8(&'a mut [u8]),
}

impl Buf<'_> {
    pub fn len(&self) -> usize {
        match self {
            Buf::F32(d) => d.len(),
            Buf::F64(d) => d.len(),
            Buf::U8(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> Dtype {
        match self {
            Buf::F32(_) => Dtype::F32,
            Buf::F64(_) => Dtype::F64,
            Buf::U8(_) => Dtype::U8,
        }
    }

    /// The bytes behind the elements (what a byte transport sends).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: f32/f64/u8 have no padding and every bit pattern is a valid u8.
        unsafe {
            match self {
                Buf::F32(d) => std::slice::from_raw_parts(d.as_ptr().cast(), d.len() * 4),
                Buf::F64(d) => std::slice::from_raw_parts(d.as_ptr().cast(), d.len() * 8),
                Buf::U8(d) => d,
            }
        }
    }
}

impl BufMut<'_> {
    pub fn len(&self) -> usize {
        match self {
            BufMut::F32(d) => d.len(),
            BufMut::F64(d) => d.len(),
            BufMut::U8(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> Dtype {
        match self {
            BufMut::F32(_) => Dtype::F32,
            BufMut::F64(_) => Dtype::F64,
            BufMut::U8(_) => Dtype::U8,
        }
    }

    /// Reborrows, so a buffer can be handed to a collective and used again afterwards.
    pub fn reborrow(&mut self) -> BufMut<'_> {
        match self {
            BufMut::F32(d) => BufMut::F32(d),
            BufMut::F64(d) => BufMut::F64(d),
            BufMut::U8(d) => BufMut::U8(d),
        }
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: f32/f64/u8 have no padding and every bit pattern is valid for them.
        unsafe {
            match self {
                BufMut::F32(d) => std::slice::from_raw_parts_mut(d.as_mut_ptr().cast(), d.len() * 4),
                BufMut::F64(d) => std::slice::from_raw_parts_mut(d.as_mut_ptr().cast(), d.len() * 8),
                BufMut::U8(d) => d,
            }
        }
    }
}
