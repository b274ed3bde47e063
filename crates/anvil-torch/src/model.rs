//! A loaded TorchScript module: forward and backward in libtorch, its parameters and gradients
//! borrowed in place for Anvil's kernels.

use std::path::Path;

use anvil_kernels::clip;
use anvil_kernels::grads::{GradData, GradList};
use anvil_kernels::scaler::{self, AmpCheck, ClipSpec};
use tch::{CModule, Device, Kind, Reduction, Tensor};

use crate::error::TorchError;

/// How the scalar loss is obtained from a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The module's `forward(inputs, targets)` returns the loss itself.
    Module,
    /// `forward(inputs)` returns logits; torch's `cross_entropy` (mean) against int64 class indices.
    CrossEntropy,
    /// `forward(inputs)` returns predictions; torch's `mse_loss` (mean) against float32 targets.
    Mse,
}

impl Loss {
    /// `'module'`, `'cross_entropy'` or `'mse'`.
    pub fn parse(name: &str) -> Result<Loss, TorchError> {
        match name {
            "module" => Ok(Loss::Module),
            "cross_entropy" => Ok(Loss::CrossEntropy),
            "mse" => Ok(Loss::Mse),
            _ => Err(TorchError::new(format!("loss: unknown loss '{name}' (expected 'module', 'cross_entropy' or 'mse')"))),
        }
    }
}

/// Targets of a batch: class indices (int64, as torch's `cross_entropy` takes them) or values.
pub enum Targets<'a> {
    ClassIndices(&'a [i64]),
    Values(&'a [f32]),
}

/// One batch as host slices with their shapes. Inputs and targets are copied into libtorch
/// tensors (the batch crosses the boundary; parameters and gradients never do).
pub struct Batch<'a> {
    pub inputs: &'a [f32],
    pub input_shape: &'a [i64],
    pub targets: Targets<'a>,
    pub target_shape: &'a [i64],
}

/// A trained parameter: its name in the module (`net.0.weight`) and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: String,
    pub shape: Vec<i64>,
    pub numel: usize,
}

/// One parameter's values and gradient, borrowed from libtorch's memory.
pub struct TensorMut<'a> {
    pub name: &'a str,
    pub data: &'a mut [f32],
    pub grad: &'a mut [f32],
}

pub struct TorchModel {
    module: CModule,
    /// The module's trained parameters (handles on the module's own tensors).
    params: Vec<Tensor>,
    /// Their gradient tensors, fetched again on every borrow and held while it lasts.
    grads: Vec<Tensor>,
    info: Vec<ParamInfo>,
}

impl TorchModel {
    /// Loads a TorchScript file on the CPU in training mode and allocates zeroed gradients for
    /// every parameter that requires one.
    pub fn load(path: impl AsRef<Path>) -> Result<TorchModel, TorchError> {
        let path = path.as_ref();
        let mut module = CModule::load_on_device(path, Device::Cpu)
            .map_err(|e| TorchError::new(format!("TorchModel.load: cannot load '{}' as a TorchScript module: {e}", path.display())))?;
        module.f_set_train()?;
        let mut params = Vec::new();
        let mut info = Vec::new();
        for (name, t) in module.named_parameters()? {
            if !t.requires_grad() {
                continue; // frozen: torch's optimizers skip it too (its grad stays None)
            }
            check_dense_f32(&t, &format!("parameter '{name}'"))?;
            info.push(ParamInfo { numel: t.numel(), shape: t.size(), name });
            params.push(t);
        }
        if params.is_empty() {
            return Err(TorchError::new(format!("TorchModel.load: '{}' has no parameter that requires a gradient", path.display())));
        }
        // Backward of Σ 0·p gives every parameter a zero gradient of its own (contiguous, the
        // parameter's layout); later backward passes add into it in place.
        let mut total: Option<Tensor> = None;
        for p in &params {
            let z = p.f_mul_scalar(0.0)?.f_sum(Kind::Float)?;
            total = Some(match total {
                None => z,
                Some(t) => t.f_add(&z)?,
            });
        }
        total.expect("at least one parameter").f_backward()?;
        let mut model = TorchModel { module, params, grads: Vec::new(), info };
        model.zero_grad()?;
        Ok(model)
    }

    /// The trained parameters, in the module's `named_parameters()` order.
    pub fn parameters(&self) -> &[ParamInfo] {
        &self.info
    }

