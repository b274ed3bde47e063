//! `StepBucket`: a bucket's typed arrays registered once. The handle checks them (no two
//! written views overlap), keeps them alive (napi references) and keeps their addresses, so a
//! step is one native call with scalars only: no per-call conversion of an object of typed
//! arrays, no allocation. The JS store makes a new handle when a bucket is repacked or gains a
//! state buffer; the arrays must not be detached while a handle holds them. Layout (offsets,
//! lengths) is still checked by the driver at every step, as JS may rewrite `offsets`.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anvil_kernels::driver::{BucketRef, MAX_STATES, MAX_TENSOR_STATES};
use anvil_kernels::grads::Dtype;
use napi::bindgen_prelude::*;
use napi::{Env, Task};
use napi_derive::napi;

use super::{check_arrays, grad_dtype, AnyKernel, BucketArrays, Typed};
use crate::views::invalid;

/// An array's address and element count (a dangling, aligned address when empty).
#[derive(Clone, Copy)]
struct Raw<T> {
    ptr: NonNull<T>,
    len: usize,
}

impl<T> Raw<T> {
    fn of(s: &mut [T]) -> Self {
        Raw { ptr: NonNull::new(s.as_mut_ptr()).unwrap_or(NonNull::dangling()), len: s.len() }
    }

    /// SAFETY: the memory is alive and no other reference to it is in use.
    unsafe fn slice<'a>(self) -> &'a mut [T] {
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> Default for Raw<T> {
    fn default() -> Self {
        Raw { ptr: NonNull::dangling(), len: 0 }
    }
}

struct Inner {
    /// Holds the JS arrays (and so their memory) for as long as the handle or a task lives.
    _arrays: BucketArrays,
    params: Raw<f32>,
    /// Gradient words: f32 values, or fp16/bf16 bits (`dtype`).
    grads: Raw<u8>,
    dtype: Dtype,
    grad_scale: f32,
    states: [Raw<f32>; MAX_STATES],
    n_states: usize,
    tensor_states: [Raw<f64>; MAX_TENSOR_STATES],
    n_tensor_states: usize,
    offsets: Raw<u32>,
    steps: Raw<u32>,
    has_grad: Raw<u8>,
    /// Set while a step runs (on any thread): a second step is refused, not raced.
    busy: AtomicBool,
}

// SAFETY: the raw views point into the JS arrays `_arrays` keeps alive. They are only turned into
// slices inside a step, and `busy` makes steps on one handle exclusive; JS must not touch the
// arrays while an async step is in flight (documented; the TS optimizer refuses to).
unsafe impl Send for Inner {}
unsafe impl Sync for Inner {}

impl Inner {
    /// Runs `kernel` once over the arrays, with `grad_scale` (else the registered one).
    fn step(&self, kernel: &AnyKernel, grad_scale: Option<f64>) -> Result<()> {
        if self.busy.swap(true, Ordering::Acquire) {
            return Err(invalid("a step on this bucket is already in flight; await it before stepping again"));
        }
        let result = self.step_claimed(kernel, grad_scale);
        self.busy.store(false, Ordering::Release);
        result
    }

    /// The step itself, with `busy` held by the caller.
    fn step_claimed(&self, kernel: &AnyKernel, grad_scale: Option<f64>) -> Result<()> {
        let grad_scale = grad_scale.map_or(self.grad_scale, |s| s as f32);
        let mut states: [&mut [f32]; MAX_STATES] = Default::default();
        let mut tensor_states: [&mut [f64]; MAX_TENSOR_STATES] = Default::default();
        // SAFETY: the arrays are alive (`_arrays`), the written ones were checked disjoint at
        // registration, and `busy` is held, so no other step uses them.
        unsafe {
            for (slot, raw) in states.iter_mut().zip(&self.states).take(self.n_states) {
                *slot = raw.slice();
            }
            for (slot, raw) in tensor_states.iter_mut().zip(&self.tensor_states).take(self.n_tensor_states) {
                *slot = raw.slice();
            }
        }
        // SAFETY: as above.
        let (params, offsets, steps, has_grad, grads) =
            unsafe { (self.params.slice(), &*self.offsets.slice(), self.steps.slice(), &*self.has_grad.slice(), &*self.grads.slice()) };
        let (states, tensor_states) = (&mut states[..self.n_states], &mut tensor_states[..self.n_tensor_states]);
        let typed = match self.dtype {
            // SAFETY: the bytes are a Float32Array's / Uint16Array's (aligned; lengths in elements).
            Dtype::F32 => Typed::F32(BucketRef { params, grads: unsafe { cast(grads) }, grad_scale, states, tensor_states, offsets, steps, has_grad }),
            Dtype::F16 => Typed::F16(BucketRef { params, grads: unsafe { cast(grads) }, grad_scale, states, tensor_states, offsets, steps, has_grad }),
            Dtype::Bf16 => Typed::Bf16(BucketRef { params, grads: unsafe { cast(grads) }, grad_scale, states, tensor_states, offsets, steps, has_grad }),
        };
        kernel.step(typed).map_err(invalid)
    }
}

/// SAFETY: `bytes` holds whole, aligned `T`s.
unsafe fn cast<T>(bytes: &[u8]) -> &[T] {
    if bytes.is_empty() {
        return &[];
    }
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast(), bytes.len() / std::mem::size_of::<T>()) }
}

