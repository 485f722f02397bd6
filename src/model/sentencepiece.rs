//! The SentencePiece unigram tokenizer of USE multilingual v3, read from its `sp.model` file.
//!
//! Three parts, each as SentencePiece does them for this model:
//! 1. the `nmt_nfkc` normaliser, a precompiled character map: a darts-clone double-array trie over
//!    UTF-8 bytes whose leaves point into a table of NUL-terminated replacements; the longest match
//!    at each position wins;
//! 2. whitespace handling: leading, trailing and repeated spaces removed, a dummy prefix space,
//!    spaces written as U+2581;
//! 3. Viterbi segmentation over the piece scores, in characters, with a single-character unknown
//!    piece where no piece starts.
//!
//! The model file is a protobuf `ModelProto` in the legacy layout this model uses: field 1 the
//! pieces (each with field 1 the text, field 2 the score), field 3 the trainer spec whose field 2
//! is the character map. The token ids are checked against the reference package's in
//! `tests/data/use-reference.json`.

use rustc_hash::FxHashMap;

use crate::{Error, Result};

/// Id of the unknown piece.
pub const UNK: u32 = 0;
/// Id of the beginning-of-sentence piece.
pub const BOS: u32 = 1;
/// Id of the end-of-sentence piece.
pub const EOS: u32 = 2;

const SPACE: char = '\u{2581}';

/// A loaded tokenizer.
pub struct Tokenizer {
    /// Piece text (prefixes included) -> piece id + 1, or 0 for a prefix that is no piece.
    prefixes: FxHashMap<Box<str>, u32>,
    scores: Vec<f32>,
    unk_score: f64,
    /// Longest piece, in characters.
    max_len: usize,
    normalizer: Normalizer,
}

impl Tokenizer {
    /// Reads a serialised `ModelProto`.
    pub fn from_proto(data: &[u8]) -> Result<Tokenizer> {
        let bad = |what: &str| Error::Model(format!("sp.model: {what}"));
        let top = fields(data).map_err(|e| bad(&e))?;
        let mut pieces = Vec::new();
        let mut scores = Vec::new();
        for &(field, value) in &top {
            if field != 1 {
                continue;
            }
            let mut piece = None;
            let mut score = 0.0f32;
            for (f, v) in fields(value).map_err(|e| bad(&e))? {
                match f {
                    1 => piece = Some(std::str::from_utf8(v).map_err(|_| bad("a piece is not UTF-8"))?),
                    2 if v.len() == 4 => score = f32::from_le_bytes(v.try_into().expect("4 bytes")),
                    _ => {}
                }
            }
            if let Some(p) = piece {
                pieces.push(p);
                scores.push(score);
            }
        }
        if pieces.len() < 3 {
            return Err(bad("no pieces"));
        }
        let charsmap = top
            .iter()
            .find(|(f, _)| *f == 3)
            .map(|&(_, v)| fields(v).map_err(|e| bad(&e)))
            .transpose()?
            .and_then(|tf| tf.into_iter().find(|(f, _)| *f == 2).map(|(_, v)| v));
        let normalizer = Normalizer::new(charsmap).map_err(|e| bad(&e))?;

        let mut prefixes: FxHashMap<Box<str>, u32> =
            FxHashMap::with_capacity_and_hasher(pieces.len() * 3, Default::default());
        let mut max_len = 0;
        for (id, piece) in pieces.iter().enumerate() {
            let mut chars = 0;
            for (at, _) in piece.char_indices().skip(1) {
                prefixes.entry(piece[..at].into()).or_insert(0);
                chars += 1;
            }
            max_len = max_len.max(chars + 1);
            prefixes.insert((*piece).into(), id as u32 + 1);
        }
        let unk_score = scores.iter().copied().fold(f32::INFINITY, f32::min) as f64 - 10.0;
        Ok(Tokenizer { prefixes, scores, unk_score, max_len, normalizer })
    }

    /// Number of pieces.
    pub fn vocab_size(&self) -> usize {
        self.scores.len()
    }

    /// Token ids of `text`, with the sentence markers around them.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let normalized = self.normalizer.normalize(text);
        let mut ids = Vec::with_capacity(normalized.len() / 3 + 2);
        ids.push(BOS);
        if normalized.is_empty() {
            ids.push(UNK);
        } else {
            self.viterbi(&normalized, &mut ids);
        }
        ids.push(EOS);
        ids
    }

    /// The best segmentation, as SentencePiece's lattice finds it: for every position, all pieces
    /// starting there share the best path ending there (earliest start wins ties).
    fn viterbi(&self, s: &str, out: &mut Vec<u32>) {
        let offsets: Vec<usize> = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).collect();
        let n = offsets.len() - 1;
        let mut best = vec![-1e38f64; n + 1];
        best[0] = 0.0;
        let mut start_of = vec![0usize; n + 1];
        let mut piece_of = vec![0u32; n + 1];
        for i in 0..n {
            let base = best[i];
            let stop = (i + self.max_len).min(n);
            let mut has_single = false;
            for j in i + 1..=stop {
                let Some(&v) = self.prefixes.get(&s[offsets[i]..offsets[j]]) else { break };
                if v > 0 {
                    let score = base + self.scores[v as usize - 1] as f64;
                    if score > best[j] {
                        best[j] = score;
                        start_of[j] = i;
                        piece_of[j] = v - 1;
                    }
                    if j == i + 1 {
                        has_single = true;
                    }
                }
            }
            if !has_single {
                let score = base + self.unk_score;
                if score > best[i + 1] {
                    best[i + 1] = score;
                    start_of[i + 1] = i;
                    piece_of[i + 1] = UNK;
                }
            }
        }
        let first = out.len();
        let mut p = n;
        while p > 0 {
            out.push(piece_of[p]);
            p = start_of[p];
        }
        out[first..].reverse();
    }
}

