//! LAMB (You et al. 2019, as timm and MMPretrain's `Lamb` compute it): Adam's update plus
//! weight decay, scaled per tensor by the trust ratio ‖p‖ / ‖update‖. The first pass updates the
//! moments and sums both squared norms; the second recomputes the update and applies it.

use crate::driver::ElementKernel;
use crate::elem::GradRun;
use crate::elem::{Element, LANES};
use crate::error::KernelError;

#[derive(Debug, Clone, Copy)]
pub struct Lamb {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub bias_correction: bool,
    /// `exp_avg` takes `(1 - beta1) g` (true) or `g` (false).
    pub grad_averaging: bool,
    /// Caps the trust ratio at 1.
    pub trust_clip: bool,
    /// Applies the trust ratio even without weight decay.
    pub always_adapt: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct LambScalars {
    pub bias_correction1: f32,
    pub bias_correction2_sqrt: f32,
}

impl Lamb {
    fn adapts(&self) -> bool {
        self.weight_decay != 0.0 || self.always_adapt
    }
}

/// timm: `(m / bc1) / (sqrt(v) / sqrt(bc2) + eps) + wd * p`.
#[inline(always)]
fn direction(m: f32, v: f32, p: f32, s: &LambScalars, eps: f32, wd: f32) -> f32 {
    m / s.bias_correction1 / (v.sqrt() / s.bias_correction2_sqrt + eps) + wd * p
}

impl ElementKernel for Lamb {
    type Scalars = LambScalars;
    /// ‖p‖², ‖update‖² over the tensor.
    type Sums = [f64; 2];

    fn state_count(&self) -> usize {
        2
    }

    fn scalars(&self, step: u32, _: &mut [f64]) -> LambScalars {
        let t = f64::from(step);
        let (bc1, bc2) = if self.bias_correction { (1.0 - self.beta1.powf(t), 1.0 - self.beta2.powf(t)) } else { (1.0, 1.0) };
        LambScalars { bias_correction1: bc1 as f32, bias_correction2_sqrt: bc2.sqrt() as f32 }
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, s: &LambScalars, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) -> [f64; 2] {
        let [m, v] = states else { unreachable!("the driver passes state_count() buffers") };
        let beta1 = self.beta1 as f32;
        let beta3 = if self.grad_averaging { (1.0 - self.beta1) as f32 } else { 1.0 };
        let (beta2, one_minus_beta2) = (self.beta2 as f32, (1.0 - self.beta2) as f32);
        let (eps, wd, neg_lr) = (self.eps as f32, self.weight_decay as f32, -self.lr as f32);
        let zipped = params.iter_mut().zip(grads.values()).zip(m.iter_mut()).zip(v.iter_mut());
        if !self.adapts() {
            // Trust ratio 1: one pass.
            for (((p, g), m), v) in zipped {
                *m = *m * beta1 + g * beta3;
                *v = *v * beta2 + one_minus_beta2 * g * g;
                *p += neg_lr * direction(*m, *v, *p, s, eps, wd);
            }
            return [0.0; 2];
        }
        // f32 partial sums in LANES independent lanes (so the loop vectorizes), per chunk of the
        // tensor; the driver folds them into f64.
        let (mut w2, mut u2) = ([0.0f32; LANES], [0.0f32; LANES]);
        let moments = |p: &mut f32, g: f32, m: &mut f32, v: &mut f32, w2: &mut f32, u2: &mut f32| {
            *m = *m * beta1 + g * beta3;
            *v = *v * beta2 + one_minus_beta2 * g * g;
            let u = direction(*m, *v, *p, s, eps, wd);
            *w2 += *p * *p;
            *u2 += u * u;
        };
        let mut ps = params.chunks_exact_mut(LANES);
        let mut ms = m.chunks_exact_mut(LANES);
        let mut vs = v.chunks_exact_mut(LANES);
        for (((p, g), m), v) in (&mut ps).zip(grads.lanes::<LANES>()).zip(&mut ms).zip(&mut vs) {
            let lanes = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()).zip(w2.iter_mut()).zip(u2.iter_mut());
            for (((((p, g), m), v), w2), u2) in lanes {
                moments(p, g, m, v, w2, u2);
            }
        }
        let g_rest = grads.split_at(grads.len() / LANES * LANES).1;
        let rest = ps.into_remainder().iter_mut().zip(g_rest.values()).zip(ms.into_remainder().iter_mut()).zip(vs.into_remainder().iter_mut());
        for (((p, g), m), v) in rest {
            moments(p, g, m, v, &mut w2[0], &mut u2[0]);
        }
        let fold = |x: [f32; LANES]| x.iter().map(|&v| f64::from(v)).sum::<f64>();
        [fold(w2), fold(u2)]
    }

    fn two_pass(&self) -> bool {
        self.adapts()
    }

