//! Element-wise activations (ReLU, GELU, Sigmoid, Tanh); backward works in place on the incoming
//! gradient, reading whichever of input or output its derivative needs.

use crate::{expect_len, ShapeError};

/// `x = max(x, 0)` in place: the output is all that backward needs.
pub fn relu_in_place(x: &mut [f32]) {
    // A select, not `f32::max`: NaN stays NaN, as in torch, so a diverged model is noticed.
    for v in x.iter_mut() {
        *v = if *v < 0.0 { 0.0 } else { *v };
    }
}

/// `dy *= (y > 0)`, using the forward output (zero exactly where the input was <= 0).
pub fn relu_backward(y: &[f32], dy: &mut [f32]) -> Result<(), ShapeError> {
    expect_len("gradient", dy.len(), y.len())?;
    // A select rather than a branch, so the loop vectorises.
    for (g, &o) in dy.iter_mut().zip(y) {
        *g = if o > 0.0 { *g } else { 0.0 };
    }
    Ok(())
}

/// erfc with fractional error below 1.2e-7 (Chebyshev fit, Numerical Recipes' `erfcc`),
/// evaluated in f64 so GELU matches torch's erf form to f32 rounding.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06 + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
const KAPPA: f64 = 0.044_715;

/// GELU's value and derivative at `x`: exact `x * Phi(x)` (torch's default) or the tanh form.
#[inline]
fn gelu(x: f32, tanh_form: bool) -> (f32, f32) {
    let x = f64::from(x);
    if tanh_form {
        let inner = SQRT_2_OVER_PI * (x + KAPPA * x * x * x);
        let t = inner.tanh();
        let d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * x * x);
        ((0.5 * x * (1.0 + t)) as f32, d as f32)
    } else {
        let cdf = 0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2);
        let pdf = INV_SQRT_2PI * (-0.5 * x * x).exp();
        ((x * cdf) as f32, (cdf + x * pdf) as f32)
    }
}

/// `y = gelu(x)`.
pub fn gelu_forward(x: &[f32], y: &mut [f32], tanh_form: bool) -> Result<(), ShapeError> {
    expect_len("output", y.len(), x.len())?;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = gelu(v, tanh_form).0;
    }
    Ok(())
}

/// `dy *= gelu'(x)`, from the forward input.
pub fn gelu_backward(x: &[f32], dy: &mut [f32], tanh_form: bool) -> Result<(), ShapeError> {
    expect_len("gradient", dy.len(), x.len())?;
    for (g, &v) in dy.iter_mut().zip(x) {
        *g *= gelu(v, tanh_form).1;
    }
    Ok(())
}

/// `y = 1 / (1 + exp(-x))`, written so neither branch overflows.
pub fn sigmoid_forward(x: &[f32], y: &mut [f32]) -> Result<(), ShapeError> {
    expect_len("output", y.len(), x.len())?;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v >= 0.0 { 1.0 / (1.0 + (-v).exp()) } else { let e = v.exp(); e / (1.0 + e) };
    }
    Ok(())
}

/// `dy *= y (1 - y)`, from the forward output.
pub fn sigmoid_backward(y: &[f32], dy: &mut [f32]) -> Result<(), ShapeError> {
    expect_len("gradient", dy.len(), y.len())?;
    for (g, &o) in dy.iter_mut().zip(y) {
        *g *= o * (1.0 - o);
    }
    Ok(())
}

/// `y = tanh(x)`.
pub fn tanh_forward(x: &[f32], y: &mut [f32]) -> Result<(), ShapeError> {
    expect_len("output", y.len(), x.len())?;
    y.iter_mut().zip(x).for_each(|(o, &v)| *o = v.tanh());
    Ok(())
}

/// `dy *= 1 - y^2`, from the forward output.
pub fn tanh_backward(y: &[f32], dy: &mut [f32]) -> Result<(), ShapeError> {
    expect_len("gradient", dy.len(), y.len())?;
    dy.iter_mut().zip(y).for_each(|(g, &o)| *g *= 1.0 - o * o);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, data, dot};

    #[test]
    fn relu_and_its_gradient() {
        let mut y = [-1.0f32, 0.0, 2.5];
        relu_in_place(&mut y);
        assert_eq!(y, [0.0, 0.0, 2.5]);
        let mut dy = [1.0f32, 1.0, 3.0];
        relu_backward(&y, &mut dy).unwrap();
        assert_eq!(dy, [0.0, 0.0, 3.0]);
        let mut nan = [f32::NAN, -f32::INFINITY];
        relu_in_place(&mut nan);
        assert!(nan[0].is_nan() && nan[1] == 0.0, "{nan:?}");
    }

    #[test]
    fn erf_form_gelu_matches_known_values() {
        // torch.nn.functional.gelu at -3, -1, 0, 0.5, 2 (float64 reference values).
        let want = [-0.004_049_694_3f64, -0.158_655_253_9, 0.0, 0.345_731_362_1, 1.954_499_736_1];
        let mut y = [0.0f32; 5];
        gelu_forward(&[-3.0, -1.0, 0.0, 0.5, 2.0], &mut y, false).unwrap();
        for (a, b) in y.iter().zip(want) {
            assert!((f64::from(*a) - b).abs() < 2e-7, "{a} vs {b}");
        }
    }

    /// Each activation's backward against central differences of `sum(r * f(x))`.
    #[test]
    fn backward_matches_finite_differences() {
        let x: Vec<f32> = data(40, 1).iter().map(|v| v * 4.0).collect();
        let r = data(40, 2);
        type Fwd = fn(&[f32], &mut [f32]);
        let cases: [(&str, Fwd); 4] = [
            ("gelu", |x, y| gelu_forward(x, y, false).unwrap()),
            ("gelu_tanh", |x, y| gelu_forward(x, y, true).unwrap()),
            ("sigmoid", |x, y| sigmoid_forward(x, y).unwrap()),
            ("tanh", |x, y| tanh_forward(x, y).unwrap()),
        ];
        for (name, fwd) in cases {
            let mut y = vec![0.0; 40];
            fwd(&x, &mut y);
            let mut g = r.clone();
            match name {
                "gelu" => gelu_backward(&x, &mut g, false).unwrap(),
                "gelu_tanh" => gelu_backward(&x, &mut g, true).unwrap(),
                "sigmoid" => sigmoid_backward(&y, &mut g).unwrap(),
                _ => tanh_backward(&y, &mut g).unwrap(),
            }
            check(name, &x, &g, 1e-3, 2e-3, |v| {
                let mut y = vec![0.0; 40];
                fwd(v, &mut y);
                dot(&y, &r)
            });
        }
    }
}
