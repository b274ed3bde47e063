//! A bucket in GPU memory: the same layout as the host store's (params, grads and named state
//! back to back, tensor i at offsets[i]..offsets[i+1]); host copies only on demand.

use std::sync::Arc;

use cudarc::driver::CudaSlice;

use crate::device::Device;
use crate::error::CudaError;
use crate::kernels::CHUNK;

pub struct DeviceBucket {
    pub(crate) device: Arc<Device>,
    pub(crate) offsets: Vec<u32>,
    pub(crate) params: CudaSlice<f32>,
    pub(crate) grads: CudaSlice<f32>,
    states: Vec<(String, CudaSlice<f32>)>,
}

/// One block's work: elements `start..end` of tensor `tensor` (matches `struct Chunk` in the kernels).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Chunk {
    pub tensor: u32,
    pub start: u32,
    pub end: u32,
}

// SAFETY: plain-old-data with the C layout the kernels read.
unsafe impl cudarc::driver::DeviceRepr for Chunk {}

impl DeviceBucket {
    /// Copies a host bucket's params and grads to the device.
    pub fn upload(device: &Arc<Device>, params: &[f32], grads: &[f32], offsets: &[u32]) -> Result<Self, CudaError> {
        let n = params.len();
        if grads.len() != n || offsets.first() != Some(&0) || offsets.last().map(|&l| l as usize) != Some(n) || offsets.windows(2).any(|w| w[1] < w[0]) {
            return Err(CudaError::new(format!("DeviceBucket: {n} params, {} grads and offsets {:?}.. do not describe one bucket", grads.len(), &offsets[..offsets.len().min(4)])));
        }
        let s = &device.stream;
        Ok(DeviceBucket {
            device: device.clone(),
            offsets: offsets.to_vec(),
            params: s.clone_htod(params)?,
            grads: s.clone_htod(grads)?,
            states: Vec::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.len() == 0
    }

    pub fn tensors(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn set_grads(&mut self, grads: &[f32]) -> Result<(), CudaError> {
        if grads.len() != self.len() {
            return Err(CudaError::new(format!("set_grads: got {} values for a bucket of {}", grads.len(), self.len())));
        }
        Ok(self.device.stream.memcpy_htod(grads, &mut self.grads)?)
    }

    pub fn download_params(&self) -> Result<Vec<f32>, CudaError> {
        Ok(self.device.stream.clone_dtoh(&self.params)?)
    }

    /// A state buffer's values on the host, if it exists.
    pub fn download_state(&self, name: &str) -> Result<Option<Vec<f32>>, CudaError> {
        match self.states.iter().find(|(n, _)| n == name) {
            Some((_, s)) => Ok(Some(self.device.stream.clone_dtoh(s)?)),
            None => Ok(None),
        }
    }

    /// Makes sure the named state buffers exist (zero-filled on first use).
    pub(crate) fn ensure_states(&mut self, names: &[&str]) -> Result<(), CudaError> {
        for name in names {
            if !self.states.iter().any(|(n, _)| n == name) {
                let zeros = self.device.stream.alloc_zeros::<f32>(self.len())?;
                self.states.push((name.to_string(), zeros));
            }
        }
        Ok(())
    }

    /// Params, grads and the named states, borrowed together for a launch.
    pub(crate) fn views(&mut self, names: &[&str]) -> (&mut CudaSlice<f32>, &CudaSlice<f32>, Vec<&mut CudaSlice<f32>>) {
        let mut picked: Vec<Option<&mut CudaSlice<f32>>> = names.iter().map(|_| None).collect();
        for (n, s) in self.states.iter_mut() {
            if let Some(k) = names.iter().position(|x| x == n) {
                picked[k] = Some(s);
            }
        }
        (&mut self.params, &self.grads, picked.into_iter().map(|s| s.expect("ensure_states ran first")).collect())
    }

    /// The chunk table of the tensors that have a gradient, advancing their step counters.
    pub(crate) fn plan(&self, steps: &mut [u32], has_grad: &[u8]) -> Result<(Vec<Chunk>, Vec<u32>), CudaError> {
        let t = self.tensors();
        if steps.len() != t || has_grad.len() != t {
            return Err(CudaError::new(format!("bucket has {t} tensors but {} step counters and {} has-grad flags", steps.len(), has_grad.len())));
        }
        let mut chunks = Vec::new();
        let mut stepped = Vec::new();
        for (i, w) in self.offsets.windows(2).enumerate() {
            if has_grad[i] == 0 {
                continue;
            }
            steps[i] += 1;
            stepped.push(i as u32);
            // Chunks end on the bucket-wide CHUNK grid, so all but a tensor's edges are aligned.
            let mut start = w[0];
            while start < w[1] {
                let end = ((start / CHUNK + 1) * CHUNK).min(w[1]);
                chunks.push(Chunk { tensor: i as u32, start, end });
                start = end;
            }
        }
        Ok((chunks, stepped))
    }
}
