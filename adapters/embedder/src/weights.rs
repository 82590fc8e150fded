//! Model weights read from `model.safetensors` straight into the tensors' own memory.
//!
//! candle's loaders hold the whole file (read or mapped) while they copy
//! every tensor out of it, so loading peaked at twice the model's size. Here each tensor is
//! read from its offset in the file into the buffer that becomes the tensor, through a small
//! chunk: the peak is the model itself.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// The tensors of one safetensors file, read on demand. Cheap to clone: clones share the
/// open file and the parsed header.
#[derive(Clone)]
pub(crate) struct FileWeights {
    file: Arc<File>,
    /// Where tensor data starts: after the 8-byte length and the JSON header.
    data_start: u64,
    entries: Arc<HashMap<String, Entry>>,
}

fn invalid(what: impl std::fmt::Display) -> candle_core::Error {
    candle_core::Error::Msg(format!("model.safetensors: {what}"))
}

impl FileWeights {
    pub(crate) fn open(path: &Path) -> Result<Self, candle_core::Error> {
        let file = File::open(path).map_err(invalid)?;
        let mut len = [0u8; 8];
        file.read_exact_at(&mut len, 0).map_err(invalid)?;
        let header_len = u64::from_le_bytes(len);
        if header_len > 100 * 1024 * 1024 {
            return Err(invalid(format!("header of {header_len} bytes")));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact_at(&mut header, 8).map_err(invalid)?;
        let mut raw: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(invalid)?;
        raw.remove("__metadata__");
        let entries = raw
            .into_iter()
            .map(|(name, v)| {
                serde_json::from_value::<Entry>(v)
                    .map(|e| (name.clone(), e))
                    .map_err(|e| invalid(format!("tensor {name}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            file: Arc::new(file),
            data_start: 8 + header_len,
            entries: Arc::new(entries),
        })
    }

    /// The F32 tensor `name`, its data's offsets checked against its shape.
    fn f32_entry(&self, name: &str) -> candle_core::Result<&Entry> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| invalid(format!("no tensor {name}")))?;
        if entry.dtype != "F32" {
            return Err(invalid(format!(
                "tensor {name} is {}, only F32 is supported",
                entry.dtype
            )));
        }
        let [start, end] = entry.data_offsets;
        let count: usize = entry.shape.iter().product();
        if end < start || (end - start) as usize != count * 4 {
            return Err(invalid(format!(
                "tensor {name}: offsets do not match its shape"
            )));
        }
        Ok(entry)
    }

    /// Appends the `bytes` bytes of little-endian f32 at `at` (from the tensor data's start)
    /// to `values`, read through `chunk`.
    fn read_f32s(
        &self,
        at: u64,
        bytes: usize,
        chunk: &mut [u8],
        values: &mut Vec<f32>,
    ) -> candle_core::Result<()> {
        let mut at = self.data_start + at;
        let stop = at + bytes as u64;
        while at < stop {
            let n = chunk.len().min((stop - at) as usize);
            self.file
                .read_exact_at(&mut chunk[..n], at)
                .map_err(invalid)?;
            values.extend(
                chunk[..n]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            at += n as u64;
        }
        Ok(())
    }

    /// Rows `ids` of the 2-D F32 tensor `name` (an embedding table), read from the file as
    /// `(ids.len(), width)`: only the rows a text uses are ever in memory.
    pub(crate) fn rows(
        &self,
        name: &str,
        ids: &[u32],
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let entry = self.f32_entry(name)?;
        let [count, width] = entry.shape[..] else {
            return Err(invalid(format!("tensor {name} is not a table")));
        };
        let row_bytes = width * 4;
        let mut row = vec![0u8; row_bytes];
        let mut values: Vec<f32> = Vec::with_capacity(ids.len() * width);
        for &id in ids {
            let id = id as usize;
            if id >= count {
                return Err(invalid(format!("row {id} of {name}, which has {count}")));
            }
            let at = entry.data_offsets[0] + (id * row_bytes) as u64;
            self.read_f32s(at, row_bytes, &mut row, &mut values)?;
        }
        Tensor::from_vec(values, (ids.len(), width), device)
    }

    fn read(&self, name: &str, dtype: DType, device: &Device) -> candle_core::Result<Tensor> {
        let entry = self.f32_entry(name)?;
        let [start, end] = entry.data_offsets;
        let mut values: Vec<f32> = Vec::with_capacity((end - start) as usize / 4);
        let mut chunk = vec![0u8; 64 * 1024];
        self.read_f32s(start, (end - start) as usize, &mut chunk, &mut values)?;
        Tensor::from_vec(values, entry.shape.clone(), device)?.to_dtype(dtype)
    }
}

impl SimpleBackend for FileWeights {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _init: candle_nn::Init,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let tensor = self.read(name, dtype, device)?;
        if tensor.shape() != &shape {
            return Err(invalid(format!(
                "tensor {name} has shape {:?}, the model expects {shape:?}",
                tensor.shape()
            )));
        }
        Ok(tensor)
    }

    fn get_unchecked(
        &self,
        name: &str,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        self.read(name, dtype, device)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
}
