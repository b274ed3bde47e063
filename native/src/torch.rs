//! `TorchModule` (Cargo feature `torch` only): a TorchScript module run by libtorch, its
//! parameters updated in libtorch's memory by Anvil's optimizer, clipping and loss-scaling kernels.
//!
//! Ownership: the `TorchModule` object owns the libtorch module and the optimizer state; both are
//! freed when JS collects it. JS never holds a view over libtorch memory: the parameters are
//! read and written only inside these methods (so no JS array can outlive or alias them), and
//! `parameterValues` / `gradValues` return copies, for inspection. External typed arrays were left
//! out on purpose: V8 refuses two live ArrayBuffers over one pointer (nodejs/node#32463), runtimes
//! without external buffers would silently copy, and the TS optimizers keep parameters in their
//! own store buckets, so such views could not be handed to them without a copy anyway.

use anvil_kernels::optim;
use anvil_torch::{Batch, Loss, Targets, TorchError, TorchModel, TorchOptimizer};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::optim::{AdamOptions, SgdOptions};
use crate::scaler::{AmpCheckResult, AmpClipOptions};
use crate::views::invalid;

fn err(e: TorchError) -> Error {
    invalid(e)
}

#[napi(object)]
pub struct TorchParameter {
    /// The module's parameter name (`fc1.weight`).
    pub name: String,
    pub shape: Vec<i64>,
    pub numel: u32,
}

#[napi(object)]
pub struct TorchBatchOptions {
    /// The targets' shape (default: `[targets.length]`).
    pub target_shape: Option<Vec<i64>>,
    /// 'module' (default: `forward(inputs, targets)` returns the loss), 'cross_entropy' or 'mse'
    /// (`forward(inputs)` returns logits / predictions and torch's loss is applied to them).
    pub loss: Option<String>,
    /// AMP's loss scale: backward runs on `loss * lossScale` (default 1).
    pub loss_scale: Option<f64>,
}

#[napi(object)]
pub struct TorchAddresses {
    /// Data address of each parameter, hex.
    pub parameters: Vec<String>,
    /// Data address of each gradient, hex.
    pub gradients: Vec<String>,
}

/// A TorchScript module trained in place: libtorch runs forward and backward, Anvil's kernels
/// update the parameters in libtorch's memory (no copies).
#[napi]
pub struct TorchModule {
    model: TorchModel,
    optimizer: TorchOptimizer,
}

#[napi]
impl TorchModule {
    /// Loads a `.pt` saved by `torch.jit.script(model).save(path)` (or `torch.jit.trace`), on
    /// the CPU in training mode, with zeroed gradients.
    #[napi(factory, catch_unwind)]
    pub fn load(path: String) -> Result<TorchModule> {
        let model = TorchModel::load(&path).map_err(err)?;
        let optimizer = TorchOptimizer::new(&model);
        Ok(TorchModule { model, optimizer })
    }

    /// The trained parameters (those requiring a gradient), in `named_parameters()` order.
    #[napi(catch_unwind)]
    pub fn parameters(&self) -> Vec<TorchParameter> {
        self.model.parameters().iter().map(|p| TorchParameter { name: p.name.clone(), shape: p.shape.clone(), numel: p.numel as u32 }).collect()
    }

    /// Forward on one batch and backward, adding into the gradients; returns the (unscaled)
    /// loss. `targets`: class indices as an `Int32Array`, or float32 values.
    #[napi(catch_unwind)]
    pub fn forward_backward(&mut self, inputs: Float32Array, input_shape: Vec<i64>, targets: Either<Float32Array, Int32Array>, options: Option<TorchBatchOptions>) -> Result<f64> {
        let o = options.unwrap_or(TorchBatchOptions { target_shape: None, loss: None, loss_scale: None });
        let loss = Loss::parse(o.loss.as_deref().unwrap_or("module")).map_err(err)?;
        let indices: Vec<i64>;
        let (targets, n) = match &targets {
            Either::A(values) => (Targets::Values(values), values.len()),
            Either::B(ints) => {
                indices = ints.iter().map(|&i| i64::from(i)).collect();
                (Targets::ClassIndices(&indices), indices.len())
            }
        };
        let target_shape = o.target_shape.unwrap_or_else(|| vec![n as i64]);
        let batch = Batch { inputs: &inputs, input_shape: &input_shape, targets, target_shape: &target_shape };
        self.model.forward_backward(&batch, loss, o.loss_scale.unwrap_or(1.0) as f32).map(f64::from).map_err(err)
    }

