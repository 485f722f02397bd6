//! The `wash-lessons` binary: all the work is in the library.

/// PDF parsing allocates many small objects; mimalloc cut indexing CPU time by a sixth against
/// the system allocator (README, performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(wash_lessons::cli::main());
}
