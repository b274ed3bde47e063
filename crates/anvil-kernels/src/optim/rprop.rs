//! torch.optim.Rprop: per-element step sizes (`step_size`, starting at lr) grown or shrunk by
//! the sign agreement of the gradient with `prev`, clamped to step_sizes; a sign flip skips the step.

use super::math::sign;
use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct Rprop {
    pub lr: f64,
    pub eta_minus: f64,
    pub eta_plus: f64,
    pub step_size_min: f64,
    pub step_size_max: f64,
    pub maximize: bool,
}

impl ElementKernel for Rprop {
    /// Whether this is the tensor's first update (`step_size` starts at lr).
    type Scalars = bool;
    type Sums = ();

    /// `prev`, `step_size`.
    fn state_count(&self) -> usize {
        2
    }

    fn scalars(&self, step: u32, _: &mut [f64]) -> bool {
        step == 1
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, &first: &bool, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let [prev, step_size] = states else { unreachable!("the driver passes state_count() buffers") };
        if first {
            step_size.fill(self.lr as f32);
        }
        let flip = if self.maximize { -1.0f32 } else { 1.0 };
        let (minus, plus) = (self.eta_minus as f32, self.eta_plus as f32);
        let (lo, hi) = (self.step_size_min as f32, self.step_size_max as f32);
        for (((p, g), prev), ss) in params.iter_mut().zip(grads.values()).zip(prev.iter_mut()).zip(step_size.iter_mut()) {
            let g = flip * g;
            let agreement = g * *prev;
            // torch: sign(g * prev) becomes eta_plus, eta_minus or 1 (also for NaN, whose sign is 0).
            let factor = if agreement > 0.0 {
                plus
            } else if agreement < 0.0 {
                minus
            } else {
                1.0
            };
            // clamp_ keeps NaN; f32::clamp does too.
            *ss = (*ss * factor).clamp(lo, hi);
            let g = if agreement < 0.0 { 0.0 } else { g };
            *p += -sign(g) * *ss;
            *prev = g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    const K: Rprop = Rprop { lr: 0.1, eta_minus: 0.5, eta_plus: 1.2, step_size_min: 1e-6, step_size_max: 0.15, maximize: false };

    #[test]
    fn step_sizes_grow_on_agreement_shrink_and_skip_on_a_flip() {
        // step 1: prev = 0, factor 1, ss = 0.1, p = 1 - 0.1 = 0.9, prev = 3
        // step 2 (agree): ss = min(0.12, 0.15) = 0.12, p = 0.78
        // step 3 (agree): ss = min(0.144, 0.15), p = 0.636
        // step 4 (agree): ss = 0.1728 clamped to 0.15, p = 0.486
        // step 5 (flip): ss = 0.075, g treated as 0: p unchanged, prev = 0
        // step 6: prev = 0, factor 1: p = 0.486 + 0.075 (g < 0)
        let gs: [&[f32]; 6] = [&[3.0], &[1.0], &[2.0], &[0.5], &[-1.0], &[-4.0]];
        let r = run(&K, &[1.0], &gs[..4], &[]);
        close(r.params[0], 0.486);
        close(r.states[1][0], 0.15);
        let r = run(&K, &[1.0], &gs[..5], &[]);
        close(r.params[0], 0.486);
        assert_eq!(r.states[0][0], 0.0);
        close(r.states[1][0], 0.075);
        let r = run(&K, &[1.0], &gs, &[]);
        close(r.params[0], 0.561);
        assert_eq!(r.states[0][0], -4.0);
    }

    #[test]
    fn zero_gradient_keeps_the_step_size_and_the_weight() {
        let r = run(&Rprop { maximize: true, ..K }, &[1.0], &[&[0.0], &[-2.0]], &[]);
        // maximize: g = -(-2) = 2 on step 2 after a zero: factor 1, p -= 0.1
        close(r.params[0], 0.9);
        close(r.states[1][0], 0.1);
    }
}
