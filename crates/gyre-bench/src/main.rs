#![forbid(unsafe_code)]

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = gyre_bench::Cli::parse();
    match gyre_bench::run_blocking(cli.args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gyre-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
