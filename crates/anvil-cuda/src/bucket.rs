//! A bucket in GPU memory: the same layout as the host store's (params, grads and named state
//! back to back, tensor i at offsets[i]..offsets[i+1]); host copies only on demand.

use std::sync::Arc;

use anvil_kernels::grads::Dtype;
use cudarc::driver::CudaSlice;

use crate::device::Device;
use crate::error::CudaError;
use crate::kernels::CHUNK;

/// Gradients on the device: float32, or the raw bits of float16 / bfloat16 values.
pub enum DeviceGrads {
    F32(CudaSlice<f32>),
    Half(CudaSlice<u16>, Dtype),
}

impl DeviceGrads {
    /// The kernel name suffix of this element type.
    pub(crate) fn suffix(&self) -> &'static str {
        match self {
            DeviceGrads::F32(_) => "f32",
            DeviceGrads::Half(_, Dtype::F16) => "f16",
            DeviceGrads::Half(..) => "bf16",
        }
    }
}

/// Host gradients to upload: float32 values or half-precision bits.
pub enum HostGrads<'a> {
    F32(&'a [f32]),
    Half(&'a [u16], Dtype),
}

impl HostGrads<'_> {
    fn len(&self) -> usize {
        match self {
            HostGrads::F32(g) => g.len(),
            HostGrads::Half(g, _) => g.len(),
        }
    }
}

pub struct DeviceBucket {
    pub(crate) device: Arc<Device>,
    pub(crate) offsets: Vec<u32>,
    pub(crate) params: CudaSlice<f32>,
    pub(crate) grads: DeviceGrads,
    states: Vec<(String, CudaSlice<f32>)>,
    /// The last chunk table uploaded and the flags it was built from: steps with the same
    /// tensors present (the usual case) reuse it instead of uploading it again.
    table: Option<(Vec<u8>, Arc<ChunkTable>)>,
}

/// A chunk table on the device, with its host copy.
pub(crate) struct ChunkTable {
    pub host: Vec<Chunk>,
    pub device: CudaSlice<Chunk>,
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
// SAFETY: all-zero bits are a valid (empty) chunk.
unsafe impl cudarc::driver::ValidAsZeroBits for Chunk {}

impl DeviceBucket {
    /// Copies a host bucket's params and float32 grads to the device.
    pub fn upload(device: &Arc<Device>, params: &[f32], grads: &[f32], offsets: &[u32]) -> Result<Self, CudaError> {
        Self::upload_with(device, params, HostGrads::F32(grads), offsets)
    }

    /// Copies a host bucket's params and grads (of any gradient type) to the device.
    pub fn upload_with(device: &Arc<Device>, params: &[f32], grads: HostGrads<'_>, offsets: &[u32]) -> Result<Self, CudaError> {
        let n = params.len();
        if grads.len() != n || offsets.first() != Some(&0) || offsets.last().map(|&l| l as usize) != Some(n) || offsets.windows(2).any(|w| w[1] < w[0]) {
            return Err(CudaError::new(format!(
                "DeviceBucket: {n} params, {} grads and offsets {:?}.. do not describe one bucket",
                grads.len(),
                &offsets[..offsets.len().min(4)]
            )));
        }
        if n > u32::MAX as usize - CHUNK as usize {
            return Err(CudaError::new(format!("DeviceBucket: {n} elements exceed the 32-bit chunk table")));
        }
        let s = &device.stream;
        let grads = match grads {
            HostGrads::F32(g) => DeviceGrads::F32(s.clone_htod(g)?),
            HostGrads::Half(g, dtype) => DeviceGrads::Half(s.clone_htod(g)?, dtype),
        };
        Ok(DeviceBucket { device: device.clone(), offsets: offsets.to_vec(), params: s.clone_htod(params)?, grads, states: Vec::new(), table: None })
    }

