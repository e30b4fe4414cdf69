//! The `ilm` commands. Each returns an [`Output`]; the binary's `main` prints it.

mod daemon_ops;
mod identity;
mod membership;
mod verify;
mod workflow_ops;

use crate::cli::{Cli, Command, MemberCommand, NetworkCommand};
use crate::datadir::DataDir;
use crate::output::Output;
use anyhow::{Context, Result};
use ilm_protocol::Timestamp;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as a protocol timestamp.
pub fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// A timestamp as an RFC 3339 UTC date and time, for people.
pub fn fmt_time(t: Timestamp) -> String {
    let when = UNIX_EPOCH + std::time::Duration::from_secs(t.0);
    humantime::format_rfc3339_seconds(when).to_string()
}

/// The data directory chosen by flag, environment or default.
pub fn data_dir(flag: Option<PathBuf>) -> Result<DataDir> {
    if let Some(p) = flag {
        return Ok(DataDir::new(p));
    }
    let home = std::env::var_os("HOME")
        .context("no --data-dir given, ILM_DATA_DIR is not set and HOME is unknown")?;
    Ok(DataDir::new(PathBuf::from(home).join(".ilm")))
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<Output> {
    let dir = data_dir(cli.data_dir)?;
    match cli.command {
        Command::Init(args) => identity::init(&dir, args),
        Command::Id => identity::id(&dir),
        Command::Network(NetworkCommand::Create { name, out }) => {
            membership::network_create(&dir, &name, &out)
        }
        Command::Member(cmd) => match cmd {
            MemberCommand::Request { out } => membership::request(&dir, &out),
            MemberCommand::Issue {
                request,
                out,
                valid_days,
            } => membership::issue(&dir, &request, &out, valid_days),
            MemberCommand::Join {
                network,
                certificate,
            } => membership::join(&dir, &network, &certificate),
            MemberCommand::Revoke {
                org_id,
                reason,
                out,
            } => membership::revoke(&dir, &org_id, &reason, out.as_deref()),
            MemberCommand::List => membership::list(&dir),
        },
        Command::Verify(args) => verify::verify(
            &dir,
            &args.file,
            args.network.as_deref(),
            args.revocations.as_deref(),
        ),
        Command::Run(_) => anyhow::bail!("`ilm run` is started by the binary's main"),
        Command::Status => daemon_ops::status(&dir),
        Command::Peers => daemon_ops::peers(&dir),
        Command::Outbox { state } => daemon_ops::outbox(&dir, state.as_deref()),
        Command::Case(cmd) => daemon_ops::case(&dir, cmd),
        Command::Contact(cmd) => workflow_ops::contact(&dir, cmd),
        Command::Inbox => workflow_ops::inbox(&dir),
        Command::Overdue => workflow_ops::overdue(&dir),
        Command::Attestation(cmd) => workflow_ops::attestation(&dir, cmd),
        Command::Link(cmd) => workflow_ops::link(&dir, cmd),
        Command::SupplyChain => workflow_ops::supply_chain(&dir),
        Command::Demo(_) => anyhow::bail!("`ilm demo` is started by the binary's main"),
        Command::Operator(cmd) => operator(&dir, cmd),
    }
}

fn operator(dir: &DataDir, cmd: crate::cli::OperatorCommand) -> Result<Output> {
    use crate::cli::OperatorCommand;
    use crate::store::{Store, StoreError};
    use crate::ui::auth::OperatorRole;
    use serde_json::json;
    let running = matches!(Store::open(&dir.db_path()), Err(StoreError::Locked));
    match cmd {
        OperatorCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let role: OperatorRole = role.parse().map_err(anyhow::Error::msg)?;
            if !password_stdin {
                anyhow::bail!(
                    "pass --password-stdin and give the password on standard input (never as an argument)"
                );
            }
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("read the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            if running {
                crate::client::AdminClient::for_dir(dir)?.post(
                    "/api/operators",
                    &json!({ "name": name, "role": role, "password": password }),
                )?;
            } else {
                dir.load_keys()?;
                let store = Store::open(&dir.db_path()).context("open the database")?;
                crate::ui::auth::add_operator(&store, &name, role, &password)?;
            }
            Ok(Output::new(
                json!({ "name": name, "role": role }),
                format!("Added operator {name:?} ({role:?})."),
            ))
        }
        OperatorCommand::List => {
            let ops: Vec<serde_json::Value> = if running {
                let v = crate::client::AdminClient::for_dir(dir)?.get("/api/operators")?;
                v["operators"].as_array().cloned().unwrap_or_default()
            } else {
                let store = Store::open(&dir.db_path()).context("open the database")?;
                let ops: Vec<crate::ui::auth::Operator> =
                    store.scan(crate::store::Table::Operator, &[])?;
                ops.iter()
                    .map(|o| json!({ "name": o.name, "role": o.role }))
                    .collect()
            };
            let text = ops
                .iter()
                .map(|o| {
                    format!(
                        "{} ({})",
                        o["name"].as_str().unwrap_or(""),
                        o["role"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(json!({ "operators": ops }), text))
        }
    }
}
