//! The bandwidth probe benchmarks pair with each timed step: an element kernel with an
//! optimizer's streaming pattern (read params, grads and `states` buffers; write params and
//! states) and trivial math, run through the same driver, threads and chunking.

use crate::driver::ElementKernel;
use crate::elem::GradRun;

pub struct StreamProbe {
    /// State buffers streamed besides params and grads (AdamW: 2, SGD with momentum: 1).
    pub states: usize,
    /// Multiplier of the gradient; 0 leaves values unchanged while the compiler cannot skip the work.
    pub c: f32,
}

impl ElementKernel for StreamProbe {
    type Scalars = ();
    type Sums = ();

    fn state_count(&self) -> usize {
        self.states
    }

    fn scalars(&self, _step: u32, _: &mut [f64]) {}

    #[inline(always)]
    fn update<R: GradRun>(&self, _: &(), params: &mut [f32], grads: R, states: &mut [&mut [f32]]) {
        let c = self.c;
        match states {
            [] => params.iter_mut().zip(grads.values()).for_each(|(p, g)| *p += c * g),
            [a] => {
                for ((p, g), a) in params.iter_mut().zip(grads.values()).zip(a.iter_mut()) {
                    *p += c * g;
                    *a += c * g;
                }
            }
            [a, b] => {
                for (((p, g), a), b) in params.iter_mut().zip(grads.values()).zip(a.iter_mut()).zip(b.iter_mut()) {
                    *p += c * g;
                    *a += c * g;
                    *b += c * g;
                }
            }
            _ => {
                for st in states.iter_mut() {
                    st.iter_mut().zip(grads.values()).for_each(|(s, g)| *s += c * g);
                }
                params.iter_mut().zip(grads.values()).for_each(|(p, g)| *p += c * g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{step, Bucket};

    #[test]
    fn probe_streams_without_changing_values_at_c_zero() {
        let mut p = [1.0f32, 2.0];
        let mut a = [3.0f32, 4.0];
        let mut b = [5.0f32, 6.0];
        let mut steps = [0u32];
        let mut bucket = Bucket::new(&mut p[..], &[7.0f32, 8.0][..], &[0, 2], &mut steps, &[1]);
        bucket.states = vec![&mut a[..], &mut b[..]];
        step(&StreamProbe { states: 2, c: 0.0 }, bucket).unwrap();
        assert_eq!((p, a, b), ([1.0, 2.0], [3.0, 4.0], [5.0, 6.0]));
        let mut bucket = Bucket::new(&mut p[..], &[1.0f32, 1.0][..], &[0, 2], &mut steps, &[1]);
        bucket.states = vec![&mut a[..]];
        step(&StreamProbe { states: 1, c: 0.5 }, bucket).unwrap();
        assert_eq!((p, a), ([1.5, 2.5], [3.5, 4.5]));
    }
}
