//! The `onboarding` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = onboarding::cli::Cli::parse();
    onboarding::cli::run(cli)
}