    /// Sets every gradient to zero in place (torch's `zero_grad(set_to_none=False)`).
    #[napi(catch_unwind)]
    pub fn zero_grad(&mut self) -> Result<()> {
        self.model.zero_grad().map_err(err)
    }

    /// torch's `clip_grad_norm_` over the gradients; returns the total norm.
    #[napi(catch_unwind)]
    pub fn clip_grad_norm(&mut self, max_norm: f64, norm_type: Option<f64>, error_if_nonfinite: Option<bool>) -> Result<f64> {
        self.model.clip_grad_norm(max_norm, norm_type.unwrap_or(2.0), error_if_nonfinite.unwrap_or(false)).map(f64::from).map_err(err)
    }

    /// torch's `clip_grad_value_` over the gradients.
    #[napi(catch_unwind)]
    pub fn clip_grad_value(&mut self, clip_value: f64) -> Result<()> {
        self.model.clip_grad_value(clip_value).map_err(err)
    }

    /// GradScaler's `unscale_`: divides the gradients by the loss scale in place; returns
    /// whether any was inf or NaN (skip the step then, and back the scale off with `updateGradScale`).
    #[napi(catch_unwind)]
    pub fn unscale_grads(&mut self, scale: f64) -> Result<bool> {
        self.model.unscale_grads(scale as f32).map_err(err)
    }

    /// The fused AMP step's read pass over still-scaled gradients; give its `gradScale` to the step.
    #[napi(catch_unwind)]
    pub fn amp_check(&mut self, scale: f64, clip: Option<AmpClipOptions>) -> Result<AmpCheckResult> {
        let clip = clip.map(|c| anvil_kernels::scaler::ClipSpec { max_norm: c.max_norm, norm_type: c.norm_type, error_if_nonfinite: c.error_if_nonfinite });
        let r = self.model.amp_check(scale as f32, clip).map_err(err)?;
        Ok(AmpCheckResult { found_inf: r.found_inf, total_norm: r.total_norm.map(f64::from), grad_scale: f64::from(r.grad_scale) })
    }

    /// One Adam / AdamW (`decoupled: true`) step of every parameter, in place. `gradScale`
    /// (default 1) multiplies the gradients as they are read.
    #[napi(catch_unwind)]
    pub fn adam_step(&mut self, options: AdamOptions, grad_scale: Option<f64>) -> Result<()> {
        let kernel: optim::Adam = options.into();
        self.optimizer.step(&kernel, &mut self.model, grad_scale.unwrap_or(1.0) as f32).map_err(err)
    }

    /// One SGD step of every parameter, in place.
    #[napi(catch_unwind)]
    pub fn sgd_step(&mut self, options: SgdOptions, grad_scale: Option<f64>) -> Result<()> {
        let kernel: optim::Sgd = options.into();
        self.optimizer.step(&kernel, &mut self.model, grad_scale.unwrap_or(1.0) as f32).map_err(err)
    }

    /// Drops the optimizer state (moments, step counts), e.g. to switch optimizers.
    #[napi(catch_unwind)]
    pub fn reset_optimizer(&mut self) {
        self.optimizer = TorchOptimizer::new(&self.model);
    }

    /// Steps taken on each parameter.
    #[napi(catch_unwind)]
    pub fn steps(&self) -> Vec<u32> {
        self.optimizer.steps().to_vec()
    }

    /// A copy of parameter `index`'s values.
    #[napi(catch_unwind)]
    pub fn parameter_values(&self, index: u32) -> Result<Float32Array> {
        Ok(Float32Array::new(self.model.parameter_values(index as usize).map_err(err)?))
    }

    /// A copy of parameter `index`'s gradient.
    #[napi(catch_unwind)]
    pub fn grad_values(&mut self, index: u32) -> Result<Float32Array> {
        let tensors = self.model.tensors_mut().map_err(err)?;
        let t = tensors.get(index as usize).ok_or_else(|| invalid(format!("gradValues: index {index} out of range ({} parameters)", tensors.len())))?;
        Ok(Float32Array::new(t.grad.to_vec()))
    }

    /// Where the parameters and gradients live in memory: unchanged by training.
    #[napi(catch_unwind)]
    pub fn addresses(&self) -> Result<TorchAddresses> {
        let a = self.model.addresses().map_err(err)?;
        Ok(TorchAddresses { parameters: a.iter().map(|p| format!("{:#x}", p.0)).collect(), gradients: a.iter().map(|p| format!("{:#x}", p.1)).collect() })
    }
}
