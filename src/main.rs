//! The `onboarding` binary: parse the command line and hand over to the library.

fn main() -> std::process::ExitCode {
    match onboarding::cli::parse() {
        Ok(cli) => onboarding::cli::run(cli),
        Err(code) => code,
    }
}
