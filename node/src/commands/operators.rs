//! `ilm operator ...`: operator accounts of the admin UI, through the running daemon when one
//! holds the database, else in the database directly.

use crate::cli::OperatorCommand;
use crate::datadir::DataDir;
use crate::operators::{self, OperatorRole};
use crate::output::Output;
use crate::schema;
use crate::store::{Store, StoreError};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// A password from the first line of standard input (never from arguments: `ps` and shell
/// history would show it).
fn password_from_stdin(password_stdin: bool) -> Result<String> {
    if !password_stdin {
        bail!(
            "pass --password-stdin and give the password on standard input (never as an argument)"
        );
    }
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("read the password from standard input")?;
    Ok(password.trim_end_matches(['\n', '\r']).to_string())
}

/// The running daemon's client, or the database when no daemon holds it.
enum Target {
    Daemon(crate::client::AdminClient),
    Db(Store),
}

fn target(dir: &DataDir) -> Result<Target> {
    match schema::open(&dir.db_path()) {
        Err(StoreError::Locked) => Ok(Target::Daemon(crate::client::AdminClient::for_dir(dir)?)),
        Ok(store) => {
            dir.load_keys()?;
            Ok(Target::Db(store))
        }
        Err(e) => Err(e).context("open the database"),
    }
}

/// Runs one `ilm operator` command.
pub(super) fn run(dir: &DataDir, cmd: OperatorCommand) -> Result<Output> {
    match cmd {
        OperatorCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let role: OperatorRole = role.parse().map_err(anyhow::Error::msg)?;
            let password = password_from_stdin(password_stdin)?;
            match target(dir)? {
                Target::Daemon(c) => {
                    c.post(
                        "/api/operators",
                        &json!({ "name": name, "role": role, "password": password }),
                    )?;
                }
                Target::Db(store) => operators::add_operator(&store, &name, role, &password)?,
            }
            Ok(Output::new(
                json!({ "name": name, "role": role }),
                format!("Added operator {name:?} ({role:?})."),
            ))
        }
        OperatorCommand::List => {
            let ops: Vec<Value> = match target(dir)? {
                Target::Daemon(c) => c.get("/api/operators")?["operators"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                Target::Db(store) => operators::list(&store)?
                    .iter()
                    .map(|o| json!({ "name": o.name, "role": o.role, "disabled": o.disabled }))
                    .collect(),
            };
            let text = ops
                .iter()
                .map(|o| {
                    let off = if o["disabled"] == true {
                        ", disabled"
                    } else {
                        ""
                    };
                    format!(
                        "{} ({}{off})",
                        o["name"].as_str().unwrap_or(""),
                        o["role"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(json!({ "operators": ops }), text))
        }
        OperatorCommand::Disable { name } => set_disabled(dir, &name, true),
        OperatorCommand::Enable { name } => set_disabled(dir, &name, false),
        OperatorCommand::Passwd {
            name,
            password_stdin,
        } => {
            let password = password_from_stdin(password_stdin)?;
            match target(dir)? {
                Target::Daemon(c) => {
                    c.post(
                        &format!("/api/operators/{name}/password"),
                        &json!({ "password": password }),
                    )?;
                }
                Target::Db(store) => operators::set_password(&store, &name, &password)?,
            }
            Ok(Output::new(
                json!({ "name": name, "password_changed": true }),
                format!("Changed the password of {name:?}; its sessions ended."),
            ))
        }
    }
}

fn set_disabled(dir: &DataDir, name: &str, disabled: bool) -> Result<Output> {
    match target(dir)? {
        Target::Daemon(c) => {
            c.post(
                &format!("/api/operators/{name}/disabled"),
                &json!({ "disabled": disabled }),
            )?;
        }
        Target::Db(store) => operators::set_disabled(&store, name, disabled)?,
    }
    let what = if disabled { "Disabled" } else { "Enabled" };
    Ok(Output::new(
        json!({ "name": name, "disabled": disabled }),
        format!("{what} operator {name:?}."),
    ))
}
