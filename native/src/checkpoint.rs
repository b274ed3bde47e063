//! Checkpoint file bindings: named typed arrays and a JSON string to a safetensors file
//! (written atomically by `anvil-checkpoint`), and back.

use std::path::Path;
use std::time::Duration;

use anvil_checkpoint::{Data, TensorIn, Values, WriteOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::views::invalid;

/// One tensor to save: exactly one of `f32` or `f64`. `dtype` 'int64' stores f64 values that
/// are exact integers as safetensors I64 (Anvil's int64 buffers).
#[napi(object, object_to_js = false)]
pub struct CheckpointTensor {
    pub name: String,
    pub shape: Vec<u32>,
    pub f32: Option<Float32Array>,
    pub f64: Option<Float64Array>,
    pub dtype: Option<String>,
}

/// One tensor read back: `f32` for F32/F16/BF16 files, `f64` for F64 and integer types.
#[napi(object, object_from_js = false)]
pub struct LoadedTensor {
    pub name: String,
    /// The stored safetensors dtype ('F32', 'I64', 'BF16', ...).
    pub dtype: String,
    pub shape: Vec<u32>,
    pub f32: Option<Float32Array>,
    pub f64: Option<Float64Array>,
}

#[napi(object, object_from_js = false)]
pub struct LoadedCheckpoint {
    /// Anvil's JSON metadata; null for files written by other tools.
    pub metadata: Option<String>,
    pub tensors: Vec<LoadedTensor>,
}

/// Writes `tensors` and `metadata` to `path` as safetensors: temp file, fsync, rename, fsync of
/// the directory. `pauseMidwayMs` (tests only) sleeps halfway through writing the temp file.
#[napi(catch_unwind)]
pub fn save_checkpoint_file(path: String, tensors: Vec<CheckpointTensor>, metadata: String, pause_midway_ms: Option<u32>) -> Result<()> {
    let mut list = Vec::with_capacity(tensors.len());
    for t in &tensors {
        let values = match (&t.f32, &t.f64, t.dtype.as_deref()) {
            (Some(a), None, None | Some("float32")) => Values::F32(a),
            (None, Some(a), None | Some("float64")) => Values::F64(a),
            (None, Some(a), Some("int64")) => Values::I64(a),
            _ => return Err(invalid(format!("tensor '{}': give exactly one of f32 or f64 (dtype 'int64' with f64 only)", t.name))),
        };
        list.push(TensorIn { name: t.name.clone(), shape: t.shape.iter().map(|&d| d as usize).collect(), values });
    }
    let options = WriteOptions { pause_midway: pause_midway_ms.map(|ms| Duration::from_millis(u64::from(ms))) };
    anvil_checkpoint::write(Path::new(&path), &list, &metadata, &options).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
}

/// Reads a safetensors file: tensors in file order and Anvil's metadata string.
#[napi(catch_unwind)]
pub fn load_checkpoint_file(path: String) -> Result<LoadedCheckpoint> {
    let file = anvil_checkpoint::read(Path::new(&path)).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    let tensors = file
        .tensors
        .into_iter()
        .map(|t| {
            let shape = t.shape.iter().map(|&d| u32::try_from(d).map_err(|_| invalid(format!("tensor '{}': dimension {d} too large", t.name)))).collect::<Result<Vec<_>>>()?;
            let (f32, f64) = match t.data {
                Data::F32(v) => (Some(Float32Array::new(v)), None),
                Data::F64(v) => (None, Some(Float64Array::new(v))),
            };
            Ok(LoadedTensor { name: t.name, dtype: t.dtype, shape, f32, f64 })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LoadedCheckpoint { metadata: file.metadata, tensors })
}
