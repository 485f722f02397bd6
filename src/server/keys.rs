//! Named API keys with scopes. Keys are made by `wash-lessons keys add`, shown once, and kept
//! only as BLAKE3 hashes in `wash-lessons.keys.json` beside the index; a request's key is hashed
//! and compared in constant time with every stored hash. The file is read again on each write
//! request, so keys added or revoked while the server runs count at once.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::{Error, Result};

/// The keys file, beside the index.
pub const FILE: &str = "wash-lessons.keys.json";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Upload and delete documents.
    #[serde(rename = "documents:write")]
    DocumentsWrite,
    /// Correct the facets of documents (curators).
    #[serde(rename = "facets:write")]
    FacetsWrite,
    /// Everything.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope, as written.
    pub const ALL: [(&'static str, Scope); 3] =
        [("documents:write", Scope::DocumentsWrite), ("facets:write", Scope::FacetsWrite), ("admin", Scope::Admin)];

    /// The scope named `s`.
    pub fn parse(s: &str) -> Result<Scope> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, sc)| *sc).ok_or_else(|| {
            Error::Config(format!(
                "unknown scope {s:?}: one of {}",
                Self::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// How it is written.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, sc)| *sc == self).map(|(n, _)| *n).unwrap_or("admin")
    }
}

/// One stored key (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Who or what holds it; written in the log beside every write it makes.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// BLAKE3 of the key, hex.
    pub hash: String,
    /// The key's first characters, to tell keys apart in `keys list`.
    pub prefix: String,
    /// When it was made (RFC 3339).
    pub created: String,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeysFile {
    keys: Vec<KeyRecord>,
}

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No key, a wrong one, or a revoked one.
    Unauthorized,
    /// A good key without the scope.
    Forbidden,
}

/// The keys of an index.
#[derive(Debug)]
pub struct Keys {
    path: PathBuf,
    records: Vec<KeyRecord>,
}

fn hash(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex().to_string()
}

impl Keys {
    /// The keys kept beside the index in `dir` (none when there is no file yet).
    pub fn load(dir: &Path) -> Result<Keys> {
        let path = dir.join(FILE);
        let records = match std::fs::read(&path) {
            Ok(b) => {
                serde_json::from_slice::<KeysFile>(&b)
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
                    .keys
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(Error::Io { path, source }),
        };
        Ok(Keys { path, records })
    }

    /// Every key, revoked ones included.
    pub fn list(&self) -> &[KeyRecord] {
        &self.records
    }

    /// Whether any key is in force.
    pub fn any_active(&self) -> bool {
        self.records.iter().any(|r| r.revoked.is_none())
    }

    /// Makes a key named `name` with `scopes`, stores its hash, and returns the key: the only
    /// time it is seen in clear.
    pub fn add(&mut self, name: &str, scopes: &[Scope]) -> Result<String> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control()) {
            return Err(Error::Config(format!("a key's name is 1 to 64 printable characters, not {name:?}")));
        }
        if scopes.is_empty() {
            return Err(Error::Config("a key needs at least one scope".into()));
        }
        if self.records.iter().any(|r| r.revoked.is_none() && r.name == name) {
            return Err(Error::Config(format!("a key named {name:?} is already in force; revoke it first")));
        }
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| Error::Config(format!("no randomness for a key: {e}")))?;
        let key = format!("wl_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let mut scopes = scopes.to_vec();
        scopes.dedup();
        self.records.push(KeyRecord {
            name: name.to_string(),
            scopes,
            hash: hash(&key),
            prefix: key[..7].to_string(),
            created: crate::ingest::rfc3339(std::time::SystemTime::now()),
            revoked: None,
        });
        self.save()?;
        Ok(key)
    }

    /// Revokes the key in force named `name`.
    pub fn revoke(&mut self, name: &str) -> Result<()> {
        let r = self
            .records
            .iter_mut()
            .find(|r| r.revoked.is_none() && r.name == name)
            .ok_or_else(|| Error::Config(format!("no key in force named {name:?}")))?;
        r.revoked = Some(crate::ingest::rfc3339(std::time::SystemTime::now()));
        self.save()
    }

    fn save(&self) -> Result<()> {
        let body = serde_json::to_vec_pretty(&KeysFile { keys: self.records.clone() }).expect("serialisable");
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, body)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|source| Error::Io { path: self.path.clone(), source })
    }

    /// The name of the key `given` when it is in force and has `scope` (or `admin`).
    /// Every stored hash is compared, in constant time, whatever matched first.
    pub fn check(&self, given: &str, scope: Scope) -> std::result::Result<String, Refusal> {
        let h = hash(given);
        let mut found: Option<&KeyRecord> = None;
        for r in &self.records {
            if bool::from(r.hash.as_bytes().ct_eq(h.as_bytes())) {
                found = Some(r);
            }
        }
        match found {
            Some(r) if r.revoked.is_some() => Err(Refusal::Unauthorized),
            Some(r) if r.scopes.iter().any(|s| *s == scope || *s == Scope::Admin) => Ok(r.name.clone()),
            Some(_) => Err(Refusal::Forbidden),
            None => Err(Refusal::Unauthorized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stored_hashed_scoped_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let mut keys = Keys::load(dir.path()).unwrap();
        assert!(!keys.any_active());
        let curator = keys.add("alice (curator)", &[Scope::FacetsWrite]).unwrap();
        let admin = keys.add("ops", &[Scope::Admin]).unwrap();
        assert!(curator.starts_with("wl_") && curator.len() == 51, "{curator}");
        let stored = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(!stored.contains(&curator) && !stored.contains(&admin), "keys are never stored in clear");
        assert!(stored.contains("facets:write"), "{stored}");

        let keys = Keys::load(dir.path()).unwrap();
        assert_eq!(keys.check(&curator, Scope::FacetsWrite), Ok("alice (curator)".into()));
        assert_eq!(keys.check(&curator, Scope::DocumentsWrite), Err(Refusal::Forbidden));
        assert_eq!(keys.check(&admin, Scope::DocumentsWrite), Ok("ops".into()));
        assert_eq!(keys.check("wl_0000", Scope::FacetsWrite), Err(Refusal::Unauthorized));
        assert_eq!(keys.check("", Scope::FacetsWrite), Err(Refusal::Unauthorized));

        let mut keys = keys;
        assert!(keys.add("ops", &[Scope::Admin]).is_err(), "one key in force per name");
        assert!(keys.add("x", &[]).is_err());
        assert!(keys.add("  ", &[Scope::Admin]).is_err());
        keys.revoke("alice (curator)").unwrap();
        assert!(keys.revoke("alice (curator)").is_err());
        let keys = Keys::load(dir.path()).unwrap();
        assert_eq!(keys.check(&curator, Scope::FacetsWrite), Err(Refusal::Unauthorized));
        assert_eq!(keys.list().len(), 2);
        assert!(keys.any_active());
        assert_eq!(Scope::parse("facets:write").unwrap(), Scope::FacetsWrite);
        assert!(Scope::parse("root").is_err());
    }
}
