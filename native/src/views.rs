//! Mutable slices over JS typed arrays, refusing overlapping views (two `subarray`s of one
//! buffer), which would otherwise alias two `&mut` slices.

use napi::bindgen_prelude::*;

pub fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, msg.to_string())
}

/// `(address, byte length)` of each named view; errors if any two writable ones overlap.
pub fn check_disjoint(views: &[(&str, usize, usize)]) -> Result<()> {
    for (i, &(a, a0, alen)) in views.iter().enumerate() {
        for &(b, b0, blen) in &views[i + 1..] {
            if alen > 0 && blen > 0 && a0 < b0 + blen && b0 < a0 + alen {
                return Err(invalid(format!("typed arrays '{a}' and '{b}' overlap; each must be its own memory")));
            }
        }
    }
    Ok(())
}

pub fn span<T>(name: &'static str, s: &[T]) -> (&'static str, usize, usize) {
    (name, s.as_ptr() as usize, std::mem::size_of_val(s))
}

