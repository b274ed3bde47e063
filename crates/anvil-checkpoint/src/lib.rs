//! Anvil's checkpoint files: named f32/f64/i64 tensors and a JSON metadata string in one
//! safetensors file, written atomically, and read back (foreign f16/bf16/int files widened).

mod atomic;
mod error;
mod tensors;

pub use atomic::{temp_path, write_atomic, WriteOptions};
pub use error::CheckpointError;
pub use tensors::{deserialize, read, serialize, write, Checkpoint, Data, TensorIn, TensorOut, Values, METADATA_KEY};
