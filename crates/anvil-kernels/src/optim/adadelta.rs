//! torch.optim.Adadelta: running averages of squared gradients (`square_avg`) and of squared
//! updates (`acc_delta`), epsilon inside both square roots, lr scaling the update.

use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct Adadelta {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl ElementKernel for Adadelta {
    type Scalars = ();
    type Sums = ();

    fn state_count(&self) -> usize {
        2
    }

    fn scalars(&self, _: u32, _: &mut [f64]) {}

    #[inline(always)]
    fn update<R: GradRun>(&self, _: &(), params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let [sq, acc] = states else { unreachable!("the driver passes state_count() buffers") };
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let (wd, eps, neg_lr) = (self.weight_decay as f32, self.eps as f32, -self.lr as f32);
        let (rho, w) = (self.rho as f32, (1.0 - self.rho) as f32);
        for (((p, g), sq), acc) in params.iter_mut().zip(grads.values()).zip(sq.iter_mut()).zip(acc.iter_mut()) {
            let g = super::math::decayed(sign * g, *p, wd);
            *sq = *sq * rho + w * g * g;
            let std = (*sq + eps).sqrt();
            let delta = (*acc + eps).sqrt() / std * g;
            *acc = *acc * rho + w * delta * delta;
            *p += neg_lr * delta;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    #[test]
    fn first_step_by_hand() {
        // rho 0.9, eps 1e-6, g = 1: sq = 0.1, delta = sqrt(1e-6) / sqrt(0.100001) = 0.0031622...,
        // acc = 0.1 delta^2, p = 1 - delta (lr 1)
        let k = Adadelta { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0.0, maximize: false };
        let r = run(&k, &[1.0], &[&[1.0]], &[]);
        let delta = 1e-3 / 0.100001f64.sqrt();
        close(r.states[0][0], 0.1);
        close(r.states[1][0], 0.1 * delta * delta);
        close(r.params[0], 1.0 - delta);
        // maximize with lr 0.5 moves the other way by half as much.
        let r = run(&Adadelta { lr: 0.5, maximize: true, ..k }, &[1.0], &[&[1.0]], &[]);
        close(r.params[0], 1.0 + 0.5 * delta);
    }
}
