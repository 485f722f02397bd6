//! `wash-lessons tagger`: the facet tagger's evidence and training.
//!
//! `tagger train` learns the word classifiers and the weights that combine the evidence from
//! labelled real texts (see benches/tagging.sh) and writes `index-config/tagger.json`.
//! `tagger features FILE...` prints, one JSON line per file, what the tagger weighs: the term
//! scores of every facet path and the sentence vectors of the passages (as stored in the index,
//! after int8 quantisation). It serves training and analysis with other tools.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::enrich::meaning::Prototypes;
use crate::enrich::train::{self, TrainDoc, TrainOptions};
use crate::enrich::{passages, Enricher};
use crate::extract::Limits;
use crate::ingest;

use super::{exit, fatal, load_model};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Learn the tagger from labelled documents and write its weights (tagger.json).
    Train(TrainArgs),
    /// Learn from the curators' corrections of an index: adjust the tagger with the corrected
    /// documents and write the weights beside the index (used by its next run and by serve).
    Learn(LearnArgs),
    /// Print the evidence the tagger weighs for each file, as JSON lines.
    Features(FeaturesArgs),
}

#[derive(Debug, clap::Args)]
struct LearnArgs {
    /// Index directory.
    #[arg(long, value_name = "DIR", default_value = super::DEFAULT_INDEX)]
    index: PathBuf,
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    /// Labelled real texts: a manifest in the development set's format (id, language, context,
    /// technology, failure_cause columns). Repeat for more sets; none: the development set
    /// (../shared/realdev/manifest.tsv) and the project's extra rows (benches/realdev-extra.tsv).
    #[arg(long = "tsv", value_name = "TSV")]
    tsv: Vec<PathBuf>,
    /// The folder of each set's texts (<id>.txt), in the order of --tsv. Default: target/realdev/docs
    /// for the development set, target/realdev-extra/docs for the extra rows.
    #[arg(long = "docs", value_name = "DIR")]
    docs: Vec<PathBuf>,
    /// How much each set's documents count, in the order of the sets (default 1 each).
    #[arg(long = "weight", value_name = "W")]
    weight: Vec<f32>,
    /// Keep only the odd or the even half of the development set (rows rNNN): train on one
    /// half, measure on the other.
    #[arg(long, value_parser = ["odd", "even"])]
    half: Option<String>,
    /// Also learn from a labels file in corpus-sample's format (paths relative to its folder).
    #[arg(long, value_name = "TOML")]
    sample: Option<PathBuf>,
    /// Weight of the documents of --sample (they were written here, not met in the field).
    #[arg(long, default_value_t = 0.5)]
    sample_weight: f32,
    /// Inverse regularisation of the word classifiers.
    #[arg(long, default_value_t = TrainOptions::default().words_c)]
    words_c: f64,
    /// Inverse regularisation of the combination.
    #[arg(long, default_value_t = TrainOptions::default().combine_c)]
    combine_c: f64,
    /// Where to write the weights.
    #[arg(long, value_name = "FILE", default_value = "index-config/tagger.json")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct FeaturesArgs {
    /// Also print a vector per sentence.
    #[arg(long)]
    sentences: bool,
    /// The files.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

#[derive(Serialize)]
struct Features<'a> {
    file: String,
    language: &'a str,
    words: usize,
    title: &'a str,
    facets: Vec<&'a str>,
    term_scores: &'a [crate::document::TermScore],
    passages: Vec<PassageOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sentences: Vec<PassageOut>,
}

#[derive(Serialize)]
struct PassageOut {
    page: u32,
    text: String,
    vector: Vec<f32>,
}

pub fn run(a: Args, config: &Config) -> i32 {
    match a.command {
        Command::Train(t) => train(t, config),
        Command::Learn(l) => learn(l, config),
        Command::Features(f) => features(f, config),
    }
}

