//! Gradient staging for half-precision buckets: models add float32 gradients into a staging
//! copy that is widened from, and rounded back to, the bucket's fp16/bf16 bits as kernels round.

use crate::elem::Element;
use crate::error::KernelError;
use crate::grads::GradData;

fn check(a: usize, b: usize) -> Result<(), KernelError> {
    if a == b {
        Ok(())
    } else {
        Err(KernelError::new(format!("staging holds {b} values, the gradients {a}")))
    }
}

fn widen_into<G: Element>(src: &[G], dst: &mut [f32]) {
    let mut at = 0;
    G::read_tiles(src, |t| {
        dst[at..at + t.len()].copy_from_slice(t);
        at += t.len();
    });
}

fn narrow_into<G: Element>(src: &[f32], dst: &mut [G]) {
    let mut at = 0;
    G::update_tiles(dst, |t| {
        t.copy_from_slice(&src[at..at + t.len()]);
        at += t.len();
    });
}

/// `dst` = the values of `src`.
pub fn widen(src: &GradData<'_>, dst: &mut [f32]) -> Result<(), KernelError> {
    check(src.len(), dst.len())?;
    match src {
        GradData::F32(s) => dst.copy_from_slice(s),
        GradData::F16(s) => widen_into(s, dst),
        GradData::Bf16(s) => widen_into(s, dst),
    }
    Ok(())
}

/// `dst` = `src` rounded to the gradient type (nearest even; overflow becomes infinity).
pub fn narrow(src: &[f32], dst: &mut GradData<'_>) -> Result<(), KernelError> {
    check(dst.len(), src.len())?;
    match dst {
        GradData::F32(d) => d.copy_from_slice(src),
        GradData::F16(d) => narrow_into(src, d),
        GradData::Bf16(d) => narrow_into(src, d),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grads::Dtype;

    #[test]
    fn round_trips_and_rounds_like_the_kernels() {
        let values = [1.0f32, 1.0 + 1.0 / 4096.0, 70000.0, -0.5, 1e-8];
        let mut bits = [0u16; 5];
        narrow(&values, &mut GradData::from_bits(&mut bits, Dtype::F16).unwrap()).unwrap();
        let mut back = [0f32; 5];
        widen(&GradData::from_bits(&mut bits, Dtype::F16).unwrap(), &mut back).unwrap();
        // 1 + 2^-12 rounds to 1 in fp16 (ties to even); 70000 overflows to inf; 1e-8 flushes to 0.
        assert_eq!(back, [1.0, 1.0, f32::INFINITY, -0.5, 0.0]);
        narrow(&values, &mut GradData::from_bits(&mut bits, Dtype::Bf16).unwrap()).unwrap();
        widen(&GradData::from_bits(&mut bits, Dtype::Bf16).unwrap(), &mut back).unwrap();
        assert_eq!(back[2], 70144.0);
        assert!(narrow(&values[..2], &mut GradData::from_bits(&mut bits, Dtype::Bf16).unwrap()).is_err());
    }
}
