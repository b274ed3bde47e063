//! torch.optim.NAdam: Nesterov momentum through the `mu_product` schedule (a per-tensor scalar
//! state, a float32 tensor in torch), momentum_decay, coupled or decoupled weight decay.

use super::math::lerp;
use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct NAdam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct NAdamScalars {
    pub bias_correction2: f32,
    /// addcdiv values for the gradient and for `exp_avg`.
    pub grad_coef: f32,
    pub avg_coef: f32,
}

impl ElementKernel for NAdam {
    type Scalars = NAdamScalars;
    type Sums = ();

    fn state_count(&self) -> usize {
        2
    }

    /// `mu_product`.
    fn tensor_state_count(&self) -> usize {
        1
    }

    fn scalars(&self, step: u32, mu_product: &mut [f64]) -> NAdamScalars {
        let t = f64::from(step);
        if step == 1 {
            mu_product[0] = 1.0; // torch initialises it with the rest of the state
        }
        let mu = self.beta1 * (1.0 - 0.5 * 0.96f64.powf(t * self.momentum_decay));
        let mu_next = self.beta1 * (1.0 - 0.5 * 0.96f64.powf((t + 1.0) * self.momentum_decay));
        // `mu_product *= mu` on a float32 tensor: the product is rounded to f32 every step.
        let product = f64::from(mu_product[0] as f32 * mu as f32);
        mu_product[0] = product;
        let product_next = product * mu_next;
        NAdamScalars {
            bias_correction2: (1.0 - self.beta2.powf(t)) as f32,
            grad_coef: (-self.lr * (1.0 - mu) / (1.0 - product)) as f32,
            avg_coef: ((-self.lr * mu_next) / (1.0 - product_next)) as f32,
        }
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, s: &NAdamScalars, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let [m, v] = states else { unreachable!("the driver passes state_count() buffers") };
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let (decay, wd) = match (self.weight_decay != 0.0, self.decoupled_weight_decay) {
            (true, true) => ((1.0 - self.lr * self.weight_decay) as f32, 0.0f32),
            _ => (1.0f32, self.weight_decay as f32),
        };
        let (w, one_minus_w) = ((1.0 - self.beta1) as f32, self.beta1 as f32);
        let (beta2, one_minus_beta2, eps) = (self.beta2 as f32, (1.0 - self.beta2) as f32, self.eps as f32);
        let NAdamScalars { bias_correction2, grad_coef, avg_coef } = *s;
        for (((p, g), m), v) in params.iter_mut().zip(grads.values()).zip(m.iter_mut()).zip(v.iter_mut()) {
            *p *= decay;
            let g = super::math::decayed(sign * g, *p, wd);
            *m = lerp(*m, g, w, one_minus_w);
            *v = *v * beta2 + one_minus_beta2 * g * g;
            let denom = (*v / bias_correction2).sqrt() + eps;
            *p += grad_coef * g / denom;
            *p += avg_coef * *m / denom;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    const K: NAdam = NAdam {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        momentum_decay: 0.004,
        decoupled_weight_decay: false,
        maximize: false,
    };

    fn mu(t: f64) -> f64 {
        0.9 * (1.0 - 0.5 * 0.96f64.powf(t * 0.004))
    }

    #[test]
    fn first_step_by_hand() {
        // g = 1: m = 0.1, v = 0.001, denom = sqrt(0.001 / 0.001) + eps = 1.
        // mu1 = 0.9 (1 - 0.5 * 0.96^0.004) = 0.450073..., mu2 likewise with 0.008.
        // p = 1 - 0.1 (1 - mu1) / (1 - mu1) * 1 - 0.1 * mu2 / (1 - mu1 mu2) * 0.1
        let (mu1, mu2) = (mu(1.0), mu(2.0));
        let r = run(&K, &[1.0], &[&[1.0]], &[]);
        close(r.params[0], 1.0 - 0.1 - 0.1 * mu2 / (1.0 - mu1 * mu2) * 0.1);
        assert_eq!(r.scalars[0], f64::from(mu1 as f32));
        close(r.states[0][0], 0.1);
        close(r.states[1][0], 0.001);
    }

    #[test]
    fn mu_product_accumulates_in_float32() {
        let r = run(&K, &[1.0], &[&[1.0], &[1.0], &[1.0]], &[]);
        let expected = (mu(1.0) as f32 * mu(2.0) as f32) * mu(3.0) as f32;
        assert_eq!(r.scalars[0], f64::from(expected));
        assert_eq!(r.step, 3);
    }

    #[test]
    fn decoupled_decay_scales_the_weight_first() {
        // p = 2 (1 - 0.1 * 0.5) = 1.9 with g = 0 otherwise: m = v = 0, nothing else moves it.
        let r = run(&NAdam { weight_decay: 0.5, decoupled_weight_decay: true, ..K }, &[2.0], &[&[0.0]], &[]);
        close(r.params[0], 1.9);
        // Coupled: g = 0 + 0.5 * 2 = 1 > 0, so p moves down.
        let r = run(&NAdam { weight_decay: 0.5, ..K }, &[2.0], &[&[0.0]], &[]);
        close(r.states[0][0], 0.1);
        assert!(r.params[0] < 2.0);
    }
}
