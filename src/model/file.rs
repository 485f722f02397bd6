//! The compact model file: named tensors and the tokenizer, checked by a BLAKE3 hash.
//!
//! ```text
//! "WLMODEL1"  BLAKE3(rest) [32 bytes]  count:u32
//! count × { name_len:u16 name  dtype:u8 (0 f32, 1 u8)  ndim:u8  dims:u64×ndim  nbytes:u64  data }
//! ```
//! Little-endian throughout. The hash makes a truncated or damaged file an error at load time
//! rather than wrong vectors.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"WLMODEL1";

/// One tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Tensor {
    /// 32-bit floats.
    F32 {
        /// Dimensions.
        shape: Vec<usize>,
        /// Row-major values.
        data: Vec<f32>,
    },
    /// Bytes.
    U8 {
        /// Dimensions.
        shape: Vec<usize>,
        /// Row-major values.
        data: Vec<u8>,
    },
}

/// Tensors by name.
pub type Tensors = BTreeMap<String, Tensor>;

/// Serialises tensors to the model file format.
pub fn to_bytes(tensors: &Tensors) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(tensors.len() as u32).to_le_bytes());
    for (name, t) in tensors {
        body.extend_from_slice(&(name.len() as u16).to_le_bytes());
        body.extend_from_slice(name.as_bytes());
        let (dtype, shape) = match t {
            Tensor::F32 { shape, .. } => (0u8, shape),
            Tensor::U8 { shape, .. } => (1u8, shape),
        };
        body.push(dtype);
        body.push(shape.len() as u8);
        for d in shape {
            body.extend_from_slice(&(*d as u64).to_le_bytes());
        }
        match t {
            Tensor::F32 { data, .. } => {
                body.extend_from_slice(&((data.len() * 4) as u64).to_le_bytes());
                for v in data {
                    body.extend_from_slice(&v.to_le_bytes());
                }
            }
            Tensor::U8 { data, .. } => {
                body.extend_from_slice(&(data.len() as u64).to_le_bytes());
                body.extend_from_slice(data);
            }
        }
    }
    let mut out = Vec::with_capacity(body.len() + 40);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(blake3::hash(&body).as_bytes());
    out.extend_from_slice(&body);
    out
}

/// Reads a model file.
pub fn read(path: &Path) -> Result<Tensors> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    from_bytes(&bytes).map_err(|e| Error::Model(format!("{}: {e}", path.display())))
}

fn from_bytes(bytes: &[u8]) -> std::result::Result<Tensors, String> {
    if bytes.len() < 44 || &bytes[..8] != MAGIC {
        return Err("not a wash-lessons model file".into());
    }
    let body = &bytes[40..];
    if blake3::hash(body).as_bytes() != &bytes[8..40] {
        return Err("damaged (checksum mismatch); run `wash-lessons model install` again".into());
    }
    let mut r = Reader { data: body, pos: 0 };
    let count = u32::from_le_bytes(r.take(4)?.try_into().expect("4")) as usize;
    let mut out = Tensors::new();
    for _ in 0..count {
        let name_len = u16::from_le_bytes(r.take(2)?.try_into().expect("2")) as usize;
        let name = String::from_utf8(r.take(name_len)?.to_vec()).map_err(|_| "tensor name is not UTF-8")?;
        let head = r.take(2)?;
        let (dtype, ndim) = (head[0], head[1] as usize);
        let mut shape = Vec::with_capacity(ndim);
        for _ in 0..ndim {
            shape.push(r.u64()? as usize);
        }
        let nbytes = r.u64()? as usize;
        let data = r.take(nbytes)?;
        let elems: usize = shape.iter().product();
        let t = match dtype {
            0 if nbytes == elems * 4 => Tensor::F32 {
                shape,
                data: data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4"))).collect(),
            },
            1 if nbytes == elems => Tensor::U8 { shape, data: data.to_vec() },
            _ => return Err(format!("tensor {name}: bad type or size")),
        };
        out.insert(name, t);
    }
    Ok(out)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or("truncated")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let mut t = Tensors::new();
        t.insert("a".into(), Tensor::F32 { shape: vec![2, 2], data: vec![1.0, -2.0, 3.5, 0.0] });
        t.insert("b".into(), Tensor::U8 { shape: vec![3], data: vec![7, 8, 9] });
        let mut bytes = to_bytes(&t);
        assert_eq!(from_bytes(&bytes).unwrap(), t);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(from_bytes(&bytes).unwrap_err().contains("checksum"));
        assert!(from_bytes(&bytes[..30]).is_err());
        assert!(from_bytes(b"PK\x03\x04 something else entirely, long enough to pass").is_err());
    }
}