    pub fn device(&self) -> &Arc<Device> {
        &self.device
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

    /// The gradient element type.
    pub fn grad_dtype(&self) -> Dtype {
        match &self.grads {
            DeviceGrads::F32(_) => Dtype::F32,
            DeviceGrads::Half(_, d) => *d,
        }
    }

    /// Replaces the gradients; their type must be the bucket's.
    pub fn set_grads_with(&mut self, grads: HostGrads<'_>) -> Result<(), CudaError> {
        if grads.len() != self.len() {
            return Err(CudaError::new(format!("set_grads: got {} values for a bucket of {}", grads.len(), self.len())));
        }
        let s = &self.device.stream;
        match (&mut self.grads, grads) {
            (DeviceGrads::F32(d), HostGrads::F32(h)) => s.memcpy_htod(h, d)?,
            (DeviceGrads::Half(d, a), HostGrads::Half(h, b)) if *a == b => s.memcpy_htod(h, d)?,
            _ => return Err(CudaError::new(format!("set_grads: the bucket keeps {:?} gradients, got another type", self.grad_dtype()))),
        }
        Ok(())
    }

    pub fn set_grads(&mut self, grads: &[f32]) -> Result<(), CudaError> {
        self.set_grads_with(HostGrads::F32(grads))
    }

    /// The gradients on the host: float32 values (half-precision bits are returned by `download_grad_bits`).
    pub fn download_grads(&self) -> Result<Vec<f32>, CudaError> {
        match &self.grads {
            DeviceGrads::F32(g) => Ok(self.device.stream.clone_dtoh(g)?),
            DeviceGrads::Half(..) => Err(CudaError::new("download_grads: the bucket keeps half-precision gradients (use download_grad_bits)")),
        }
    }

    pub fn download_grad_bits(&self) -> Result<Vec<u16>, CudaError> {
        match &self.grads {
            DeviceGrads::Half(g, _) => Ok(self.device.stream.clone_dtoh(g)?),
            DeviceGrads::F32(_) => Err(CudaError::new("download_grad_bits: the bucket keeps float32 gradients (use download_grads)")),
        }
    }

    pub fn set_params(&mut self, params: &[f32]) -> Result<(), CudaError> {
        if params.len() != self.len() {
            return Err(CudaError::new(format!("set_params: got {} values for a bucket of {}", params.len(), self.len())));
        }
        Ok(self.device.stream.memcpy_htod(params, &mut self.params)?)
    }

    pub fn download_params(&self) -> Result<Vec<f32>, CudaError> {
        Ok(self.device.stream.clone_dtoh(&self.params)?)
    }

    /// Copies the parameters into `out` (as long as the bucket).
    pub fn download_params_into(&self, out: &mut [f32]) -> Result<(), CudaError> {
        if out.len() != self.len() {
            return Err(CudaError::new(format!("download_params: out holds {} values, the bucket {}", out.len(), self.len())));
        }
        Ok(self.device.stream.memcpy_dtoh(&self.params, out)?)
    }

    /// A state buffer's values on the host, if it exists.
    pub fn download_state(&self, name: &str) -> Result<Option<Vec<f32>>, CudaError> {
        match self.states.iter().find(|(n, _)| n == name) {
            Some((_, s)) => Ok(Some(self.device.stream.clone_dtoh(s)?)),
            None => Ok(None),
        }
    }

    /// Sets (creating it if needed) a state buffer from host values: an initial accumulator, or
    /// state loaded from a checkpoint.
    pub fn set_state(&mut self, name: &str, values: &[f32]) -> Result<(), CudaError> {
        if values.len() != self.len() {
            return Err(CudaError::new(format!("set_state('{name}'): got {} values for a bucket of {}", values.len(), self.len())));
        }
        self.ensure_states(&[name])?;
        let s = self.device.stream.clone();
        let buf = self.states.iter_mut().find(|(n, _)| n == name).map(|(_, b)| b).expect("just ensured");
        Ok(s.memcpy_htod(values, buf)?)
    }

    pub fn state_names(&self) -> Vec<String> {
        self.states.iter().map(|(n, _)| n.clone()).collect()
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
    pub(crate) fn views(&mut self, names: &[&str]) -> (&mut CudaSlice<f32>, &DeviceGrads, Vec<&mut CudaSlice<f32>>) {
        let mut picked: Vec<Option<&mut CudaSlice<f32>>> = names.iter().map(|_| None).collect();
        for (n, s) in self.states.iter_mut() {
            if let Some(k) = names.iter().position(|x| x == n) {
                picked[k] = Some(s);
            }
        }
        (&mut self.params, &self.grads, picked.into_iter().map(|s| s.expect("ensure_states ran first")).collect())
    }

    /// The chunk table of the tensors flagged in `include` (one flag per tensor).
    pub(crate) fn chunks(&self, include: &[u8]) -> Result<Vec<Chunk>, CudaError> {
        let t = self.tensors();
        if include.len() != t {
            return Err(CudaError::new(format!("bucket has {t} tensors but {} flags", include.len())));
        }
        let mut chunks = Vec::new();
        for (i, w) in self.offsets.windows(2).enumerate() {
            if include[i] == 0 {
                continue;
            }
            // Chunks end on the bucket-wide CHUNK grid, so all but a tensor's edges are aligned.
            let mut start = w[0];
            while start < w[1] {
                let end = ((start / CHUNK + 1) * CHUNK).min(w[1]);
                chunks.push(Chunk { tensor: i as u32, start, end });
                start = end;
            }
        }
        Ok(chunks)
    }

    /// The chunk table of the tensors flagged in `include`, on the device (cached for the same flags).
    pub(crate) fn table(&mut self, include: &[u8]) -> Result<Arc<ChunkTable>, CudaError> {
        if let Some((flags, t)) = &self.table {
            if flags.as_slice() == include {
                return Ok(t.clone());
            }
        }
        let host = self.chunks(include)?;
        let device = if host.is_empty() { self.device.stream.alloc_zeros::<Chunk>(1)? } else { self.device.stream.clone_htod(&host)? };
        let t = Arc::new(ChunkTable { host, device });
        self.table = Some((include.to_vec(), t.clone()));
        Ok(t)
    }

    /// The chunk table of the tensors that have a gradient, advancing their step counters.
    pub(crate) fn plan(&mut self, steps: &mut [u32], has_grad: &[u8]) -> Result<(Arc<ChunkTable>, Vec<u32>), CudaError> {
        let chunks = self.table(has_grad)?;
        if steps.len() != self.tensors() {
            return Err(CudaError::new(format!("bucket has {} tensors but {} step counters", self.tensors(), steps.len())));
        }
        let mut stepped = Vec::new();
        for (i, &g) in has_grad.iter().enumerate() {
            if g != 0 {
                steps[i] += 1;
                stepped.push(i as u32);
            }
        }
        Ok((chunks, stepped))
    }
}