    /// Forward on `batch`, then backward of `loss * loss_scale` (AMP's scaled loss; 1 for none),
    /// adding into the gradients. Returns the unscaled loss.
    pub fn forward_backward(&mut self, batch: &Batch<'_>, loss: Loss, loss_scale: f32) -> Result<f32, TorchError> {
        if !(loss_scale.is_finite() && loss_scale > 0.0) {
            return Err(TorchError::new(format!("forwardBackward: lossScale must be a positive finite number, got {loss_scale}")));
        }
        let x = host_tensor(batch.inputs, batch.input_shape, "inputs")?;
        let y = match batch.targets {
            Targets::ClassIndices(t) => host_tensor(t, batch.target_shape, "targets")?,
            Targets::Values(t) => host_tensor(t, batch.target_shape, "targets")?,
        };
        let out = match loss {
            Loss::Module => self.module.forward_ts(&[&x, &y])?,
            Loss::CrossEntropy => {
                if y.kind() != Kind::Int64 {
                    return Err(TorchError::new("forwardBackward: loss 'cross_entropy' takes class indices as targets (integers), got float values"));
                }
                self.module.forward_ts(&[&x])?.f_cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0)?
            }
            Loss::Mse => {
                if y.kind() != Kind::Float {
                    return Err(TorchError::new("forwardBackward: loss 'mse' takes float32 values as targets, got class indices"));
                }
                self.module.forward_ts(&[&x])?.f_mse_loss(&y, Reduction::Mean)?
            }
        };
        if out.numel() != 1 || !matches!(out.kind(), Kind::Float | Kind::Double) {
            return Err(TorchError::new(format!("forwardBackward: the loss must be one float value, got {:?} of shape {:?}", out.kind(), out.size())));
        }
        if !out.requires_grad() {
            return Err(TorchError::new("forwardBackward: the loss does not depend on any parameter that requires a gradient"));
        }
        let value = out.f_double_value(&vec![0; out.dim()])? as f32;
        let scaled = if loss_scale == 1.0 { out } else { out.f_mul_scalar(f64::from(loss_scale))? };
        scaled.f_backward()?;
        Ok(value)
    }

    /// Every trained parameter's values and gradient as slices over libtorch's memory. Data
    /// pointers are read now: each tensor is checked (dense float32 on the CPU) and all of them
    /// for overlap, so the `&mut` slices never alias.
    pub fn tensors_mut(&mut self) -> Result<Vec<TensorMut<'_>>, TorchError> {
        let mut grads = Vec::with_capacity(self.params.len());
        for (p, info) in self.params.iter().zip(&self.info) {
            check_dense_f32(p, &format!("parameter '{}'", info.name))?;
            if p.size() != info.shape {
                return Err(TorchError::new(format!("parameter '{}' changed shape from {:?} to {:?}", info.name, info.shape, p.size())));
            }
            let g = p.f_grad()?;
            if !g.defined() {
                return Err(TorchError::new(format!("the gradient of parameter '{}' was removed (set to None); it must stay allocated", info.name)));
            }
            check_dense_f32(&g, &format!("the gradient of parameter '{}'", info.name))?;
            if g.size() != info.shape {
                return Err(TorchError::new(format!("the gradient of parameter '{}' has shape {:?}, the parameter {:?}", info.name, g.size(), info.shape)));
            }
            grads.push(g);
        }
        check_disjoint(self.params.iter().zip(&grads).zip(&self.info))?;
        self.grads = grads;
        let mut out = Vec::with_capacity(self.params.len());
        for ((p, g), info) in self.params.iter().zip(&self.grads).zip(&self.info) {
            // SAFETY: both tensors are dense, contiguous float32 CPU tensors of `numel` elements,
            // no two of the borrowed ranges overlap (checked above), and the handles in
            // `self.params` / `self.grads` keep their storage alive while `&mut self` is borrowed,
            // which also keeps every libtorch call on this model from running meanwhile.
            let (data, grad) = unsafe { (slice_mut(p), slice_mut(g)) };
            out.push(TensorMut { name: &info.name, data, grad });
        }
        Ok(out)
    }

    /// `(parameter, gradient)` data addresses, to check that memory stays where it was.
    pub fn addresses(&self) -> Result<Vec<(usize, usize)>, TorchError> {
        self.params.iter().map(|p| Ok((p.data_ptr() as usize, p.f_grad()?.data_ptr() as usize))).collect()
    }

    /// A copy of parameter `index`'s values (for inspection; training never copies).
    pub fn parameter_values(&self, index: usize) -> Result<Vec<f32>, TorchError> {
        let p = self.params.get(index).ok_or_else(|| TorchError::new(format!("parameter index {index} out of range ({} parameters)", self.params.len())))?;
        let mut v = vec![0.0f32; p.numel()];
        p.f_copy_data(&mut v, p.numel())?;
        Ok(v)
    }

    /// Sets every gradient to zero in place.
    pub fn zero_grad(&mut self) -> Result<(), TorchError> {
        for t in self.tensors_mut()? {
            t.grad.fill(0.0);
        }
        Ok(())
    }

    /// torch's `clip_grad_norm_` over all gradients; returns the total norm.
    pub fn clip_grad_norm(&mut self, max_norm: f64, norm_type: f64, error_if_nonfinite: bool) -> Result<f32, TorchError> {
        let mut tensors = self.tensors_mut()?;
        let mut lists = grad_lists(&mut tensors);
        Ok(clip::clip_grad_norm(&mut lists, max_norm, norm_type, error_if_nonfinite)?)
    }

    /// torch's `clip_grad_value_` over all gradients.
    pub fn clip_grad_value(&mut self, clip_value: f64) -> Result<(), TorchError> {
        let mut tensors = self.tensors_mut()?;
        clip::clip_grad_value(&mut grad_lists(&mut tensors), clip_value);
        Ok(())
    }

    /// GradScaler's `unscale_`: divides every gradient by `scale` in place; returns whether any
    /// held inf or NaN (then the step should be skipped and the scale backed off).
    pub fn unscale_grads(&mut self, scale: f32) -> Result<bool, TorchError> {
        let mut tensors = self.tensors_mut()?;
        Ok(scaler::unscale(&mut grad_lists(&mut tensors), scaler::inv_scale(scale)))
    }

    /// The fused AMP step's read pass over still-scaled gradients (inf/nan check and, with
    /// `clip`, the norm); pass the returned `grad_scale` to the optimizer step.
    pub fn amp_check(&mut self, scale: f32, clip: Option<ClipSpec>) -> Result<AmpCheck, TorchError> {
        let mut tensors = self.tensors_mut()?;
        Ok(scaler::amp_check(&mut grad_lists(&mut tensors), scale, clip)?)
    }
}