/// A bucket's arrays registered for fast steps (`adamStep(handle, ...)`, `adamStepAsync`).
#[napi]
pub struct StepBucket {
    inner: Arc<Inner>,
}

#[napi]
impl StepBucket {
    /// Checks and keeps the arrays (the states in the kernel's order). `gradScale` here is the
    /// default for steps that pass none.
    #[napi(constructor, catch_unwind)]
    pub fn new(mut arrays: BucketArrays) -> Result<Self> {
        check_arrays(&arrays)?;
        let dtype = grad_dtype(&arrays)?;
        let mut states = [Raw::default(); MAX_STATES];
        let mut tensor_states = [Raw::default(); MAX_TENSOR_STATES];
        // SAFETY: only addresses are taken here; slices are made in steps (see `Inner`).
        let (params, grads, offsets, steps, has_grad) = unsafe {
            for (slot, s) in states.iter_mut().zip(arrays.states.iter_mut()) {
                *slot = Raw::of(s.as_mut());
            }
            for (slot, s) in tensor_states.iter_mut().zip(arrays.tensor_states.iter_mut().flatten()) {
                *slot = Raw::of(s.as_mut());
            }
            let grads = match &mut arrays.grads {
                Either::A(g) => bytes(g.as_mut()),
                Either::B(g) => bytes(g.as_mut()),
            };
            (Raw::of(arrays.params.as_mut()), grads, Raw::of(arrays.offsets.as_mut()), Raw::of(arrays.steps.as_mut()), Raw::of(arrays.has_grad.as_mut()))
        };
        let (n_states, n_tensor_states) = (arrays.states.len(), arrays.tensor_states.as_ref().map_or(0, Vec::len));
        let grad_scale = arrays.grad_scale.unwrap_or(1.0) as f32;
        let inner = Inner {
            _arrays: arrays,
            params,
            grads,
            dtype,
            grad_scale,
            states,
            n_states,
            tensor_states,
            n_tensor_states,
            offsets,
            steps,
            has_grad,
            busy: AtomicBool::new(false),
        };
        Ok(StepBucket { inner: Arc::new(inner) })
    }

    /// Number of state buffers registered.
    #[napi(getter)]
    pub fn state_count(&self) -> u32 {
        self.inner.n_states as u32
    }

    /// Whether an async step on this bucket is running.
    #[napi(getter)]
    pub fn busy(&self) -> bool {
        self.inner.busy.load(Ordering::Acquire)
    }
}

impl StepBucket {
    pub(super) fn step(&self, kernel: &AnyKernel, grad_scale: Option<f64>) -> Result<()> {
        self.inner.step(kernel, grad_scale)
    }

    /// An async step: claims the bucket now (on the JS thread, so a second step called before
    /// the promise settles is refused), runs on the libuv pool, releases when it settles.
    pub(super) fn task(&self, kernel: AnyKernel, grad_scale: Option<f64>) -> Result<StepTask> {
        if self.inner.busy.swap(true, Ordering::Acquire) {
            return Err(invalid("a step on this bucket is already in flight; await it before stepping again"));
        }
        Ok(StepTask { inner: Arc::clone(&self.inner), kernel, grad_scale })
    }
}

/// SAFETY: as `Raw::of`; the byte view of a typed array's elements.
unsafe fn bytes<T>(s: &mut [T]) -> Raw<u8> {
    Raw { ptr: NonNull::new(s.as_mut_ptr().cast::<u8>()).unwrap_or(NonNull::dangling()), len: std::mem::size_of_val(s) }
}

/// One optimizer step on the libuv thread pool (`...StepAsync`).
pub struct StepTask {
    inner: Arc<Inner>,
    kernel: AnyKernel,
    grad_scale: Option<f64>,
}

impl Task for StepTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        // Panics become a rejected promise, not an abort of the worker thread.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.inner.step_claimed(&self.kernel, self.grad_scale)))
            .unwrap_or_else(|_| Err(invalid("the optimizer step panicked")))
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }

    fn finally(self, _env: Env) -> Result<()> {
        self.inner.busy.store(false, Ordering::Release);
        Ok(())
    }
}
