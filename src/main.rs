//! The `wash-lessons` binary: all the work is in the library.

fn main() {
    std::process::exit(wash_lessons::cli::main());
}
