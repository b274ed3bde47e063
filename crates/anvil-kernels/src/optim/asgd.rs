//! torch.optim.ASGD: SGD with a decaying step `eta` and Polyak averaging into `ax` from step t0
//! on. `eta` and `mu` are per-tensor scalar states (float32 tensors in torch), set after each step.

use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct Asgd {
    pub lr: f64,
    pub lambd: f64,
    pub alpha: f64,
    pub t0: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct AsgdScalars {
    /// `1 - lambd * eta`, the weight's decay factor.
    pub decay: f32,
    pub neg_eta: f32,
    pub mu: f32,
}

impl ElementKernel for Asgd {
    type Scalars = AsgdScalars;
    type Sums = ();

    /// `ax`.
    fn state_count(&self) -> usize {
        1
    }

    /// `eta`, `mu`.
    fn tensor_state_count(&self) -> usize {
        2
    }

    fn scalars(&self, step: u32, state: &mut [f64]) -> AsgdScalars {
        let [eta, mu] = state else { unreachable!("the driver passes tensor_state_count() values") };
        if step == 1 {
            // torch initialises eta from the group's lr at the tensor's first step.
            (*eta, *mu) = (f64::from(self.lr as f32), 1.0);
        }
        let s = AsgdScalars { decay: (1.0 - self.lambd * *eta) as f32, neg_eta: -*eta as f32, mu: *mu as f32 };
        // The values for the next step, stored as float32 tensors are.
        let t = f64::from(step);
        *eta = f64::from((self.lr / (1.0 + self.lambd * self.lr * t).powf(self.alpha)) as f32);
        *mu = f64::from((1.0 / (t - self.t0).max(1.0)) as f32);
        s
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, s: &AsgdScalars, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let [ax] = states else { unreachable!("the driver passes state_count() buffers") };
        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let wd = self.weight_decay as f32;
        let AsgdScalars { decay, neg_eta, mu } = *s;
        let descend = |p: &mut f32, g: f32| {
            let g = super::math::decayed(sign * g, *p, wd);
            *p *= decay;
            *p += neg_eta * g;
        };
        let zipped = params.iter_mut().zip(grads.values()).zip(ax.iter_mut());
        if mu != 1.0 {
            for ((p, g), ax) in zipped {
                descend(p, g);
                *ax += (*p - *ax) * mu;
            }
        } else {
            for ((p, g), ax) in zipped {
                descend(p, g);
                *ax = *p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    const K: Asgd = Asgd { lr: 0.1, lambd: 0.5, alpha: 0.75, t0: 1.0, weight_decay: 0.0, maximize: false };

    #[test]
    fn eta_decays_and_averaging_starts_after_t0() {
        // step 1: eta = 0.1, p = 1 (1 - 0.05) - 0.1 * 1 = 0.85, mu = 1 so ax = p = 0.85;
        //   then eta = 0.1 / (1 + 0.05)^0.75, mu = 1 / max(1, 1 - 1) = 1.
        let r = run(&K, &[1.0], &[&[1.0]], &[]);
        close(r.params[0], 0.85);
        close(r.states[0][0], 0.85);
        let eta2 = 0.1 / 1.05f64.powf(0.75);
        assert_eq!(r.scalars, vec![f64::from(eta2 as f32), 1.0]);
        // step 2 (g = 1): p = 0.85 (1 - 0.5 eta2) - eta2; mu was 1, so ax = p again;
        //   then mu = 1 / max(1, 2 - 1) = 1 still; step 3 sets mu = 1 / 2.
        let r = run(&K, &[1.0], &[&[1.0], &[1.0]], &[]);
        let p2 = 0.85 * (1.0 - 0.5 * eta2) - eta2;
        close(r.params[0], p2);
        close(r.states[0][0], p2);
        let r = run(&K, &[1.0], &[&[1.0], &[1.0], &[1.0]], &[]);
        assert_eq!(r.scalars[1], 0.5);
    }

    #[test]
    fn averages_with_mu_below_one() {
        // t0 = 0: after step 1, mu = 1 / max(1, 1) = 1; after step 2, mu = 1/2, used at step 3.
        let k = Asgd { lambd: 0.0, t0: 0.0, ..K };
        let r = run(&k, &[0.0], &[&[-1.0], &[-1.0], &[-1.0]], &[]);
        // lambd 0: eta stays 0.1; p = 0.1, 0.2, 0.3; ax = 0.1, 0.2 (mu 1), then 0.2 + (0.3 - 0.2) / 2
        close(r.params[0], 0.3);
        close(r.states[0][0], 0.25);
        assert_eq!(r.scalars[1], f64::from((1.0f64 / 3.0) as f32));
    }
}
