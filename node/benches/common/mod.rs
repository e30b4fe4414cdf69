//! Setup shared by the node benchmarks: a steward-signed network written by the same library
//! calls the CLI uses, and real nodes started with `ilm_node::daemon::start` on loopback.
#![allow(dead_code)]

use anyhow::{Context, Result, bail};
use ilm_node::client::AdminClient;
use ilm_node::config::Config;
use ilm_node::daemon::{RunOptions, RunningNode};
use ilm_node::datadir::DataDir;
use ilm_node::membership::now;
use ilm_protocol::event::Escalation;
use ilm_protocol::{
    Country, IssueCategory, MembershipCertificate, MembershipRequest, Money, Network,
    NetworkGenesis, OrgId, OrgKeys, Role, SignedRecord,
};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The network: steward, CSO node A and supplier node B.

pub struct Member {
    pub dir: DataDir,
    pub keys: OrgKeys,
    pub cert: MembershipCertificate,
    pub cert_rec: SignedRecord,
}

/// What `ilm init` writes: owner-only directory, key file, admin token, config.toml.
pub fn init_dir(
    root: &Path,
    name: &str,
    role: Role,
    country: &Country,
) -> Result<(DataDir, OrgKeys)> {
    let dir = DataDir::new(root);
    let text = Config::template(name, role, country);
    Config::parse(&text).context("generated configuration is invalid")?;
    dir.create_dir()?;
    let keys = OrgKeys::generate()?;
    dir.write_keys(&keys)?;
    dir.admin_token()?;
    DataDir::write_public_file(&dir.config_path(), text.as_bytes())?;
    Ok((dir, keys))
}

/// `ilm network create` on the steward, then `member request` / `member issue` /
/// `member join` for the CSO and the supplier.
pub fn create_network(base: &Path) -> Result<(Network, Member, Member)> {
    let (network, mut csos, supplier) = create_network_with(base, 1)?;
    let cso = csos.pop().context("one CSO")?;
    Ok((network, cso, supplier))
}

/// Like [`create_network`], with `csos` CSO members.
pub fn create_network_with(base: &Path, csos: usize) -> Result<(Network, Vec<Member>, Member)> {
    let th: Country = "TH".parse()?;
    let (steward_dir, steward) = init_dir(
        &base.join("steward"),
        "ILM Network Secretariat",
        Role::Steward,
        &th,
    )?;
    let t = now();
    let genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: "ILM Network (delivery bench)".into(),
            stewards: vec![steward.org_id()],
            created_at: t,
        },
        &steward,
    )?;
    let network = Network::from_genesis(&genesis)?;
    let steward_cert = SignedRecord::sign(
        &MembershipCertificate {
            network_id: network.id(),
            org_id: steward.org_id(),
            name: "ILM Network Secretariat".into(),
            role: Role::Steward,
            country: th.clone(),
            encryption_key: steward.encryption_key(),
            not_before: t,
            not_after: t.plus_days(3650),
            issuer: steward.org_id(),
            issued_at: t,
            signing_key: None,
            earlier_keys: Vec::new(),
        },
        &steward,
    )?;
    network.verify_certificate(&steward_cert)?;
    let register = ilm_node::schema::open(&steward_dir.db_path())?;
    register.put_issued_certificate(&steward.org_id(), &steward_cert)?;
    steward_dir.store_membership(&genesis, &steward_cert)?;

    let join = |sub: &str, name: &str, role: Role| -> Result<Member> {
        let (dir, keys) = init_dir(&base.join(sub), name, role, &th)?;
        let request = SignedRecord::sign(
            &MembershipRequest {
                org_id: keys.org_id(),
                name: name.into(),
                role,
                country: th.clone(),
                encryption_key: keys.encryption_key(),
                requested_at: now(),
            },
            &keys,
        )?;
        let (cert_rec, cert) =
            ilm_node::register::issue(&steward, &network, &register, &request, 30, now())?;
        network.verify_certificate(&cert_rec)?;
        dir.store_membership(&genesis, &cert_rec)?;
        Ok(Member {
            dir,
            keys,
            cert,
            cert_rec,
        })
    };
    let mut members = Vec::new();
    for i in 0..csos {
        let dir = if i == 0 {
            "cso".to_string()
        } else {
            format!("cso{i}")
        };
        members.push(join(&dir, "Migrant Worker Helpline Foundation", Role::Cso)?);
    }
    let supplier = join("supplier", "Samut Seafood Processing Ltd.", Role::Supplier)?;
    Ok((network, members, supplier))
}

pub async fn api_get(dir: &DataDir, path: &'static str) -> Result<Value> {
    let dir = dir.clone();
    tokio::task::spawn_blocking(move || -> Result<Value> {
        Ok(AdminClient::for_dir(&dir)?.get(path)?)
    })
    .await?
}

