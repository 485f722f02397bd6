//! Writes a PDF from a Markdown source with the project's own PDF writer (the second PDF
//! producer of corpus-sample, beside LibreOffice):
//!
//! ```text
//! cargo run --example pdfgen -- SOURCE.md OUT.pdf
//! ```

#[path = "../tests/util/pdf.rs"]
mod pdf;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: pdfgen SOURCE.md OUT.pdf");
        std::process::exit(1);
    }
    let src = std::fs::read_to_string(&args[1]).unwrap_or_else(|e| {
        eprintln!("{}: {e}", args[1]);
        std::process::exit(1)
    });
    let (items, info) = pdf::from_markdown(&src);
    if let Err(e) = std::fs::write(&args[2], pdf::write_pdf(&items, &info)) {
        eprintln!("{}: {e}", args[2]);
        std::process::exit(1);
    }
}
