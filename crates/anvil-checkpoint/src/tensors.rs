//! Named tensors and a metadata string to and from safetensors bytes, through the
//! `safetensors` crate: f32/f64 written as they are, integers kept in f64 written as I64.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use safetensors::{Dtype, SafeTensors, View};

use crate::atomic::{write_atomic, WriteOptions};
use crate::error::CheckpointError;

/// The `__metadata__` key holding Anvil's JSON (safetensors metadata is a string map).
pub const METADATA_KEY: &str = "anvil";

/// A tensor's values as handed in. `I64` holds exact integers (|n| <= 2^53) in f64, as Anvil's
/// int64 buffers do; they are stored as safetensors I64.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    I64(&'a [f64]),
}

#[derive(Debug, Clone)]
pub struct TensorIn<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Values<'a>,
}

/// Values read back: f32 for F32/F16/BF16 tensors, f64 for F64 and every integer type.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

#[derive(Debug, Clone)]
pub struct TensorOut {
    pub name: String,
    /// The stored safetensors dtype, e.g. "F32", "I64", "BF16".
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: Data,
}

#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The `anvil` entry of `__metadata__` (None in files written by other tools).
    pub metadata: Option<String>,
    /// Tensors in file order.
    pub tensors: Vec<TensorOut>,
}

struct Prepared<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Cow<'a, [u8]>,
}

impl View for &Prepared<'_> {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The little-endian bytes of a float slice (borrowed on little-endian hosts).
macro_rules! le_bytes {
    ($v:expr, $t:ty) => {{
        let v: &[$t] = $v;
        #[cfg(target_endian = "little")]
        {
            // SAFETY: floats have no padding and every byte pattern is a valid u8; the length
            // covers exactly the slice's memory, which outlives the borrow.
            Cow::Borrowed(unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) })
        }
        #[cfg(not(target_endian = "little"))]
        {
            Cow::Owned(v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
        }
    }};
}

fn prepare<'a>(t: &TensorIn<'a>) -> Result<Prepared<'a>, CheckpointError> {
    let n: usize = t.shape.iter().product();
    let (len, dtype, bytes) = match t.values {
        Values::F32(v) => (v.len(), Dtype::F32, le_bytes!(v, f32)),
        Values::F64(v) => (v.len(), Dtype::F64, le_bytes!(v, f64)),
        Values::I64(v) => {
            let mut out = Vec::with_capacity(v.len() * 8);
            for (i, &x) in v.iter().enumerate() {
                if x.fract() != 0.0 || !x.is_finite() || x.abs() > 9_007_199_254_740_992.0 {
                    return Err(CheckpointError::new(format!("tensor '{}': element {i} ({x}) is not an exact int64", t.name)));
                }
                out.extend_from_slice(&(x as i64).to_le_bytes());
            }
            (v.len(), Dtype::I64, Cow::Owned(out))
        }
    };
    if n != len {
        return Err(CheckpointError::new(format!("tensor '{}': shape {:?} holds {n} values, the data {len}", t.name, t.shape)));
    }
    Ok(Prepared { dtype, shape: t.shape.clone(), bytes })
}

