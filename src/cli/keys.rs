//! `wash-lessons keys add | list | revoke`: named API keys with scopes for the write API,
//! stored hashed beside the index. A running server reads them on each write request.

use std::path::PathBuf;

use crate::server::keys::{Keys, Scope};

use super::{exit, fatal, print_json, DEFAULT_INDEX};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Index directory whose keys these are.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_INDEX, global = true)]
    index: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Make a key; it is printed once and stored only as a hash.
    Add {
        /// Who holds it (written in the log beside every write it makes).
        name: String,
        /// What it may do: documents:write (uploads, deletions), facets:write (curators'
        /// corrections), admin (everything). Repeat or separate with commas.
        #[arg(long = "scope", value_name = "SCOPE", value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
    /// The keys, in force and revoked (never the keys themselves).
    List {
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Revoke the key in force with this name; requests with it get 401 at once.
    Revoke {
        /// The key's name.
        name: String,
    },
}

pub fn run(a: Args) -> i32 {
    if !a.index.is_dir() {
        return fatal(format!("no index at {} (keys are kept beside the index)", a.index.display()));
    }
    let mut keys = match Keys::load(&a.index) {
        Ok(k) => k,
        Err(e) => return fatal(e),
    };
    match a.command {
        Command::Add { name, scopes } => {
            let scopes: Result<Vec<Scope>, _> = scopes.iter().map(|s| Scope::parse(s.trim())).collect();
            let key = match scopes.and_then(|s| keys.add(&name, &s)) {
                Ok(k) => k,
                Err(e) => return fatal(e),
            };
            eprintln!("key {:?} made; it is shown only now, keep it safe:", name.trim());
            println!("{key}");
            exit::OK
        }
        Command::List { json } => {
            if json {
                print_json(&keys.list());
            } else if keys.list().is_empty() {
                println!("no keys (wash-lessons keys add NAME --scope SCOPE)");
            } else {
                for k in keys.list() {
                    let scopes: Vec<&str> = k.scopes.iter().map(|s| s.name()).collect();
                    let state = match &k.revoked {
                        Some(at) => format!("revoked {at}"),
                        None => "in force".to_string(),
                    };
                    println!("{}\t{}…\t{}\tmade {}\t{}", k.name, k.prefix, scopes.join(","), k.created, state);
                }
            }
            exit::OK
        }
        Command::Revoke { name } => match keys.revoke(&name) {
            Ok(()) => {
                eprintln!("key {name:?} revoked");
                exit::OK
            }
            Err(e) => fatal(e),
        },
    }
}
