//! Lion (Chen et al. 2023, as timm and lion-pytorch implement it): the sign of an interpolated
//! momentum as the update, decoupled weight decay, one state (`exp_avg`).

use super::math::{lerp, sign};
use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct Lion {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl ElementKernel for Lion {
    type Scalars = ();
    type Sums = ();

    fn state_count(&self) -> usize {
        1
    }

    fn scalars(&self, _: u32, _: &mut [f64]) {}

    #[inline(always)]
    fn update<R: GradRun>(&self, _: &(), params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let [m] = states else { unreachable!("the driver passes state_count() buffers") };
        let flip = if self.maximize { -1.0f32 } else { 1.0 };
        let (decay, neg_lr) = ((1.0 - self.lr * self.weight_decay) as f32, -self.lr as f32);
        let (beta1, one_minus_beta1) = (self.beta1 as f32, (1.0 - self.beta1) as f32);
        let (w, one_minus_w) = ((1.0 - self.beta2) as f32, self.beta2 as f32);
        for ((p, g), m) in params.iter_mut().zip(grads.values()).zip(m.iter_mut()) {
            let g = flip * g;
            *p *= decay;
            *p += neg_lr * sign(*m * beta1 + g * one_minus_beta1);
            *m = lerp(*m, g, w, one_minus_w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    #[test]
    fn sign_update_then_momentum() {
        // step 1: c = 0.1 * 2 > 0, p = 1 (1 - 0.1 * 0.5) - 0.1 = 0.85; m = 0.01 * 2 = 0.02
        // step 2 (g = -1): c = 0.018 - 0.1 < 0, p = 0.85 * 0.95 + 0.1; m = 0.0198 - 0.01
        let k = Lion { lr: 0.1, beta1: 0.9, beta2: 0.99, weight_decay: 0.5, maximize: false };
        let r = run(&k, &[1.0], &[&[2.0], &[-1.0]], &[]);
        close(r.params[0], 0.85 * 0.95 + 0.1);
        close(r.states[0][0], 0.0098);
        // A zero interpolation has sign 0: only the decay moves p.
        let r = run(&Lion { weight_decay: 0.0, ..k }, &[1.0], &[&[0.0]], &[]);
        assert_eq!(r.params[0], 1.0);
    }
}