    #[inline(always)]
    fn finish(&self, s: &LambScalars, sums: [f64; 2], params: &mut [f32], states: &mut [&mut [f32]]) {
        let [m, v] = states else { unreachable!("the driver passes state_count() buffers") };
        let (w_norm, u_norm) = (sums[0].sqrt(), sums[1].sqrt());
        let mut trust = if w_norm > 0.0 && u_norm > 0.0 { w_norm / u_norm } else { 1.0 };
        if self.trust_clip {
            trust = trust.min(1.0);
        }
        let (eps, wd, trust, neg_lr) = (self.eps as f32, self.weight_decay as f32, trust as f32, -self.lr as f32);
        for ((p, m), v) in params.iter_mut().zip(m.iter()).zip(v.iter()) {
            *p += neg_lr * (direction(*m, *v, *p, s, eps, wd) * trust);
        }
    }
}

/// Σ (grad_scale g)² over the tensors with a gradient: timm's global gradient norm (squared),
/// which its `max_grad_norm` clips by before the step (the caller folds that into `grad_scale`).
pub fn grad_square_sum<G: Element>(grads: &[G], grad_scale: f32, offsets: &[u32], has_grad: &[u8]) -> Result<f64, KernelError> {
    let ends_ok = offsets.first() == Some(&0) && offsets.last().map(|&e| e as usize) == Some(grads.len());
    if !ends_ok || offsets.windows(2).any(|w| w[1] < w[0]) || has_grad.len() + 1 != offsets.len() {
        return Err(KernelError::new(format!(
            "offsets must rise from 0 to {} with one has-grad flag per tensor ({} offsets, {} flags)",
            grads.len(),
            offsets.len(),
            has_grad.len()
        )));
    }
    let mut total = 0.0f64;
    for (w, _) in offsets.windows(2).zip(has_grad).filter(|(_, &f)| f != 0) {
        G::read_tiles(&grads[w[0] as usize..w[1] as usize], |tile| total += square_sum(tile, grad_scale));
    }
    Ok(total)
}

/// Σ (scale x)² over one tile, in LANES independent f32 lanes so the loop vectorizes.
fn square_sum(tile: &[f32], scale: f32) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = tile.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (acc, &g) in lanes.iter_mut().zip(chunk) {
            *acc += (g * scale) * (g * scale);
        }
    }
    for (acc, &g) in lanes.iter_mut().zip(chunks.remainder()) {
        *acc += (g * scale) * (g * scale);
    }
    lanes.iter().map(|&v| f64::from(v)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{close, run};

    const K: Lamb = Lamb {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-6,
        weight_decay: 0.0,
        bias_correction: true,
        grad_averaging: true,
        trust_clip: false,
        always_adapt: false,
    };

    #[test]
    fn without_decay_it_is_adam_with_eps_outside() {
        // Step 1: m_hat = g, sqrt(v_hat) = |g|: update = g / (|g| + 1e-6) ~ sign(g).
        let r = run(&K, &[1.0, -1.0], &[&[2.0, -0.5]], &[]);
        close(r.params[0], 1.0 - 0.1 * 2.0 / (2.0 + 1e-6));
        close(r.params[1], -1.0 + 0.1 * 0.5 / (0.5 + 1e-6));
    }

    #[test]
    fn trust_ratio_scales_the_whole_tensor() {
        // p = [3, 4] (norm 5), g = [1, -1], wd = 0.5: u = sign(g) (up to eps) + 0.5 p = [2.5, 1]
        // norm sqrt(7.25); trust = 5 / sqrt(7.25); p -= 0.1 * trust * u
        let r = run(&Lamb { weight_decay: 0.5, ..K }, &[3.0, 4.0], &[&[1.0, -1.0]], &[]);
        let trust = 5.0 / 7.25f64.sqrt();
        close(r.params[0], 3.0 - 0.1 * trust * 2.5);
        close(r.params[1], 4.0 - 0.1 * trust * 1.0);
        // trust_clip caps it at 1 only when above: here trust = 1.857 becomes 1.
        let r = run(&Lamb { weight_decay: 0.5, trust_clip: true, ..K }, &[3.0, 4.0], &[&[1.0, -1.0]], &[]);
        close(r.params[0], 3.0 - 0.1 * 2.5);
    }

    #[test]
    fn global_square_sum_skips_tensors_without_gradient() {
        use half::bf16;
        let g = [3.0f32, 4.0, 100.0];
        assert_eq!(grad_square_sum(&g, 0.5, &[0, 2, 3], &[1, 0]), Ok(6.25));
        let h: Vec<bf16> = g.iter().map(|&x| bf16::from_f32(x)).collect();
        assert_eq!(grad_square_sum(&h, 1.0, &[0, 2, 3], &[1, 1]), Ok(10025.0));
        assert!(grad_square_sum(&g, 1.0, &[0, 2], &[1]).is_err());
    }

    #[test]
    fn always_adapt_without_decay_and_zero_weights() {
        // p = 0: ‖p‖ = 0 gives trust 1.
        let r = run(&Lamb { always_adapt: true, ..K }, &[0.0, 0.0], &[&[1.0, 1.0]], &[]);
        close(r.params[0], -0.1);
        // p = [1, 0], u ~ [1, 1]: trust = 1 / sqrt(2)
        let r = run(&Lamb { always_adapt: true, ..K }, &[1.0, 0.0], &[&[1.0, 1.0]], &[]);
        close(r.params[1], -0.1 / 2f64.sqrt());
    }
}
