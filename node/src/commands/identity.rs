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
            "signing_key": keys.org_id(),
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
