//! The `dashstream` command line: codec tools, and (with a broker) the pipeline.

mod cli;

/// mimalloc instead of glibc's malloc: every send allocates a task (aligned to
/// a cache line, which glibc serves slowly) and a few small strings; measured
/// with `dashstream bench` (README, "Measured figures").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run()
}
