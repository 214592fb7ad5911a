//! The `etcd-lens` binary: thin over the library (`run() -> Result<ExitCode>`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = etcd_lens_server::cli::Cli::parse();
    match etcd_lens_server::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("etcd-lens: {e:#}");
            ExitCode::from(2)
        }
    }
}
