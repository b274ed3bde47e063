//! Element-wise activations; backward works in place on the incoming gradient.

use crate::{expect_len, ShapeError};

/// `x = max(x, 0)` in place: the output is all that backward needs.
pub fn relu_in_place(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = v.max(0.0);
    }
}

/// `dy *= (y > 0)`, using the forward output (zero exactly where the input was <= 0).
pub fn relu_backward(y: &[f32], dy: &mut [f32]) -> Result<(), ShapeError> {
    expect_len("gradient", dy.len(), y.len())?;
    for (g, &o) in dy.iter_mut().zip(y) {
        if o <= 0.0 {
            *g = 0.0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_and_its_gradient() {
        let mut y = [-1.0f32, 0.0, 2.5];
        relu_in_place(&mut y);
        assert_eq!(y, [0.0, 0.0, 2.5]);
        let mut dy = [1.0f32, 1.0, 3.0];
        relu_backward(&y, &mut dy).unwrap();
        assert_eq!(dy, [0.0, 0.0, 3.0]);
    }
}
