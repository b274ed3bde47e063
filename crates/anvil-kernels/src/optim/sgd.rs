//! torch.optim.SGD: momentum, dampening, nesterov, weight_decay, maximize.
//! The momentum buffer starts as a copy of the (decayed) gradient on a tensor's first step.

use crate::driver::ElementKernel;
use crate::elem::GradRun;

#[derive(Debug, Clone, Copy)]
pub struct Sgd {
    pub lr: f32,
    pub momentum: f32,
    pub dampening: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
    pub maximize: bool,
}

impl ElementKernel for Sgd {
    /// Whether this is the tensor's first update (the buffer is initialised, not blended).
    type Scalars = bool;
    type Sums = ();

    fn state_count(&self) -> usize {
        usize::from(self.momentum != 0.0)
    }

    fn scalars(&self, step: u32, _: &mut [f64]) -> bool {
        step == 1
    }

    #[inline(always)]
    fn update<R: GradRun>(&self, &first: &bool, params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let Sgd { lr, momentum, dampening, weight_decay: wd, nesterov, maximize } = *self;
        let sign = if maximize { -1.0 } else { 1.0 };
        match states {
            [] => {
                for (p, g) in params.iter_mut().zip(grads.values()) {
                    let d = super::math::decayed(sign * g, *p, wd);
                    *p -= lr * d;
                }
            }
            [buf] => {
                let keep = if first { 0.0 } else { momentum };
                let take = if first { 1.0 } else { 1.0 - dampening };
                for ((p, g), b) in params.iter_mut().zip(grads.values()).zip(buf.iter_mut()) {
                    let d = super::math::decayed(sign * g, *p, wd);
                    *b = keep * *b + take * d;
                    let d = if nesterov { d + momentum * *b } else { *b };
                    *p -= lr * d;
                }
            }
            _ => unreachable!("the driver passes state_count() buffers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{step, Bucket};

    fn run(k: Sgd, p: &mut [f32], grads: &[Vec<f32>], buf: &mut [f32]) {
        let offsets = [0, p.len() as u32];
        let mut steps = [0u32];
        for g in grads {
            let states: Vec<&mut [f32]> = if k.momentum != 0.0 { vec![&mut buf[..]] } else { vec![] };
            step(&k, Bucket { states, ..Bucket::new(p, g, &offsets, &mut steps, &[1]) }).unwrap();
        }
    }

    const BASE: Sgd = Sgd { lr: 0.1, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false };

    #[test]
    fn plain_step_is_p_minus_lr_g() {
        let mut p = [1.0f32, -2.0];
        run(BASE, &mut p, &[vec![0.5, 1.0]], &mut []);
        assert_eq!(p, [0.95, -2.1]);
    }

    #[test]
    fn momentum_buffer_starts_as_gradient_then_blends_with_dampening() {
        // step 1: buf = g1 = 1; p = 1 - 0.1 * 1 = 0.9
        // step 2: buf = 0.9 * 1 + (1 - 0.5) * 2 = 1.9; p = 0.9 - 0.1 * 1.9 = 0.71
        let k = Sgd { momentum: 0.9, dampening: 0.5, ..BASE };
        let (mut p, mut buf) = ([1.0f32], [0.0f32]);
        run(k, &mut p, &[vec![1.0], vec![2.0]], &mut buf);
        assert!((buf[0] - 1.9).abs() < 1e-6 && (p[0] - 0.71).abs() < 1e-6, "{buf:?} {p:?}");
    }

    #[test]
    fn nesterov_weight_decay_and_maximize() {
        // d = -g + wd * p = -1 + 0.5 * 2 = 0; buf = 0; p unchanged at step 1.
        // step 2: d = -3 + 1 = -2; buf = 0.5 * 0 + (-2) = -2; nesterov d = -2 + 0.5 * -2 = -3; p = 2 + 0.3
        let k = Sgd { momentum: 0.5, weight_decay: 0.5, nesterov: true, maximize: true, ..BASE };
        let (mut p, mut buf) = ([2.0f32], [0.0f32]);
        run(k, &mut p, &[vec![1.0], vec![3.0]], &mut buf);
        assert!((p[0] - 2.3).abs() < 1e-6 && (buf[0] + 2.0).abs() < 1e-6, "{buf:?} {p:?}");
    }

    #[test]
    fn tensor_without_gradient_is_untouched_and_keeps_its_step() {
        let k = Sgd { momentum: 0.9, ..BASE };
        let mut p = [1.0f32, 1.0];
        let mut buf = [0.0f32; 2];
        let mut steps = [0u32, 0];
        let offsets = [0, 1, 2];
        step(&k, Bucket { states: vec![&mut buf], ..Bucket::new(&mut p, &[1.0, 1.0], &offsets, &mut steps, &[1, 0]) }).unwrap();
        assert_eq!(p, [0.9, 1.0]);
        assert_eq!(steps, [1, 0]);
        assert_eq!(buf, [1.0, 0.0]);
    }
}