fn learn(a: LearnArgs, config: &Config) -> i32 {
    let idx = match crate::index::WashIndex::open(&a.index) {
        Ok(i) => i,
        Err(e) => return fatal(e),
    };
    let Some(encoder) = load_model(None) else { return fatal("learning needs the sentence encoder") };
    match crate::ingest::curate::learn(&idx, config, &encoder) {
        Ok(Some(l)) => {
            println!(
                "learnt from {} corrected documents ({} corrections): wrote {}; the next `index` or `serve` re-tags with it",
                l.documents,
                l.corrections,
                l.written.display()
            );
            exit::OK
        }
        Ok(None) => {
            println!("no corrected document in {}: nothing to learn", a.index.display());
            exit::OK
        }
        Err(e) => fatal(e),
    }
}

/// One labelled file.
struct Labelled {
    file: PathBuf,
    labels: BTreeSet<String>,
    weight: f32,
    /// The thresholds are calibrated on the first set's documents (the development set's
    /// labelling standard).
    calibrate: bool,
}

fn train(a: TrainArgs, config: &Config) -> i32 {
    let mut sets: Vec<(PathBuf, PathBuf)> = Vec::new();
    if a.tsv.is_empty() {
        sets.push((PathBuf::from("../shared/realdev/manifest.tsv"), PathBuf::from("target/realdev/docs")));
        sets.push((PathBuf::from("benches/realdev-extra.tsv"), PathBuf::from("target/realdev-extra/docs")));
    } else {
        if a.docs.len() != a.tsv.len() {
            return fatal("give one --docs folder for each --tsv manifest");
        }
        sets.extend(a.tsv.iter().cloned().zip(a.docs.iter().cloned()));
    }
    let mut items: Vec<Labelled> = Vec::new();
    let mut said = Vec::new();
    for (k, (tsv, dir)) in sets.iter().enumerate() {
        let weight = a.weight.get(k).copied().unwrap_or(1.0);
        match read_tsv(tsv, dir, a.half.as_deref(), weight, k == 0) {
            Ok((found, missing)) => {
                said.push(format!(
                    "{} of {}{}",
                    found.len(),
                    tsv.display(),
                    if missing > 0 { format!(" ({missing} texts missing)") } else { String::new() }
                ));
                items.extend(found);
            }
            Err(e) => return fatal(e),
        }
    }
    if let Some(h) = &a.half {
        said.push(format!("development set: {h} half only"));
    }
    if let Some(toml) = &a.sample {
        match read_sample(toml, a.sample_weight) {
            Ok(found) => {
                said.push(format!("{} of {} (weight {})", found.len(), toml.display(), a.sample_weight));
                items.extend(found);
            }
            Err(e) => return fatal(e),
        }
    }
    if items.is_empty() {
        return fatal("no labelled texts found (see benches/tagging.sh for how to get them)");
    }
    let Some(encoder) = load_model(None) else { return fatal("training the tagger needs the sentence encoder") };
    let enricher = Enricher::new(config);
    let limits = Limits::from(&config.settings.extract);
    let mut candidates: BTreeSet<String> = BTreeSet::new();
    for it in &items {
        candidates.extend(train::category_labels(&it.labels));
    }
    let categories: Vec<String> = candidates.into_iter().collect();
    let prototypes = Prototypes::embed(&encoder, &config.descriptions, &categories);
    let mut docs = Vec::new();
    let mut failed = 0;
    for it in items {
        let display = it.file.to_string_lossy().into_owned();
        let record = match ingest::process(&ingest::Job::file(&it.file, &display), &enricher, &limits, &|| {}) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{display}: {e}");
                failed += 1;
                continue;
            }
        };
        let (vectors, _) = crate::ingest::embed::embed_record(&encoder, &record);
        docs.push(TrainDoc {
            meaning: prototypes.relative(&vectors),
            record,
            labels: it.labels,
            weight: it.weight,
            calibrate: it.calibrate,
        });
    }
    let o = TrainOptions { categories, words_c: a.words_c, combine_c: a.combine_c, ..TrainOptions::default() };
    let (mut file, report) = train::train(&docs, &o);
    let cv: Vec<String> = report.cv_f1.iter().map(|(f, v)| format!("{f} {v:.2}")).collect();
    file.trained = format!(
        "{}: {} labelled texts ({}); {} categories, {} stems; cross-validated F1 with meaning: {}",
        crate::ingest::rfc3339(std::time::SystemTime::now()).get(..10).unwrap_or(""),
        report.documents,
        said.join(", "),
        report.categories,
        report.stems,
        cv.join(", ")
    );
    let body = serde_json::to_string_pretty(&file).expect("serialisable") + "\n";
    if let Err(e) = std::fs::write(&a.out, body) {
        return fatal(format!("cannot write {}: {e}", a.out.display()));
    }
    eprintln!("{}\nwrote {}", file.trained, a.out.display());
    if failed > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

