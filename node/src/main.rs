//! The `ilm` binary: parses the command line, runs the command, prints the result.

use clap::Parser;
use ilm_node::cli::Cli;
use ilm_node::output::Invalid;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match ilm_node::commands::run(cli) {
        Ok(out) => {
            out.print(json);
            ExitCode::SUCCESS
        }
        Err(err) => {
            if json {
                let reason = match err.downcast_ref::<Invalid>() {
                    Some(Invalid(r)) => r.clone(),
                    None => format!("{err:#}"),
                };
                let valid = err.downcast_ref::<Invalid>().map(|_| false);
                println!("{}", serde_json::json!({ "error": reason, "valid": valid }));
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
