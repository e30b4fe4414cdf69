//! `ilm init` and `ilm id`.

use crate::cli::InitArgs;
use crate::config::Config;
use crate::datadir::DataDir;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use ilm_protocol::{Country, OrgKeys, Role};
use serde_json::json;

/// The libp2p peer id derived from the organisation's ed25519 key.
pub fn peer_id(keys: &OrgKeys) -> Result<libp2p::PeerId> {
    let mut seed = keys.signing_seed();
    let kp = libp2p::identity::Keypair::ed25519_from_bytes(&mut seed)
        .context("derive the libp2p identity")?;
    Ok(kp.public().to_peer_id())
}

pub(super) fn init(dir: &DataDir, args: InitArgs) -> Result<Output> {
    let role: Role = args.role.parse()?;
    let country: Country = args.country.parse()?;
    let name = args.name.trim();
    if name.is_empty() || name.len() > ilm_protocol::membership::MAX_NAME_LEN {
        bail!("--name must be 1 to 200 characters");
    }
    if dir.is_initialised() {
        bail!(
            "{} already holds a node identity; refusing to overwrite it",
            dir.root().display()
        );
    }
    let config_text = Config::template(name, role, &country);
    // Fail before writing anything if the generated file would not load back.
    Config::parse(&config_text).context("generated configuration is invalid")?;
    dir.create_dir()?;
    let keys = OrgKeys::generate()?;
    dir.write_keys(&keys)?;
    dir.admin_token()?;
    if !dir.config_path().exists() {
        DataDir::write_public_file(&dir.config_path(), config_text.as_bytes())?;
    }
    let peer = peer_id(&keys)?;
    Ok(Output::new(
        json!({
            "data_dir": dir.root(),
            "org_id": keys.org_id(),
            "peer_id": peer.to_string(),
            "role": role,
            "name": name,
            "country": country,
        }),
        format!(
            "Initialised {role} node {name:?} in {}\norg id:  {}\npeer id: {peer}\nNext: {}",
            dir.root().display(),
            keys.org_id(),
            if role == Role::Steward {
                "ilm network create --name NAME --out network.json"
            } else {
                "ilm member request --out request.json, and send it to the steward"
            }
        ),
    ))
}

pub(super) fn id(dir: &DataDir) -> Result<Output> {
    let keys = dir.load_keys()?;
    let cfg = dir.load_config()?;
    let peer = peer_id(&keys)?;
    let network = dir.load_network()?;
    let (net_id, net_name) = match &network {
        Some(n) => (Some(n.id().to_string()), Some(n.name().to_string())),
        None => (None, None),
    };
    let member = dir.certificate_path().exists();
    Ok(Output::new(
        json!({
            "org_id": keys.org_id(),
            "peer_id": peer.to_string(),
            "name": cfg.node.name,
            "role": cfg.node.role,
            "country": cfg.node.country,
            "signing_key": keys.signing_key_id(),
            "encryption_key": keys.encryption_key(),
            "network_id": net_id,
            "network_name": net_name,
            "member": member,
        }),
        format!(
            "name:           {}\nrole:           {}\ncountry:        {}\norg id:         {}\npeer id:        {peer}\nencryption key: {}\nnetwork:        {}",
            cfg.node.name,
            cfg.node.role,
            cfg.node.country,
            keys.org_id(),
            keys.encryption_key(),
            match (&net_name, &net_id) {
                (Some(n), Some(i)) => format!(
                    "{n} ({i}){}",
                    if member { "" } else { ", not yet a member" }
                ),
                _ => "not joined".to_string(),
            }
        ),
    ))
}

/// A new passphrase from a file or descriptor, else asked twice on the terminal.
pub(super) fn new_passphrase(
    file: Option<std::path::PathBuf>,
    fd: Option<u32>,
    flags: &str,
    label: &str,
) -> Result<crate::secrets::Passphrase> {
    use crate::secrets::PassphraseSource;
    Ok(match (file, fd) {
        (Some(f), _) => PassphraseSource::File(f).read("")?,
        (None, Some(n)) => PassphraseSource::Fd(n).read("")?,
        (None, None) => {
            if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                bail!("give the passphrase with {flags} (no terminal to ask on)");
            }
            let first = PassphraseSource::Prompt.read(&format!("{label}: "))?;
            let again = PassphraseSource::Prompt.read(&format!("{label} again: "))?;
            if !first.same_as(&again) {
                bail!("the two passphrases differ; nothing changed");
            }
            first
        }
    })
}

