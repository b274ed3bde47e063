//! TorchScript models trained by Anvil's kernels.
//!
//! libtorch (through the [`tch`](https://docs.rs/tch) crate) loads a `.pt` exported from PyTorch
//! (`torch.jit.script(model).save(path)`) and runs its forward and backward passes; Anvil's
//! optimizers ([`anvil_kernels::optim`], through the generic multi-tensor driver), gradient
//! clipping ([`anvil_kernels::clip`]) and loss scaling ([`anvil_kernels::scaler`]) then update the
//! parameters **in libtorch's own memory**: every parameter and gradient is borrowed as an `f32`
//! slice over the tensor's data pointer, nothing is copied in or out.
//!
//! # The `torch` feature
//!
//! Everything here is behind this crate's Cargo feature `torch`, off by default. Without it the
//! crate is this documentation and nothing else: `tch` is an optional dependency, so
//! `cargo build --workspace`, `cargo test --workspace`, the default addon and the prebuilt
//! binaries never compile or link libtorch and need no PyTorch. (A workspace member rather than
//! an excluded crate, so it shares the lockfile and `anvil-kernels`; feature-gated rather than
//! left out of `default-members`, because `--workspace` ignores `default-members`.)
//!
//! With the feature, tch 0.26 needs PyTorch 2.13.0: build with `LIBTORCH_USE_PYTORCH=1` and the
//! Python of an environment holding `torch==2.13.0` first on `PATH`; at run time
//! `LD_LIBRARY_PATH` must include that environment's `site-packages/torch/lib` (no rpath is
//! embedded). `bash scripts/torch-interop.sh` sets all of it up and runs the tests; it is tested
//! on CPU only.
//!
//! # Contract
//!
//! - Trained parameters are the module's `named_parameters()` that require a gradient; each must
//!   be a dense, contiguous float32 CPU tensor with its own memory (tied weights are refused).
//! - Gradients are allocated (zeros) when the model is loaded and from then on accumulated and
//!   zeroed in place, as torch's `zero_grad(set_to_none=False)`: every trained parameter takes
//!   part in every step, and its gradient keeps its memory.
//! - Borrowed slices ([`TorchModel::tensors_mut`]) borrow the model mutably, so no forward pass
//!   can run (and no libtorch call can move a tensor) while Anvil writes through them. Data
//!   pointers are read again, checked and checked for overlap on every borrow.

#[cfg(feature = "torch")]
mod error;
#[cfg(feature = "torch")]
mod model;
#[cfg(feature = "torch")]
mod optimizer;

#[cfg(feature = "torch")]
pub use error::TorchError;
#[cfg(feature = "torch")]
pub use model::{Batch, Loss, ParamInfo, Targets, TensorMut, TorchModel};
#[cfg(feature = "torch")]
pub use optimizer::TorchOptimizer;
#[cfg(feature = "torch")]
pub use tch;
