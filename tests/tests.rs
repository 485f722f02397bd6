//! One integration-test binary: the command line end to end on the sample corpus, bad inputs,
//! and the tagging quality against the labels of corpus-sample.

mod util;

mod api_contract;
mod bad_inputs;
mod bad_pdfs;
mod browser;
mod bulk;
mod cli;
mod curation;
mod durability;
mod export;
mod first_start;
mod isolation;
mod ocr;
mod pdf_mechanisms;
mod relevance;
mod replicas;
mod semantic;
mod server;
mod tagging_quality;