pub(super) fn change_passphrase(
    dir: &DataDir,
    new_file: Option<std::path::PathBuf>,
    new_fd: Option<u32>,
    remove: bool,
) -> Result<Output> {
    let was_protected = dir.keys_protected()?;
    if remove && !was_protected {
        bail!("the keys of this node are not protected by a passphrase; nothing to remove");
    }
    let new = if remove {
        None
    } else {
        Some(new_passphrase(
            new_file,
            new_fd,
            "--new-passphrase-file or --new-passphrase-fd",
            "New passphrase",
        )?)
    };
    let changed = dir.change_passphrase(new.as_ref())?;
    let names: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
    let state = if remove {
        "in the clear"
    } else {
        "protected by the new passphrase"
    };
    Ok(Output::new(
        json!({ "protected": !remove, "files": names }),
        format!(
            "{} now {state}.{}",
            names.join(" and "),
            if remove {
                "\nAnyone who copies this data directory now gets the organisation's keys and can open worker identities."
            } else {
                "\n`ilm run` asks for it at start (terminal), or reads it with --passphrase-file, --passphrase-fd or a systemd credential named ilm-passphrase."
            }
        ),
    ))
}

/// `ilm key replace-vault --lost`: a new vault key for a node whose key is lost for good,
/// saying how many records the lost key sealed (they no longer open).
pub(super) fn replace_vault(dir: &DataDir, lost: bool) -> Result<Output> {
    use crate::schema;
    if super::membership::daemon_running(dir) {
        bail!("stop the node first: the vault key is replaced while it is stopped");
    }
    if !lost {
        return Err(crate::output::Invalid(
            "a new vault key opens nothing the lost one sealed: put vault.key back from a backup if there is one, or pass --lost to confirm it is lost for good".into(),
        )
        .into());
    }
    if dir.vault_key_path().exists() {
        return Err(crate::vault::binding::BindingError::NotLost.into());
    }
    let store = super::membership::open_store(dir)?;
    // The worker keys, search bits and words of the contact index are keyed with the vault:
    // the next start indexes the contacts again with the new key (those that do not open as
    // holding nothing). Marked first, so that a failure leaves the command to run again.
    crate::contact_list::groups::invalidate(&store)?;
    crate::vault::binding::replace_lost(dir, &store).context("replace the vault key")?;
    let contacts = store.count(&schema::CONTACTS)?;
    let disclosures = store.count(&schema::DISCLOSURES)?;
    let threads = store.count(&schema::PORTAL_THREADS)?;
    Ok(Output::new(
        json!({ "replaced": true, "contacts": contacts, "disclosures": disclosures, "portal_threads": threads }),
        format!(
            "Made a new vault key. Sealed with the lost one, and no longer opening: the identities and notes of {contacts} contacts, {disclosures} received disclosures and {threads} portal threads. The node indexes its contacts again at its next start. Back up the node now (`ilm backup`): the new key is in its backups."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact_list::groups;

    /// A replaced vault key makes the next start index the contacts again: the index's
    /// worker keys, search bits and words are keyed with the lost one.
    #[test]
    fn a_replaced_vault_key_has_the_contacts_indexed_again() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::new(tmp.path());
        {
            let store = crate::schema::open(&dir.db_path()).expect("store");
            let vault = crate::vault::binding::open(&dir, &store).expect("vault");
            groups::ensure(&store, &vault).expect("index");
            assert!(
                groups::is_built(&store).expect("read"),
                "the control: built"
            );
        }
        // Refused over a key: the index stays built.
        let refused = replace_vault(&dir, true).expect_err("a key is there");
        assert!(refused.to_string().contains("only a lost key"), "{refused}");
        {
            let store = crate::schema::open(&dir.db_path()).expect("store");
            assert!(
                groups::is_built(&store).expect("read"),
                "a refusal marked it"
            );
        }
        std::fs::remove_file(dir.vault_key_path()).expect("the key lost");
        let said = replace_vault(&dir, true).expect("replaced");
        assert_eq!(said.json["replaced"], true);
        let store = crate::schema::open(&dir.db_path()).expect("store");
        assert!(!groups::is_built(&store).expect("read"));
    }
}
