//! Optimizer state for a `TorchModel`, stepped by any Anvil element kernel (AdamW, SGD, ...)
//! through the generic driver, directly on libtorch's parameter memory.
//!
//! The driver's bucket wants one allocation of packed tensors, but libtorch keeps each parameter
//! in its own: every parameter is stepped as a one-tensor bucket over its own memory, so nothing
//! is gathered or scattered. Optimizer state (moments, step counts) lives here, in Rust.

use anvil_kernels::driver::{step_borrowed, BucketRef, ElementKernel, MAX_STATES, MAX_TENSOR_STATES};

use crate::error::TorchError;
use crate::model::TorchModel;

pub struct TorchOptimizer {
    numels: Vec<usize>,
    /// `states[i][k]`: state buffer `k` (e.g. `exp_avg`, `exp_avg_sq`) of parameter `i`.
    states: Vec<Vec<Vec<f32>>>,
    /// Per-tensor scalar state (NAdam's `mu_product`, ASGD's `eta` and `mu`) of each parameter.
    tensor_states: Vec<[f64; MAX_TENSOR_STATES]>,
    steps: Vec<u32>,
    /// `(state_count, tensor_state_count)` of the kernel that took the first step.
    layout: Option<(usize, usize)>,
}

impl TorchOptimizer {
    /// Empty state for `model`'s parameters (allocated, zeroed, on the first step, as torch does).
    pub fn new(model: &TorchModel) -> TorchOptimizer {
        let numels: Vec<usize> = model.parameters().iter().map(|p| p.numel).collect();
        let n = numels.len();
        TorchOptimizer { numels, states: vec![Vec::new(); n], tensor_states: vec![[0.0; MAX_TENSOR_STATES]; n], steps: vec![0; n], layout: None }
    }

    /// One step of `kernel` on every parameter of `model`, in place; `grad_scale` multiplies the
    /// gradients as they are read (1 for none; AMP's `1 / scale`, times a clip coefficient).
    pub fn step<K: ElementKernel>(&mut self, kernel: &K, model: &mut TorchModel, grad_scale: f32) -> Result<(), TorchError> {
        let layout = (kernel.state_count(), kernel.tensor_state_count());
        match self.layout {
            None => {
                for (s, &n) in self.states.iter_mut().zip(&self.numels) {
                    *s = vec![vec![0.0; n]; layout.0];
                }
                self.layout = Some(layout);
            }
            Some(l) if l != layout => {
                return Err(TorchError::new(format!(
                    "step: this optimizer state holds {} state buffers per parameter, the kernel needs {}; use a new TorchOptimizer for another optimizer",
                    l.0, layout.0
                )));
            }
            Some(_) => {}
        }
        let tensors = model.tensors_mut()?;
        if tensors.iter().map(|t| t.data.len()).ne(self.numels.iter().copied()) {
            return Err(TorchError::new("step: the model's parameters differ from those this optimizer state was made for"));
        }
        let iter = tensors.into_iter().zip(self.states.iter_mut()).zip(self.tensor_states.iter_mut()).zip(self.steps.chunks_mut(1));
        for (((t, states), scalars), steps) in iter {
            let offsets = [0, t.data.len() as u32];
            let mut views: [&mut [f32]; MAX_STATES] = Default::default();
            for (v, s) in views.iter_mut().zip(states.iter_mut()) {
                *v = s;
            }
            let mut scalar_views: [&mut [f64]; MAX_TENSOR_STATES] = Default::default();
            for (v, s) in scalar_views.iter_mut().zip(scalars.iter_mut()) {
                *v = std::slice::from_mut(s);
            }
            let bucket = BucketRef {
                params: t.data,
                grads: &*t.grad,
                grad_scale,
                states: &mut views[..layout.0],
                tensor_states: &mut scalar_views[..layout.1],
                offsets: &offsets,
                steps,
                has_grad: &[1],
            };
            step_borrowed(kernel, bucket).map_err(|e| TorchError::new(format!("step on parameter '{}': {e}", t.name)))?;
        }
        Ok(())
    }

    /// Steps taken on each parameter.
    pub fn steps(&self) -> &[u32] {
        &self.steps
    }

    /// State buffer `k` of parameter `index` (empty before the first step).
    pub fn state(&self, index: usize, k: usize) -> Option<&[f32]> {
        self.states.get(index)?.get(k).map(Vec::as_slice)
    }
}