fn read_tsv(
    tsv: &Path,
    dir: &Path,
    half: Option<&str>,
    weight: f32,
    calibrate: bool,
) -> Result<(Vec<Labelled>, usize), String> {
    let text = std::fs::read_to_string(tsv).map_err(|e| format!("cannot read {}: {e}", tsv.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let id_col = col("id").ok_or_else(|| format!("{}: no id column", tsv.display()))?;
    let fams: Vec<usize> = ["context", "technology", "failure_cause"].iter().filter_map(|f| col(f)).collect();
    let mut out = Vec::new();
    let mut missing = 0;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        let id = cells.get(id_col).copied().unwrap_or("");
        if let (Some(h), Some(n)) = (half, id.strip_prefix('r').and_then(|n| n.parse::<u32>().ok())) {
            if (n % 2 == 1) != (h == "odd") {
                continue;
            }
        }
        let file = dir.join(format!("{id}.txt"));
        if !file.is_file() {
            missing += 1;
            continue;
        }
        let labels = fams
            .iter()
            .filter_map(|&c| cells.get(c))
            .flat_map(|v| v.split(';'))
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        out.push(Labelled { file, labels, weight, calibrate });
    }
    Ok((out, missing))
}

fn read_sample(path: &Path, weight: f32) -> Result<Vec<Labelled>, String> {
    #[derive(serde::Deserialize)]
    struct File {
        documents: std::collections::BTreeMap<String, Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        context: Vec<String>,
        #[serde(default)]
        technology: Vec<String>,
        #[serde(default)]
        failure_cause: Vec<String>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let f: File = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(f.documents
        .into_iter()
        .map(|(k, e)| Labelled {
            file: base.join(k),
            labels: e.context.into_iter().chain(e.technology).chain(e.failure_cause).collect(),
            weight,
            calibrate: false,
        })
        .collect())
}

fn features(a: FeaturesArgs, config: &Config) -> i32 {
    let Some(model) = load_model(None) else { return fatal("the tagger's features need the sentence encoder") };
    let enricher = Enricher::new(config);
    let limits = Limits::from(&config.settings.extract);
    let mut code = exit::OK;
    for file in &a.files {
        let display = file.to_string_lossy().into_owned();
        let r = match ingest::process(&ingest::Job::file(file, &display), &enricher, &limits, &|| {}) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                code = exit::PARTIAL;
                continue;
            }
        };
        let ps = passages::of_document(&r.title, &r.pages);
        let embed = |items: Vec<(u32, String)>| -> Vec<PassageOut> {
            let texts: Vec<&str> = items.iter().map(|(_, t)| t.as_str()).collect();
            let v = model.embed(&texts);
            items
                .into_iter()
                .enumerate()
                .map(|(i, (page, text))| {
                    let (q, s) =
                        crate::index::vectors::quantize(&v[i * crate::model::DIM..(i + 1) * crate::model::DIM]);
                    PassageOut { page, text, vector: q.iter().map(|&x| x as f32 * s).collect() }
                })
                .collect()
        };
        let passages = embed(ps.iter().map(|(p, _, _, t)| (*p, t.to_string())).collect());
        let sentences = if a.sentences {
            let mut items = Vec::new();
            for page in &r.pages {
                for s in crate::text::sentences(&page.text) {
                    if s.split_whitespace().count() >= 4 {
                        items.push((page.number, s.to_string()));
                    }
                }
            }
            embed(items)
        } else {
            Vec::new()
        };
        let out = Features {
            file: display,
            language: &r.language,
            words: r.words,
            title: &r.title,
            facets: r.facets.values().flatten().map(|t| t.path.as_str()).collect(),
            term_scores: &r.term_scores,
            passages,
            sentences,
        };
        println!("{}", serde_json::to_string(&out).expect("serialisable"));
    }
    code
}
