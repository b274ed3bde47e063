//! torch.optim.Adam and AdamW (AdamW = decoupled weight decay): amsgrad, maximize, bias
//! corrections from the tensor's own step, epsilon added after the bias-corrected sqrt.

use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
    /// AdamW: `p *= 1 - lr * wd` before the update instead of adding `wd * p` to the gradient.
    pub decoupled: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct AdamScalars {
    pub step_size: f32,
    pub bias_correction2_sqrt: f32,
}

impl ElementKernel for Adam {
    type Scalars = AdamScalars;
    type Sums = ();

    fn state_count(&self) -> usize {
        if self.amsgrad { 3 } else { 2 }
    }

    // Host math in f64, as torch does it in Python floats before the f32 tensor ops.
    fn scalars(&self, step: u32, _: &mut [f64]) -> AdamScalars {
        let t = f64::from(step);
        let bias_correction1 = 1.0 - self.beta1.powf(t);
        let bias_correction2 = 1.0 - self.beta2.powf(t);
        AdamScalars {
            step_size: (self.lr / bias_correction1) as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
        }
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, s: &AdamScalars, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let (decay, coupled_wd) = if self.decoupled {
            ((1.0 - self.lr * self.weight_decay) as f32, 0.0f32)
        } else {
            (1.0f32, self.weight_decay as f32)
        };
        let one_minus_beta1 = (1.0 - self.beta1) as f32;
        let beta2 = self.beta2 as f32;
        let one_minus_beta2 = (1.0 - self.beta2) as f32;
        let eps = self.eps as f32;
        let AdamScalars { step_size, bias_correction2_sqrt } = *s;

        let moment = |p: &mut f32, g: f32, m: &mut f32, v: &mut f32| -> f32 {
            *p *= decay;
            let g = super::math::decayed(sign * g, *p, coupled_wd);
            *m += one_minus_beta1 * (g - *m);
            *v = *v * beta2 + one_minus_beta2 * g * g;
            *v
        };
        match states {
            [m, v] => {
                for (((p, g), m), v) in params.iter_mut().zip(grads.values()).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let v = moment(p, g, m, v);
                    let denom = v.sqrt() / bias_correction2_sqrt + eps;
                    *p -= step_size * (*m / denom);
                }
            }
            [m, v, vmax] => {
                for ((((p, g), m), v), vmax) in
                    params.iter_mut().zip(grads.values()).zip(m.iter_mut()).zip(v.iter_mut()).zip(vmax.iter_mut())
                {
                    let v = moment(p, g, m, v);
                    *vmax = super::math::maximum(*vmax, v);
                    let denom = vmax.sqrt() / bias_correction2_sqrt + eps;
                    *p -= step_size * (*m / denom);
                }
            }
            _ => unreachable!("the driver passes state_count() buffers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{step, Bucket};

    const ADAM: Adam = Adam { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, amsgrad: false, maximize: false, decoupled: false };

    fn run(k: Adam, p: &mut [f32], grads: &[f32], n_steps: usize) -> Vec<Vec<f32>> {
        let n = p.len();
        let mut states = vec![vec![0.0f32; n]; k.state_count()];
        let mut steps = [0u32];
        for _ in 0..n_steps {
            let views = states.iter_mut().map(|s| &mut s[..]).collect();
            step(&k, Bucket { states: views, ..Bucket::new(p, grads, &[0, n as u32], &mut steps, &[1]) }).unwrap();
        }
        states
    }

    #[test]
    fn first_step_moves_each_weight_by_lr_against_the_gradient_sign() {
        // Bias correction makes m_hat = g and v_hat = g^2 at step 1, so the step is lr * g / (|g| + eps).
        let mut p = [1.0f32, 1.0];
        let st = run(ADAM, &mut p, &[0.5, -2.0], 1);
        assert!((p[0] - 0.9).abs() < 1e-6 && (p[1] - 1.1).abs() < 1e-6, "{p:?}");
        assert!((st[0][0] - 0.05).abs() < 1e-7 && (st[1][1] - 0.004).abs() < 1e-7, "{st:?}");
    }

    #[test]
    fn second_step_uses_bias_corrected_moments() {
        // g = 1 twice: m2 = 0.19, v2 = 0.001999; m_hat = 0.19/0.19 = 1, v_hat = 0.001999/0.001999 = 1
        let mut p = [0.0f32];
        let st = run(ADAM, &mut p, &[1.0], 2);
        assert!((p[0] + 0.2).abs() < 1e-5, "{p:?}");
        assert!((st[0][0] - 0.19).abs() < 1e-7 && (st[1][0] - 0.001999).abs() < 1e-8, "{st:?}");
    }

    #[test]
    fn adamw_decays_the_weight_before_the_update_and_adam_decays_the_gradient() {
        // AdamW: p = 2 * (1 - 0.1 * 0.5) = 1.9, then - 0.1 * sign(g) = 1.8.
        let mut p = [2.0f32];
        run(Adam { weight_decay: 0.5, decoupled: true, ..ADAM }, &mut p, &[3.0], 1);
        assert!((p[0] - 1.8).abs() < 1e-6, "{p:?}");
        // Adam: g' = -3 + 0.5 * 2 = -2 (negative), so p moves up by lr.
        let mut p = [2.0f32];
        run(Adam { weight_decay: 0.5, ..ADAM }, &mut p, &[-3.0], 1);
        assert!((p[0] - 2.1).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn amsgrad_keeps_the_running_maximum_of_v() {
        let mut p = [0.0f32];
        let n = 1;
        let k = Adam { amsgrad: true, ..ADAM };
        let mut states = vec![vec![0.0f32; n]; 3];
        let mut steps = [0u32];
        for g in [4.0f32, 0.0] {
            let views = states.iter_mut().map(|s| &mut s[..]).collect();
            step(&k, Bucket { states: views, ..Bucket::new(&mut p, &[g], &[0, 1], &mut steps, &[1]) }).unwrap();
        }
        // v1 = 0.016, v2 = 0.015984; the max keeps v1.
        assert!((states[2][0] - 0.016).abs() < 1e-8 && states[1][0] < states[2][0], "{states:?}");
        assert_eq!(steps, [2]);
    }

    #[test]
    fn maximize_ascends() {
        let mut p = [0.0f32];
        run(Adam { maximize: true, ..ADAM }, &mut p, &[1.0], 1);
        assert!((p[0] - 0.1).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn without_weight_decay_a_nan_weight_leaves_the_moments_alone() {
        // torch adds `wd * p` only when wd != 0: after an inf gradient makes p NaN, v stays inf
        // (0 * NaN would have made the gradient, and so v, NaN).
        let mut p = [1.0f32];
        let st = run(ADAM, &mut p, &[f32::INFINITY], 2);
        assert!(p[0].is_nan(), "{p:?}");
        assert_eq!(st[1][0], f32::INFINITY, "{st:?}");
    }

    #[test]
    fn bad_layout_is_an_error_not_a_panic() {
        let mut p = [0.0f32; 2];
        let mut steps = [0u32];
        let err = step(&ADAM, Bucket::new(&mut p, &[0.0; 2], &[0, 2], &mut steps, &[1])).unwrap_err();
        assert!(err.0.contains("expected 2 state buffers"), "{err}");
    }
}