/// The precompiled `nmt_nfkc` character map.
struct Normalizer {
    units: Vec<u32>,
    replacements: Vec<u8>,
}

impl Normalizer {
    fn new(charsmap: Option<&[u8]>) -> std::result::Result<Normalizer, String> {
        let Some(map) = charsmap else {
            return Ok(Normalizer { units: Vec::new(), replacements: Vec::new() });
        };
        if map.len() < 4 {
            return Err("character map too short".into());
        }
        let trie_size = u32::from_le_bytes(map[..4].try_into().expect("4 bytes")) as usize;
        if !trie_size.is_multiple_of(4) || 4 + trie_size > map.len() {
            return Err("character map trie size out of range".into());
        }
        let units =
            map[4..4 + trie_size].chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4"))).collect();
        Ok(Normalizer { units, replacements: map[4 + trie_size..].to_vec() })
    }

    fn offset(unit: u32) -> usize {
        ((unit >> 10) << ((unit & 0x200) >> 6)) as usize
    }

    /// The replacement of the longest key at `data[pos..]` and the bytes it consumes; without a
    /// key, the character itself.
    fn normalize_prefix<'a>(&'a self, data: &'a [u8], pos: usize) -> (&'a [u8], usize) {
        let mut best_len = 0;
        let mut best_value = 0usize;
        if !self.units.is_empty() {
            let mut node = Self::offset(self.units[0]);
            let mut i = pos;
            while i < data.len() {
                let c = data[i];
                node ^= c as usize;
                let Some(&unit) = self.units.get(node) else { break };
                if unit & 0x8000_00FF != c as u32 {
                    break;
                }
                node ^= Self::offset(unit);
                i += 1;
                if unit & 0x100 != 0 {
                    best_len = i - pos;
                    best_value = self.units.get(node).map_or(usize::MAX, |u| (u & 0x7FFF_FFFF) as usize);
                }
            }
        }
        if best_len == 0 || best_value >= self.replacements.len() {
            let first = data[pos];
            let len = match first {
                0x00..=0x7F => 1,
                _ if first >> 5 == 0x6 => 2,
                _ if first >> 4 == 0xE => 3,
                _ if first >> 3 == 0x1E => 4,
                _ => 1,
            };
            let len = if (1..len).all(|k| data.get(pos + k).is_some_and(|b| b & 0xC0 == 0x80)) { len } else { 1 };
            return (&data[pos..pos + len], len);
        }
        let rest = &self.replacements[best_value..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        (&rest[..end], best_len)
    }

    fn normalize(&self, text: &str) -> String {
        let raw = text.as_bytes();
        let n = raw.len();
        let mut pos = 0;
        while pos < n {
            let (p, adv) = self.normalize_prefix(raw, pos);
            if p != b" " {
                break;
            }
            pos += adv;
        }
        if pos >= n {
            return String::new();
        }
        let mut out: Vec<u8> = Vec::with_capacity(n + 8);
        let mut space = [0u8; 4];
        let space = SPACE.encode_utf8(&mut space).as_bytes();
        out.extend_from_slice(space);
        let mut prev_space = true;
        while pos < n {
            let (mut p, adv) = self.normalize_prefix(raw, pos);
            pos += adv;
            if prev_space {
                while let [b' ', rest @ ..] = p {
                    p = rest;
                }
            }
            if p.is_empty() {
                continue;
            }
            if p.contains(&b' ') {
                for &b in p {
                    if b == b' ' {
                        out.extend_from_slice(space);
                    } else {
                        out.push(b);
                    }
                }
                prev_space = p.last() == Some(&b' ');
            } else {
                out.extend_from_slice(p);
                prev_space = false;
            }
        }
        while out.ends_with(space) {
            out.truncate(out.len() - space.len());
        }
        // Replacements are UTF-8 and whole characters are copied, so this only fails on a
        // corrupt map; keep what decodes rather than panic.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// The length-delimited and 32-bit fields of one protobuf message, in order.
fn fields(data: &[u8]) -> std::result::Result<Vec<(u64, &[u8])>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let key = varint(data, &mut pos)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                varint(data, &mut pos)?;
            }
            1 => pos += 8,
            2 => {
                let len = varint(data, &mut pos)? as usize;
                let end = pos.checked_add(len).filter(|&e| e <= data.len()).ok_or("truncated field")?;
                out.push((field, &data[pos..end]));
                pos = end;
            }
            5 => {
                let end = pos + 4;
                if end > data.len() {
                    return Err("truncated field".into());
                }
                out.push((field, &data[pos..end]));
                pos = end;
            }
            w => return Err(format!("unsupported wire type {w}")),
        }
    }
    if pos > data.len() {
        return Err("truncated message".into());
    }
    Ok(out)
}

fn varint(data: &[u8], pos: &mut usize) -> std::result::Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        v |= ((b & 0x7F) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}
