//! torch.optim.RAdam: Adam with the variance rectification term, and plain bias-corrected
//! momentum while the approximated SMA length is at most 5; coupled or decoupled weight decay.

use super::math::lerp;
use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct RAdam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct RAdamScalars {
    pub bias_correction1: f32,
    pub bias_correction2_sqrt: f32,
    /// The rectification term, or None while rho_t <= 5 (no adaptive step yet).
    pub rect: Option<f32>,
}

impl ElementKernel for RAdam {
    type Scalars = RAdamScalars;
    type Sums = ();

    fn state_count(&self) -> usize {
        2
    }

    fn scalars(&self, step: u32, _: &mut [f64]) -> RAdamScalars {
        let t = f64::from(step);
        let bias_correction1 = 1.0 - self.beta1.powf(t);
        let bias_correction2 = 1.0 - self.beta2.powf(t);
        let rho_inf = 2.0 / (1.0 - self.beta2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * self.beta2.powf(t) / bias_correction2;
        let rect = (rho_t > 5.0)
            .then(|| (((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt()) as f32);
        RAdamScalars {
            bias_correction1: bias_correction1 as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            rect,
        }
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, s: &RAdamScalars, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let [m, v] = states else { unreachable!("the driver passes state_count() buffers") };
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let (decay, wd) = match (self.weight_decay != 0.0, self.decoupled_weight_decay) {
            (true, true) => ((1.0 - self.lr * self.weight_decay) as f32, 0.0f32),
            _ => (1.0f32, self.weight_decay as f32),
        };
        let (w, one_minus_w) = ((1.0 - self.beta1) as f32, self.beta1 as f32);
        let (beta2, one_minus_beta2, eps, lr) = (self.beta2 as f32, (1.0 - self.beta2) as f32, self.eps as f32, self.lr as f32);
        let RAdamScalars { bias_correction1, bias_correction2_sqrt, rect } = *s;
        let moments = |p: &mut f32, g: f32, m: &mut f32, v: &mut f32| {
            *p *= decay;
            let g = super::math::decayed(sign * g, *p, wd);
            *m = lerp(*m, g, w, one_minus_w);
            *v = *v * beta2 + one_minus_beta2 * g * g;
        };
        let zipped = params.iter_mut().zip(grads.values()).zip(m.iter_mut()).zip(v.iter_mut());
        match rect {
            Some(rect) => {
                for (((p, g), m), v) in zipped {
                    moments(p, g, m, v);
                    let adaptive_lr = bias_correction2_sqrt / (v.sqrt() + eps);
                    *p -= *m / bias_correction1 * lr * adaptive_lr * rect;
                }
            }
            None => {
                for (((p, g), m), v) in zipped {
                    moments(p, g, m, v);
                    *p -= *m / bias_correction1 * lr;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    const K: RAdam = RAdam { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled_weight_decay: false, maximize: false };

    #[test]
    fn early_steps_are_bias_corrected_momentum() {
        // rho_inf = 1999; rho_1 = 1999 - 2 * 0.999 / 0.001 = 1, <= 5: p -= lr * m / bc1 = lr * g.
        // step 2, g = 3: m = 0.18 + 0.3 = 0.48, bc1 = 0.19; p = 0.8 - 0.1 * 0.48 / 0.19
        let r = run(&K, &[1.0], &[&[2.0], &[3.0]], &[]);
        close(r.params[0], 0.8 - 0.1 * 0.48 / 0.19);
        close(r.states[1][0], 0.999 * 0.004 + 0.009);
    }

    #[test]
    fn rectified_step_once_rho_t_exceeds_five() {
        // g = 1 every step: m_hat = 1, v = 1 - 0.999^t, so adaptive_lr = sqrt(bc2) / (sqrt(v) + eps) ~ 1.
        // rho_t first exceeds 5 at t = 6 (rho_6 = 5.0125...); the step there is lr * rect(6).
        let (b2, rho_inf) = (0.999f64, 1999.0f64);
        let rho = |t: f64| rho_inf - 2.0 * t * b2.powf(t) / (1.0 - b2.powf(t));
        assert!(rho(5.0) <= 5.0 && rho(6.0) > 5.0);
        let rect = ((rho(6.0) - 4.0) * (rho(6.0) - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho(6.0))).sqrt();
        let g: &[f32] = &[1.0];
        let r5 = run(&K, &[0.0], &[g; 5], &[]);
        close(r5.params[0], -0.5);
        let r6 = run(&K, &[0.0], &[g; 6], &[]);
        close(r6.params[0] - r5.params[0], -0.1 * rect);
    }

    #[test]
    fn decoupled_weight_decay() {
        // p = 2 (1 - 0.1 * 0.5) = 1.9, then - lr * g = 1.8 (first step is momentum only).
        let r = run(&RAdam { weight_decay: 0.5, decoupled_weight_decay: true, ..K }, &[2.0], &[&[1.0]], &[]);
        close(r.params[0], 1.8);
        // Coupled: g = 1 + 0.5 * 2 = 2, p = 2 - 0.2.
        let r = run(&RAdam { weight_decay: 0.5, ..K }, &[2.0], &[&[1.0]], &[]);
        close(r.params[0], 1.8);
        close(r.states[0][0], 0.2);
    }
}
