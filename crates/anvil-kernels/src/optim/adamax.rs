//! torch.optim.Adamax: Adam with an infinity-norm second moment (`exp_inf`), epsilon added to
//! |g| inside the maximum, bias correction on the step size only.

use super::math::{lerp, maximum};
use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct Adamax {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl ElementKernel for Adamax {
    /// `-lr / (1 - beta1^t)`, the addcdiv value.
    type Scalars = f32;
    type Sums = ();

    fn state_count(&self) -> usize {
        2
    }

    fn scalars(&self, step: u32, _: &mut [f64]) -> f32 {
        (-self.lr / (1.0 - self.beta1.powf(f64::from(step)))) as f32
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, &neg_clr: &f32, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let [m, u] = states else { unreachable!("the driver passes state_count() buffers") };
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let wd = self.weight_decay as f32;
        let (w, one_minus_w) = ((1.0 - self.beta1) as f32, self.beta1 as f32);
        let (beta2, eps) = (self.beta2 as f32, self.eps as f32);
        for (((p, g), m), u) in params.iter_mut().zip(grads.values()).zip(m.iter_mut()).zip(u.iter_mut()) {
            let g = super::math::decayed(sign * g, *p, wd);
            *m = lerp(*m, g, w, one_minus_w);
            *u = maximum(*u * beta2, g.abs() + eps);
            *p += neg_clr * *m / *u;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    const K: Adamax = Adamax { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, maximize: false };

    #[test]
    fn first_two_steps_by_hand() {
        // step 1, g = 2: m = 0.2, u = max(0, 2 + 1e-8) = 2; p = 1 - 0.1 / 0.1 * 0.2 / 2 = 0.9
        // step 2, g = -1: m = 0.18 - 0.1 = 0.08, u = max(1.998, 1) = 1.998;
        //   p = 0.9 - 0.1 / 0.19 * 0.08 / 1.998 = 0.878926...
        let r = run(&K, &[1.0], &[&[2.0], &[-1.0]], &[]);
        close(r.states[0][0], 0.08);
        close(r.states[1][0], 1.998);
        close(r.params[0], 0.9 - 0.1 / 0.19 * 0.08 / 1.998);
    }

    #[test]
    fn weight_decay_joins_the_gradient_and_maximize_flips_it() {
        // g = -(1) + 0.5 * 2 = 0: m = 0, u = eps, p unchanged.
        let r = run(&Adamax { weight_decay: 0.5, maximize: true, ..K }, &[2.0], &[&[1.0]], &[]);
        close(r.params[0], 2.0);
        close(r.states[1][0], 1e-8);
    }

    #[test]
    fn nan_gradient_propagates_into_exp_inf() {
        let r = run(&K, &[1.0], &[&[f32::NAN]], &[]);
        assert!(r.states[1][0].is_nan() && r.params[0].is_nan());
    }
}