pub async fn start_node(dir: &DataDir, bootstrap: Vec<String>) -> Result<RunningNode> {
    ilm_node::daemon::start(
        dir.clone(),
        RunOptions {
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            admin_listen: Some("127.0.0.1:0".parse()?),
            bootstrap,
            ..Default::default()
        },
    )
    .await
}

/// B's TCP address with its peer id, from its admin API.
pub async fn dial_address(dir: &DataDir) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = api_get(dir, "/api/status").await?;
        let peer = status["peer_id"].as_str().unwrap_or_default().to_string();
        let addr = status["listen_addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"));
        if let Some(addr) = addr {
            return Ok(format!("{addr}/p2p/{peer}"));
        }
        if Instant::now() > deadline {
            bail!("node B reports no TCP listen address: {status}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn wait_peer(dir: &DataDir, org: &OrgId) -> Result<()> {
    let want = serde_json::to_value(org)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let peers = api_get(dir, "/api/peers").await?;
        let listed = peers["peers"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["org_id"] == want));
        if listed {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the nodes did not admit each other: {peers}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn escalation(to: OrgId, description: String) -> Result<Escalation> {
    let t = now();
    Ok(Escalation {
        to,
        categories: vec![
            IssueCategory::RecruitmentFees,
            IssueCategory::RetentionOfIdentityDocuments,
        ],
        workers_affected: 140,
        site: "Seafood processing, Samut Sakhon".into(),
        requested_remedy: "Repay fees; return passports".into(),
        description,
        recruitment_fees: Some(Money {
            minor_units: 4_500_000,
            currency: "THB".parse()?,
        }),
        acknowledge_by: t.plus_days(7),
        remediate_by: t.plus_days(90),
    })
}

// ---------------------------------------------------------------------------------------------
// A network with a past, for generated cases.

/// A network whose certificates began some days ago, so that generated cases can span them:
/// the steward (not run), a CSO and suppliers, each with its data directory, keys and
/// certificate.
pub struct Backdated {
    pub network: Network,
    pub cso: (DataDir, OrgKeys, MembershipCertificate),
    pub parties: Vec<(DataDir, OrgKeys, MembershipCertificate)>,
    /// A brand the suppliers may link to.
    pub brand: (DataDir, OrgKeys, MembershipCertificate),
    /// The certificate records of the CSO, the parties and the brand, in that order.
    pub records: Vec<SignedRecord>,
}

/// A [`Backdated`] network with `parties` suppliers (and a brand) whose certificates began
/// `days` ago.
pub fn backdated_world(base: &Path, parties: usize, days: u64) -> Result<Backdated> {
    let th: Country = "TH".parse()?;
    let (steward_dir, steward) = init_dir(&base.join("steward"), "Steward", Role::Steward, &th)?;
    let start = ilm_protocol::Timestamp(now().0 - days * 86_400);
    let genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: "ILM Network (bench)".into(),
            stewards: vec![steward.org_id()],
            created_at: start,
        },
        &steward,
    )?;
    let network = Network::from_genesis(&genesis)?;
    let register = ilm_node::schema::open(&steward_dir.db_path())?;
    let records = std::cell::RefCell::new(Vec::new());
    let join = |sub: &str, role: Role| -> Result<(DataDir, OrgKeys, MembershipCertificate)> {
        let (dir, keys) = init_dir(&base.join(sub), sub, role, &th)?;
        let request = SignedRecord::sign(
            &MembershipRequest {
                org_id: keys.org_id(),
                name: sub.into(),
                role,
                country: th.clone(),
                encryption_key: keys.encryption_key(),
                requested_at: start,
            },
            &keys,
        )?;
        let (rec, cert) =
            ilm_node::register::issue(&steward, &network, &register, &request, 800, start)?;
        dir.store_membership(&genesis, &rec)?;
        records.borrow_mut().push(rec);
        Ok((dir, keys, cert))
    };
    let cso = join("cso", Role::Cso)?;
    let parties = (0..parties)
        .map(|i| join(&format!("supplier{i}"), Role::Supplier))
        .collect::<Result<Vec<_>>>()?;
    let brand = join("brand", Role::Brand)?;
    Ok(Backdated {
        network,
        cso,
        parties,
        brand,
        records: records.into_inner(),
    })
}

/// This process's resident memory (`VmRSS:`) or its peak (`VmHWM:`), in MB (Linux).
pub fn rss_mb(field: &str) -> f64 {
    let kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with(field))?.to_string();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        });
    kb.map_or(f64::NAN, |kb| kb / 1024.0)
}
