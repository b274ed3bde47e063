//! torch.optim.RMSprop: `square_avg`, optional `momentum_buffer` (momentum > 0) and `grad_avg`
//! (centered), epsilon added after the square root.

use super::math::lerp;
use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct RmsProp {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
    pub maximize: bool,
}

impl ElementKernel for RmsProp {
    type Scalars = ();
    type Sums = ();

    /// `square_avg`, then `momentum_buffer` when momentum > 0, then `grad_avg` when centered.
    fn state_count(&self) -> usize {
        1 + usize::from(self.momentum > 0.0) + usize::from(self.centered)
    }

    fn scalars(&self, _: u32, _: &mut [f64]) {}

    #[inline(always)]
    fn update<R: GradRun>(&self, _: &(), params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let (wd, eps, neg_lr, momentum) = (self.weight_decay as f32, self.eps as f32, -self.lr as f32, self.momentum as f32);
        let (alpha, w) = (self.alpha as f32, (1.0 - self.alpha) as f32);
        let square = |p: &f32, g: f32, sq: &mut f32| -> f32 {
            let g = super::math::decayed(sign * g, *p, wd);
            *sq = *sq * alpha + w * g * g;
            g
        };
        match (states, self.momentum > 0.0) {
            ([sq], _) => {
                for ((p, g), sq) in params.iter_mut().zip(grads.values()).zip(sq.iter_mut()) {
                    let g = square(p, g, sq);
                    *p += neg_lr * g / (sq.sqrt() + eps);
                }
            }
            ([sq, buf], true) => {
                for (((p, g), sq), buf) in params.iter_mut().zip(grads.values()).zip(sq.iter_mut()).zip(buf.iter_mut()) {
                    let g = square(p, g, sq);
                    *buf = *buf * momentum + g / (sq.sqrt() + eps);
                    *p += neg_lr * *buf;
                }
            }
            ([sq, ga], false) => {
                for (((p, g), sq), ga) in params.iter_mut().zip(grads.values()).zip(sq.iter_mut()).zip(ga.iter_mut()) {
                    let g = square(p, g, sq);
                    *ga = lerp(*ga, g, w, alpha);
                    *p += neg_lr * g / ((*sq - *ga * *ga).sqrt() + eps);
                }
            }
            ([sq, buf, ga], _) => {
                let zipped = params.iter_mut().zip(grads.values()).zip(sq.iter_mut()).zip(buf.iter_mut()).zip(ga.iter_mut());
                for ((((p, g), sq), buf), ga) in zipped {
                    let g = square(p, g, sq);
                    *ga = lerp(*ga, g, w, alpha);
                    *buf = *buf * momentum + g / ((*sq - *ga * *ga).sqrt() + eps);
                    *p += neg_lr * *buf;
                }
            }
            _ => unreachable!("the driver passes state_count() buffers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    const K: RmsProp = RmsProp { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false, maximize: false };

    #[test]
    fn plain_first_step() {
        // sq = 0.01 * 4 = 0.04; p = 1 - 0.01 * 2 / 0.2 = 0.9
        let r = run(&K, &[1.0], &[&[2.0]], &[]);
        close(r.states[0][0], 0.04);
        close(r.params[0], 0.9);
    }

    #[test]
    fn momentum_buffer_accumulates_normalised_gradients() {
        // step 1: sq = 0.04, buf = 2 / 0.2 = 10, p = 1 - 0.1 = 0.9
        // step 2 (g = 2): sq = 0.0396 + 0.04 = 0.0796, buf = 9 + 2 / sqrt(0.0796), p = 0.9 - 0.01 buf
        let r = run(&RmsProp { momentum: 0.9, ..K }, &[1.0], &[&[2.0], &[2.0]], &[]);
        let buf = 9.0 + 2.0 / 0.0796f64.sqrt();
        close(r.states[1][0], buf);
        close(r.params[0], 0.9 - 0.01 * buf);
    }

    #[test]
    fn centered_subtracts_the_squared_mean() {
        // sq = 0.04, ga = 0.02, avg = sqrt(0.04 - 0.0004); p = 1 - 0.01 * 2 / avg
        let r = run(&RmsProp { centered: true, ..K }, &[1.0], &[&[2.0]], &[]);
        close(r.states[1][0], 0.02);
        close(r.params[0], 1.0 - 0.02 / 0.0396f64.sqrt());
        // Both: states are [square_avg, momentum_buffer, grad_avg].
        let r = run(&RmsProp { centered: true, momentum: 0.5, weight_decay: 0.25, ..K }, &[1.0], &[&[1.75]], &[]);
        // g = 1.75 + 0.25 = 2, so the same avg; buf = 2 / avg
        close(r.states[1][0], 2.0 / 0.0396f64.sqrt());
        close(r.states[2][0], 0.02);
    }
}
