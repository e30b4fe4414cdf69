//! The `ilm` commands. Each returns an [`Output`]; the binary's `main` prints it.

mod backup;
mod daemon_ops;
mod directory;
mod export;
mod identity;
mod membership;
mod operators;
mod reindex;
mod rotation;
mod statistics;
mod succession;
mod verify;
mod workflow_ops;

use crate::cli::{
    Cli, Command, DbCommand, EraseCommand, ExportCommand, KeyCommand, MemberCommand,
    NetworkCommand, StatisticsCommand, SuccessionCommand,
};
use crate::datadir::DataDir;
use crate::output::Output;
use crate::secrets::{PassphraseSource, Unlocker};
use anyhow::{Context, Result};
use std::path::PathBuf;

pub use crate::clock::{fmt_time, now};

/// The data directory chosen by flag, environment or default.
pub fn data_dir(flag: Option<PathBuf>) -> Result<DataDir> {
    if let Some(p) = flag {
        return Ok(DataDir::new(p));
    }
    let home = std::env::var_os("HOME")
        .context("no --data-dir given, ILM_DATA_DIR is not set and HOME is unknown")?;
    Ok(DataDir::new(PathBuf::from(home).join(".ilm")))
}

/// The data directory of a command line, with its passphrase source.
pub fn cli_data_dir(cli: &Cli) -> Result<DataDir> {
    let source = PassphraseSource::from_flags(cli.passphrase_file.clone(), cli.passphrase_fd);
    Ok(data_dir(cli.data_dir.clone())?.with_unlocker(Unlocker::new(source)))
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<Output> {
    let dir = cli_data_dir(&cli)?;
    match cli.command {
        Command::Init(args) => identity::init(&dir, args),
        Command::Id => identity::id(&dir),
        Command::Network(NetworkCommand::Create { name, out }) => {
            membership::network_create(&dir, &name, &out)
        }
        Command::Network(NetworkCommand::Succession(SuccessionCommand::Start { to, out })) => {
            succession::start(&dir, &to, &out)
        }
        Command::Network(NetworkCommand::Succession(SuccessionCommand::Sign { file, network })) => {
            succession::sign(&dir, &file, network.as_deref())
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
                succession,
            } => membership::join(&dir, &network, &certificate, &succession),
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
        Command::Inbox { page, per_page } => workflow_ops::inbox(&dir, page, per_page),
        Command::Overdue { limit } => workflow_ops::overdue(&dir, limit),
        Command::Attestation(cmd) => workflow_ops::attestation(&dir, cmd),
        Command::Link(cmd) => workflow_ops::link(&dir, cmd),
        Command::SupplyChain {
            supplier,
            page,
            per_page,
        } => workflow_ops::supply_chain(&dir, supplier.as_deref(), page, per_page),
        Command::Demo(_) => anyhow::bail!("`ilm demo` is started by the binary's main"),
        Command::Operator(cmd) => operators::run(&dir, cmd),
        Command::Erase(EraseCommand::Contact { id }) => workflow_ops::erase_contact(&dir, &id),
        Command::Db(DbCommand::Compact { if_due }) => daemon_ops::compact(&dir, if_due),
        Command::Db(DbCommand::Check) => daemon_ops::check(&dir),
        Command::Reindex { check } => reindex::reindex(&dir, check),
        Command::Statistics(StatisticsCommand::Publish { month }) => {
            statistics::publish(&dir, &month)
        }
        Command::Statistics(StatisticsCommand::Show) => statistics::show(&dir),
        Command::Export(ExportCommand::Aggregates { format, out }) => {
            export::aggregates(&dir, format, out.as_deref())
        }
        Command::Export(ExportCommand::Cases { format, out }) => {
            export::cases(&dir, format, out.as_deref())
        }
        Command::Export(ExportCommand::Contacts {
            with_identities,
            out,
        }) => export::contacts(&dir, with_identities, out.as_deref()),
        Command::Export(ExportCommand::Scorecards {
            format,
            out,
            from,
            to,
            category,
            sector,
            corridor,
        }) => {
            let filter = crate::scorecard::Filter {
                from,
                to,
                category,
                sector,
                corridor,
            };
            export::scorecards(&dir, format, out.as_deref(), &filter)
        }
        Command::Backup(args) => backup::backup(&dir, args),
        Command::Restore(args) => backup::restore(&dir, args),
        Command::RecoveryKey(cmd) => backup::recovery_key_command(cmd),
        Command::Key(KeyCommand::Passphrase {
            new_passphrase_file,
            new_passphrase_fd,
            remove,
        }) => identity::change_passphrase(&dir, new_passphrase_file, new_passphrase_fd, remove),
        Command::Key(KeyCommand::ReplaceVault { lost }) => identity::replace_vault(&dir, lost),
        Command::Key(KeyCommand::Rotate { out, cancel }) => {
            rotation::rotate(&dir, out.as_deref(), cancel)
        }
    }
}
