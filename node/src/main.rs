//! The `ilm` binary: parses the command line, runs the command, prints the result.

use clap::Parser;
use ilm_node::cli::Cli;
use ilm_node::output::Invalid;
use std::process::ExitCode;

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ILM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: not in a log file or the journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")
}

fn run_demo(cli: Cli) -> anyhow::Result<()> {
    let ilm_node::cli::Command::Demo(args) = cli.command else {
        anyhow::bail!("not a demo command");
    };
    if std::env::var_os("ILM_LOG").is_some() {
        init_logs();
    }
    runtime()?.block_on(ilm_node::demo::run(args))
}

/// What `ilm run` does before the node opens its database, each in a process of its own
/// (see `ilm_node::daemon::before_start`).
fn before_start(dir: &ilm_node::datadir::DataDir) -> anyhow::Result<()> {
    use anyhow::Context;
    use ilm_node::daemon::before_start::{self, Compacted};
    let exe = std::env::current_exe().context("find the ilm binary to check the database")?;
    before_start::check(&exe, dir.root())?;
    match before_start::compact_if_due(&exe, dir.root())? {
        Compacted::NotDue => {}
        Compacted::Done {
            why,
            bytes_before,
            bytes_after,
        } => tracing::info!(
            bytes_before,
            bytes_after,
            "database compacted before the start, in a process of its own ({why})"
        ),
        Compacted::Waits { why, failed } => tracing::warn!(
            "the database could not be compacted ({why}); it opens as it is and the next start tries again: {failed}"
        ),
    }
    Ok(())
}

fn run_daemon(cli: Cli) -> anyhow::Result<()> {
    let dir = ilm_node::commands::cli_data_dir(&cli)?;
    let ilm_node::cli::Command::Run(args) = cli.command else {
        anyhow::bail!("not a run command");
    };
    init_logs();
    let checked = dir.is_initialised();
    if checked {
        before_start(&dir)?;
    }
    let opts = ilm_node::daemon::RunOptions {
        listen: args.listen,
        bootstrap: args.bootstrap,
        admin_listen: args.admin_listen,
        admin_tls_listen: args.admin_tls_listen,
        mdns: args.mdns,
        allow_remote_admin: args.allow_remote_admin,
        sample_data: false,
        public_listen: args.public_listen,
        portal_listen: args.portal_listen,
        portal_tls_listen: args.portal_tls_listen,
        database_checked: checked,
        compaction_tried: checked,
    };
    runtime()?.block_on(ilm_node::daemon::run(dir, opts))
}

fn main() -> ExitCode {
    ilm_node::daemon::before_start::fail_writes_past_the_file_size_limit();
    let cli = Cli::parse();
    let special = match cli.command {
        ilm_node::cli::Command::Run(_) => Some(run_daemon as fn(Cli) -> anyhow::Result<()>),
        ilm_node::cli::Command::Demo(_) => Some(run_demo as fn(Cli) -> anyhow::Result<()>),
        _ => None,
    };
    if let Some(run) = special {
        return match run(cli) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(1)
            }
        };
    }
    let json = cli.json;
    match ilm_node::commands::run(cli) {
        Ok(out) => match out.print(json) {
            Ok(()) => ExitCode::from(out.exit),
            Err(e) => {
                eprintln!("error: cannot write the output: {e}");
                ExitCode::from(1)
            }
        },
        Err(err) => {
            if json {
                let reason = match err.downcast_ref::<Invalid>() {
                    Some(Invalid(r)) => r.clone(),
                    None => format!("{err:#}"),
                };
                let valid = err.downcast_ref::<Invalid>().map(|_| false);
                let result = valid.map(|_| "invalid");
                let line = serde_json::json!({ "result": result, "error": reason, "valid": valid });
                // Nothing more to say if standard output is gone too.
                let _ = ilm_node::output::write_stdout(&line.to_string());
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