fn grad_lists<'s>(tensors: &'s mut [TensorMut<'_>]) -> Vec<GradList<'s>> {
    tensors.iter_mut().map(|t| GradList::whole(GradData::F32(t.grad))).collect()
}

/// A float32 CPU tensor of `shape` holding a copy of `data`.
fn host_tensor<T: tch::kind::Element>(data: &[T], shape: &[i64], what: &str) -> Result<Tensor, TorchError> {
    if shape.iter().any(|&d| d < 0) {
        return Err(TorchError::new(format!("forwardBackward: {what} shape must hold non-negative sizes, got {shape:?}")));
    }
    let n: i64 = shape.iter().product();
    if n as usize != data.len() {
        return Err(TorchError::new(format!("forwardBackward: {what} shape {shape:?} holds {n} values, {what} has {}", data.len())));
    }
    Ok(Tensor::f_from_slice(data)?.f_view(shape)?)
}

fn check_dense_f32(t: &Tensor, what: &str) -> Result<(), TorchError> {
    if !t.defined() {
        return Err(TorchError::new(format!("{what} is undefined")));
    }
    if t.kind() != Kind::Float {
        return Err(TorchError::new(format!("{what} is {:?}; Anvil trains float32 parameters", t.kind())));
    }
    if t.device() != Device::Cpu {
        return Err(TorchError::new(format!("{what} is on {:?}; the torch interop runs on the CPU", t.device())));
    }
    if t.is_sparse() || t.is_mkldnn() || !t.is_contiguous() {
        return Err(TorchError::new(format!("{what} is not a dense contiguous tensor")));
    }
    Ok(())
}

/// Errors when any two of the parameters' and gradients' memory ranges overlap (tied weights,
/// or a gradient aliasing a parameter), which would alias two `&mut` slices.
fn check_disjoint<'a>(tensors: impl Iterator<Item = ((&'a Tensor, &'a Tensor), &'a ParamInfo)>) -> Result<(), TorchError> {
    let mut ranges = Vec::new();
    for ((p, g), info) in tensors {
        let bytes = info.numel * 4;
        if bytes > 0 {
            ranges.push((p.data_ptr() as usize, bytes, format!("parameter '{}'", info.name)));
            ranges.push((g.data_ptr() as usize, bytes, format!("the gradient of '{}'", info.name)));
        }
    }
    ranges.sort_by_key(|r| r.0);
    for w in ranges.windows(2) {
        if w[0].0 + w[0].1 > w[1].0 {
            return Err(TorchError::new(format!("{} and {} share memory (tied weights are not supported)", w[0].2, w[1].2)));
        }
    }
    Ok(())
}

/// # Safety
/// `t` is a dense contiguous float32 CPU tensor that outlives `'a`, and nothing else borrows its memory meanwhile.
unsafe fn slice_mut<'a>(t: &Tensor) -> &'a mut [f32] {
    let n = t.numel();
    if n == 0 {
        return &mut [];
    }
    std::slice::from_raw_parts_mut(t.data_ptr().cast::<f32>(), n)
}