/// The safetensors bytes of `tensors` with `metadata` under `__metadata__["anvil"]`.
pub fn serialize(tensors: &[TensorIn<'_>], metadata: &str) -> Result<Vec<u8>, CheckpointError> {
    let mut seen = HashSet::new();
    for t in tensors {
        if t.name.is_empty() || t.name == "__metadata__" {
            return Err(CheckpointError::new(format!("invalid tensor name '{}'", t.name)));
        }
        if !seen.insert(t.name.as_str()) {
            return Err(CheckpointError::new(format!("tensor name '{}' appears twice", t.name)));
        }
    }
    let prepared = tensors.iter().map(prepare).collect::<Result<Vec<_>, _>>()?;
    let info = HashMap::from([(METADATA_KEY.to_string(), metadata.to_string())]);
    safetensors::serialize(tensors.iter().map(|t| t.name.as_str()).zip(prepared.iter()), Some(info))
        .map_err(|e| CheckpointError::new(format!("safetensors: {e}")))
}

/// Writes a checkpoint file atomically (see `write_atomic`).
pub fn write(path: &Path, tensors: &[TensorIn<'_>], metadata: &str, options: &WriteOptions) -> Result<(), CheckpointError> {
    let bytes = serialize(tensors, metadata)?;
    write_atomic(path, &bytes, options)
}

fn widen(view: &safetensors::tensor::TensorView<'_>, name: &str) -> Result<Data, CheckpointError> {
    let b = view.data();
    fn each<const N: usize, T>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        b.chunks_exact(N).map(|c| f(c.try_into().expect("chunks_exact gives N bytes"))).collect()
    }
    Ok(match view.dtype() {
        Dtype::F32 => Data::F32(each(b, f32::from_le_bytes)),
        Dtype::F16 => Data::F32(each(b, |c| half::f16::from_le_bytes(c).to_f32())),
        Dtype::BF16 => Data::F32(each(b, |c| half::bf16::from_le_bytes(c).to_f32())),
        Dtype::F64 => Data::F64(each(b, f64::from_le_bytes)),
        Dtype::I64 => Data::F64(each(b, |c| i64::from_le_bytes(c) as f64)),
        Dtype::U64 => Data::F64(each(b, |c| u64::from_le_bytes(c) as f64)),
        Dtype::I32 => Data::F64(each(b, |c| f64::from(i32::from_le_bytes(c)))),
        Dtype::U32 => Data::F64(each(b, |c| f64::from(u32::from_le_bytes(c)))),
        Dtype::I16 => Data::F64(each(b, |c| f64::from(i16::from_le_bytes(c)))),
        Dtype::U16 => Data::F64(each(b, |c| f64::from(u16::from_le_bytes(c)))),
        Dtype::I8 => Data::F64(b.iter().map(|&x| f64::from(x as i8)).collect()),
        Dtype::U8 | Dtype::BOOL => Data::F64(b.iter().map(|&x| f64::from(x)).collect()),
        other => return Err(CheckpointError::new(format!("tensor '{name}': dtype {other:?} cannot be read by Anvil"))),
    })
}

/// Parses safetensors bytes: the tensors in file order and Anvil's metadata string.
pub fn deserialize(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let err = |e: safetensors::SafeTensorError| CheckpointError::new(format!("not a valid safetensors file: {e}"));
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(err)?;
    let metadata = header.metadata().as_ref().and_then(|m| m.get(METADATA_KEY).cloned());
    let file = SafeTensors::deserialize(bytes).map_err(err)?;
    let mut tensors = Vec::with_capacity(file.len());
    for name in header.offset_keys() {
        let view = file.tensor(&name).map_err(err)?;
        let data = widen(&view, &name)?;
        tensors.push(TensorOut { dtype: format!("{:?}", view.dtype()), shape: view.shape().to_vec(), name, data });
    }
    Ok(Checkpoint { metadata, tensors })
}

/// Reads a checkpoint file.
pub fn read(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|e| CheckpointError::new(format!("cannot read {}: {e}", path.display())))?;
    deserialize(&bytes).map_err(|e| CheckpointError::new(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_values_shapes_and_metadata() {
        let w = [1.5f32, -2.0, 3.25, f32::MIN_POSITIVE, 0.0, -0.0];
        let d = [std::f64::consts::PI, 1e300];
        let n = [7.0f64, -3.0, 9_007_199_254_740_992.0];
        let tensors = vec![
            TensorIn { name: "state_dict.fc.weight".into(), shape: vec![2, 3], values: Values::F32(&w) },
            TensorIn { name: "a.f64".into(), shape: vec![2], values: Values::F64(&d) },
            TensorIn { name: "bn.num_batches_tracked".into(), shape: vec![3], values: Values::I64(&n) },
            TensorIn { name: "empty".into(), shape: vec![0], values: Values::F32(&[]) },
        ];
        let bytes = serialize(&tensors, r#"{"iter":3}"#).unwrap();
        let back = deserialize(&bytes).unwrap();
        assert_eq!(back.metadata.as_deref(), Some(r#"{"iter":3}"#));
        let by_name: HashMap<_, _> = back.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        let fc = by_name["state_dict.fc.weight"];
        assert_eq!(fc.shape, vec![2, 3]);
        assert_eq!(fc.dtype, "F32");
        let Data::F32(v) = &fc.data else { panic!("f32 expected") };
        assert_eq!(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), w.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        assert_eq!(by_name["a.f64"].data, Data::F64(d.to_vec()));
        assert_eq!(by_name["bn.num_batches_tracked"].dtype, "I64");
        assert_eq!(by_name["bn.num_batches_tracked"].data, Data::F64(n.to_vec()));
        assert_eq!(by_name["empty"].data, Data::F32(vec![]));
    }

    #[test]
    fn refuses_bad_input() {
        let v = [1.0f32, 2.0];
        let bad_shape = [TensorIn { name: "x".into(), shape: vec![3], values: Values::F32(&v) }];
        assert!(serialize(&bad_shape, "{}").unwrap_err().0.contains("shape [3] holds 3 values, the data 2"));
        let twice = [
            TensorIn { name: "x".into(), shape: vec![2], values: Values::F32(&v) },
            TensorIn { name: "x".into(), shape: vec![2], values: Values::F32(&v) },
        ];
        assert!(serialize(&twice, "{}").unwrap_err().0.contains("appears twice"));
        let frac = [TensorIn { name: "n".into(), shape: vec![1], values: Values::I64(&[0.5]) }];
        assert!(serialize(&frac, "{}").unwrap_err().0.contains("not an exact int64"));
        assert!(deserialize(b"garbage!").unwrap_err().0.contains("not a valid safetensors file"));
    }

    #[test]
    fn reads_half_precision_tensors_of_other_tools() {
        let h = [half::f16::from_f32(0.5), half::f16::from_f32(-2.0)];
        let bytes: Vec<u8> = h.iter().flat_map(|x| x.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(Dtype::F16, vec![2], &bytes).unwrap();
        let file = safetensors::serialize([("h", view)], None).unwrap();
        let back = deserialize(&file).unwrap();
        assert_eq!(back.metadata, None);
        assert_eq!(back.tensors[0].data, Data::F32(vec![0.5, -2.0]));
        assert_eq!(back.tensors[0].dtype, "F16");
    }

    #[test]
    fn writes_atomically_and_replaces_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("iter_1.safetensors");
        let v = [1.0f32];
        write(&path, &[TensorIn { name: "a".into(), shape: vec![1], values: Values::F32(&v) }], "{\"n\":1}", &WriteOptions::default()).unwrap();
        let v2 = [2.0f32];
        write(&path, &[TensorIn { name: "a".into(), shape: vec![1], values: Values::F32(&v2) }], "{\"n\":2}", &WriteOptions::default()).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.metadata.as_deref(), Some("{\"n\":2}"));
        assert_eq!(back.tensors[0].data, Data::F32(vec![2.0]));
        assert!(!crate::atomic::temp_path(&path).exists(), "the temp file is renamed away");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails, the temp file is removed.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("x"), b"keep").unwrap();
        let err = write(&path, &[], "{}", &WriteOptions::default()).unwrap_err();
        assert!(err.0.contains("cannot rename"), "{err}");
        assert!(!crate::atomic::temp_path(&path).exists());
        assert!(read(&dir.path().join("missing")).unwrap_err().0.contains("cannot read"));
    }
}
