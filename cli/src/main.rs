//! The `inferwarden` command line.
//!
//! Exit codes: 0 ok; 1 policy failure (an id rejected, a configuration invalid); 2 usage or
//! input error (unreadable file, bad arguments).

/// Keeps the memory budget of TypeScript parity parses: a pathological file's parse is
/// stopped instead of growing without bound (see `inferwarden::parity::GuardedAllocator`).
#[global_allocator]
static ALLOCATOR: inferwarden::parity::GuardedAllocator =
    inferwarden::parity::GuardedAllocator::system();

mod commands;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    ExitCode::from(commands::run(cli))
}
