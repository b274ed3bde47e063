//! torch.optim.Adagrad (dense gradients): the squared-gradient `sum` (whose initial value,
//! initial_accumulator_value, the caller fills in) and the lr_decay schedule from the tensor's step.

use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct Adagrad {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub eps: f64,
    pub maximize: bool,
}

impl ElementKernel for Adagrad {
    /// `-clr`, with clr = lr / (1 + (step - 1) lr_decay).
    type Scalars = f32;
    type Sums = ();

    fn state_count(&self) -> usize {
        1
    }

    fn scalars(&self, step: u32, _: &mut [f64]) -> f32 {
        (-self.lr / (1.0 + (f64::from(step) - 1.0) * self.lr_decay)) as f32
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, &neg_clr: &f32, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let [sum] = states else { unreachable!("the driver passes state_count() buffers") };
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let (wd, eps) = (self.weight_decay as f32, self.eps as f32);
        for ((p, g), sum) in params.iter_mut().zip(grads.values()).zip(sum.iter_mut()) {
            let g = super::math::decayed(sign * g, *p, wd);
            *sum += g * g;
            *p += neg_clr * g / (sum.sqrt() + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    const K: Adagrad = Adagrad { lr: 0.1, lr_decay: 0.0, weight_decay: 0.0, eps: 1e-10, maximize: false };

    #[test]
    fn accumulator_starts_at_its_initial_value() {
        // sum = 0.5 + 4 = 4.5 (filled with 0.5 first); p = 1 - 0.1 * 2 / sqrt(4.5)
        let r = run(&K, &[1.0], &[&[2.0]], &[0.5]);
        close(r.states[0][0], 4.5);
        close(r.params[0], 1.0 - 0.2 / 4.5f64.sqrt());
    }

    #[test]
    fn lr_decays_with_the_step() {
        // step 1: sum = 1, p = -0.1; step 2: clr = 0.1 / 1.5, sum = 2, p = -0.1 - clr / sqrt(2)
        let r = run(&Adagrad { lr_decay: 0.5, ..K }, &[0.0], &[&[1.0], &[1.0]], &[]);
        close(r.params[0], -0.1 - 0.1 / 1.5 / 2f64.sqrt());
    }

    #[test]
    fn weight_decay_and_maximize() {
        // g = -1 + 0.5 * 2 = 0: sum stays 0, p stays (0 / (0 + eps) = 0).
        let r = run(&Adagrad { weight_decay: 0.5, maximize: true, ..K }, &[2.0], &[&[1.0]], &[]);
        assert_eq!((r.params[0], r.states[0][0]), (2.0, 0.0));
    }
}
