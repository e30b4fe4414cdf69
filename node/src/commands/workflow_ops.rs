//! Workflow commands: contacts, case steps, inbox, overdue, attestations, links, supply chain.
//! All go through the running daemon's admin API.

use super::directory::Directory;
use super::fmt_time;
use crate::cli::{AttestationCommand, ContactArgs, ContactCommand, LinkCommand, NewCaseArgs};
use crate::client::AdminClient;
use crate::datadir::DataDir;
use crate::output::{Invalid, Output};
use anyhow::{Context, Result, bail};
use ilm_protocol::{CaseRef, Digest, IssueCategory, Money, OrgId, Timestamp};
use serde_json::{Value, json};
use std::path::Path;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A member given by id or by name.
fn org(c: &AdminClient, s: &str, what: &str) -> Result<OrgId> {
    Directory::fetch(c)?.resolve(s, what)
}

fn case_ref(s: &str) -> Result<CaseRef> {
    s.parse()
        .with_context(|| format!("{s:?} is not a case reference (32 hex digits)"))
}

/// Parses MINOR_UNITS:CURRENCY (e.g. 1500000:THB).
pub fn money(s: &str) -> Result<Money> {
    let (amount, currency) = s
        .split_once(':')
        .with_context(|| format!("{s:?}: expected MINOR_UNITS:CURRENCY, e.g. 1500000:THB"))?;
    Ok(Money {
        minor_units: amount
            .parse()
            .with_context(|| format!("{amount:?} is not a whole number of minor units"))?,
        currency: currency.parse()?,
    })
}

fn client(dir: &DataDir) -> Result<AdminClient> {
    Ok(AdminClient::for_dir(dir)?)
}

pub(super) fn contact(dir: &DataDir, cmd: ContactCommand) -> Result<Output> {
    let c = client(dir)?;
    match cmd {
        ContactCommand::Add(a) => {
            let v = c.post("/api/contacts", &contact_json(a)?)?;
            let t = format!(
                "Recorded contact {} (identity sealed at rest).",
                text(&v["id"])
            );
            Ok(Output::new(v, t))
        }
        ContactCommand::List {
            search,
            repeat,
            all,
            page,
        } => {
            let query = crate::contact_list::ContactQuery {
                q: search.unwrap_or_default(),
                repeat,
                page,
                per_page: if all {
                    crate::worklist::MAX_PER_PAGE
                } else {
                    0
                },
                ..Default::default()
            };
            let qs = serde_urlencoded::to_string(&query).context("encode the query")?;
            let v = c.get(&format!("/api/contacts?{qs}"))?;
            let mut t = String::new();
            for x in v["contacts"].as_array().into_iter().flatten() {
                t.push_str(&format!(
                    "{}  {}  {:<10} {} {}->{}  {}  case {}  contacts by this worker: {}\n",
                    text(&x["id"]),
                    x["received_at"]
                        .as_u64()
                        .map(|s| fmt_time(Timestamp(s)))
                        .unwrap_or_default(),
                    text(&x["channel"]),
                    text(&x["language"]),
                    text(&x["origin"]),
                    text(&x["destination"]),
                    text(&x["sector"]),
                    text(&x["case_ref"]),
                    text(&x["contacts_by_worker"]),
                ));
            }
            if v["total_at_least"] == json!(true) {
                t.push_str(&format!(
                    "page {} (at least {} contacts: the search stopped counting; add a word to narrow it)",
                    text(&v["page"]),
                    text(&v["total"]),
                ));
            }
            Ok(Output::new(v, t.trim_end().to_string()))
        }
        ContactCommand::Show { id } => {
            let v = c.get(&format!("/api/contacts/{id}"))?;
            let t = serde_json::to_string_pretty(&v).unwrap_or_default();
            Ok(Output::new(v, t))
        }
    }
}

/// The sealed part of a contact, as the operator gives it (standard input or a file).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedInput {
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    messenger_id: String,
    #[serde(default)]
    id_numbers: Vec<String>,
    #[serde(default)]
    notes: String,
}

fn sealed_input(a: &ContactArgs) -> Result<SealedInput> {
    let raw = match &a.identity_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s)
                .context("cannot read the identity from standard input")?;
            s
        }
    };
    // serde's message names the field but never echoes the value (personal data).
    serde_json::from_str(&raw).map_err(|e| {
        anyhow::anyhow!(
            "the identity must be a JSON object with \"name\" and optionally \"phone\", \
             \"messenger_id\", \"id_numbers\" (a list) and \"notes\" ({})",
            e.to_string().split(" at line").next().unwrap_or_default()
        )
    })
}

fn contact_json(a: ContactArgs) -> Result<Value> {
    let sealed = sealed_input(&a)?;
    Ok(json!({
        "channel": a.channel, "language": a.language, "nationality": a.nationality,
        "gender": a.gender, "age_band": a.age_band, "sector": a.sector, "origin": a.origin,
        "destination": a.destination, "notes": sealed.notes,
        "identity": { "name": sealed.name, "phone": sealed.phone, "messenger_id": sealed.messenger_id, "id_numbers": sealed.id_numbers },
    }))
}

pub(super) fn new_case(dir: &DataDir, a: NewCaseArgs) -> Result<Output> {
    let fee = a.fee.as_deref().map(money).transpose()?;
    let mut issues = Vec::new();
    for i in &a.issues {
        let category: IssueCategory = i.parse()?;
        let fee = (category == IssueCategory::RecruitmentFees)
            .then(|| fee.clone())
            .flatten();
        issues.push(json!({ "category": category, "fee": fee }));
    }
    let c = client(dir)?;
    let names = Directory::fetch(&c)?;
    let supplier = a
        .supplier
        .as_deref()
        .map(|s| names.resolve(s, "--supplier"))
        .transpose()?;
    let agencies = a
        .agencies
        .iter()
        .map(|s| names.resolve(s, "--agency"))
        .collect::<Result<Vec<_>>>()?;
    let v = c.post(
        "/api/local-cases",
        &json!({ "contacts": a.contacts, "workers": a.workers, "issues": issues, "supplier": supplier, "agencies": agencies, "site": a.site }),
    )?;
    let t = format!("Opened case {} (not escalated yet).", text(&v["case_ref"]));
    Ok(Output::new(v, t))
}

pub(super) fn case_step(
    dir: &DataDir,
    case: &str,
    path: &str,
    body: Value,
    what: &str,
) -> Result<Output> {
    let case = case_ref(case)?;
    let v = client(dir)?.post(&format!("/api/cases/{case}/{path}"), &body)?;
    Ok(Output::new(v, format!("{what}: case {case}.")))
}

pub(super) fn escalate(
    dir: &DataDir,
    case: &str,
    to: &str,
    remedy: String,
    description: String,
    ack_days: u64,
    remediate_days: u64,
) -> Result<Output> {
    let to = org(&client(dir)?, to, "--to")?;
    let body = json!({ "to": to, "requested_remedy": remedy, "description": description, "ack_days": ack_days, "remediate_days": remediate_days });
    let mut out = case_step(dir, case, "escalate", body, "Escalated")?;
    if out.json["identity_disclosed"] == json!(true) {
        out.text
            .push_str(" The workers' identity went to the recipient, as they consented.");
    }
    Ok(out)
}

pub(super) fn evidence(files: &[std::path::PathBuf]) -> Result<Vec<Value>> {
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f)
                .with_context(|| format!("cannot read evidence file {}", f.display()))?;
            let label = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(json!({ "sha256": Digest::of(&[&bytes]), "label": label }))
        })
        .collect()
}

pub(super) fn inbox(dir: &DataDir, page: usize, per_page: usize) -> Result<Output> {
    let v = client(dir)?.get(&format!("/api/inbox?page={page}&per_page={per_page}"))?;
    let mut t = String::new();
    for x in v["inbox"].as_array().into_iter().flatten() {
        let e = &x["escalation"];
        let overdue: Vec<String> = x["overdue"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| text(&o["what"]))
            .collect();
        t.push_str(&format!(
            "{}  {:<22} ack by {}  remediate by {}{}\n",
            text(&x["case_ref"]),
            text(&x["status"]),
            e["acknowledge_by"]
                .as_u64()
                .map(|s| fmt_time(Timestamp(s)))
                .unwrap_or_default(),
            e["remediate_by"]
                .as_u64()
                .map(|s| fmt_time(Timestamp(s)))
                .unwrap_or_default(),
            if overdue.is_empty() {
                String::new()
            } else {
                format!("  OVERDUE: {}", overdue.join(", "))
            }
        ));
    }
    if t.is_empty() {
        t = "No escalations addressed to this node.".into();
    } else if v["pages"].as_u64().unwrap_or(1) > 1 {
        t.push_str(&format!(
            "page {} of {} ({} cases, {} owing something); --page N for another\n",
            v["page"], v["pages"], v["total"], v["owing"]
        ));
    }
    Ok(Output::new(v, t.trim_end().to_string()))
}

pub(super) fn overdue(dir: &DataDir, limit: usize) -> Result<Output> {
    let c = client(dir)?;
    let v = c.get(&format!("/api/overdue?limit={limit}"))?;
    let names = Directory::fetch(&c)?;
    let mut t = String::new();
    for p in v["by_party"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "{}: overdue in {} open case(s)\n",
            names.name(&text(&p["party"])),
            p["cases"].as_u64().unwrap_or(0)
        ));
    }
    if !t.is_empty() {
        t.push('\n');
    }
    for o in v["overdue"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "{}  {:<15} due {}  owed by {}\n",
            text(&o["case_ref"]),
            text(&o["what"]),
            o["due"]
                .as_u64()
                .map(|s| fmt_time(Timestamp(s)))
                .unwrap_or_default(),
            names.name(&text(&o["party"]))
        ));
    }
    let (cases, listed) = (
        v["cases"].as_u64().unwrap_or(0),
        v["listed"].as_u64().unwrap_or(0),
    );
    if cases > listed {
        t.push_str(&format!(
            "{listed} of {cases} cases with something overdue listed, the most overdue first (--limit to list more)\n"
        ));
    }
    if t.is_empty() {
        t = "Nothing overdue.".into();
    }
    Ok(Output::new(v, t.trim_end().to_string()))
}

pub(super) fn attestation(dir: &DataDir, cmd: AttestationCommand) -> Result<Output> {
    let c = client(dir)?;
    match cmd {
        AttestationCommand::List => {
            let v = c.get("/api/attestations")?;
            let mut t = String::new();
            for a in v["attestations"].as_array().into_iter().flatten() {
                t.push_str(&format!(
                    "{}  {}  {}\n",
                    text(&a["case_ref"]),
                    if a["signature_verified"] == json!(true) {
                        "signature verified"
                    } else if a["awaiting_my_signature"] == json!(true) {
                        "awaiting your co-signature"
                    } else {
                        "draft"
                    },
                    text(&a["attestation"]["verdict"]),
                ));
            }
            Ok(Output::new(v, t.trim_end().to_string()))
        }
        AttestationCommand::Cosign { case } => {
            let case = case_ref(&case)?;
            let v = c.post(&format!("/api/attestations/{case}/cosign"), &Value::Null)?;
            Ok(Output::new(
                v,
                format!("Co-signed the attestation of case {case}."),
            ))
        }
        AttestationCommand::Export { case, out } => {
            let case = case_ref(&case)?;
            let v = c.get(&format!("/api/attestations/{case}/bundle"))?;
            write_json(&out, &v)?;
            Ok(Output::new(
                json!({ "bundle_file": out }),
                format!(
                    "Bundle written to {}; check it anywhere with `ilm verify {}`.",
                    out.display(),
                    out.display()
                ),
            ))
        }
    }
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(v)?;
    bytes.push(b'\n');
    DataDir::write_public_file(path, &bytes)?;
    Ok(())
}

pub(super) fn link(dir: &DataDir, cmd: LinkCommand) -> Result<Output> {
    let c = client(dir)?;
    match cmd {
        LinkCommand::Propose { kind, to } => {
            let kind = match kind.as_str() {
                "brand-supplier" => "brand_supplier",
                "supplier-agency" => "supplier_agency",
                other => bail!("--kind {other:?}: expected brand-supplier or supplier-agency"),
            };
            let v = c.post(
                "/api/links",
                &json!({ "kind": kind, "counterparty": org(&c, &to, "--to")? }),
            )?;
            let t = format!(
                "Proposed link {}; the other side accepts it with `ilm link accept`.",
                text(&v["id"])
            );
            Ok(Output::new(v, t))
        }
        LinkCommand::Accept { id } => {
            let v = c.post(&format!("/api/links/{id}/accept"), &Value::Null)?;
            Ok(Output::new(v, format!("Accepted link {id}.")))
        }
        LinkCommand::List => {
            let v = c.get("/api/links")?;
            let names = Directory::fetch(&c)?;
            let mut t = String::new();
            for l in v["links"].as_array().into_iter().flatten() {
                t.push_str(&format!(
                    "{}  {:<16} {} -> {}  {}\n",
                    text(&l["id"]),
                    text(&l["link"]["kind"]),
                    names.name(&text(&l["link"]["upstream"])),
                    names.name(&text(&l["link"]["downstream"])),
                    if l["complete"] == json!(true) {
                        "signed by both"
                    } else {
                        "proposed"
                    }
                ));
            }
            Ok(Output::new(v, t.trim_end().to_string()))
        }
    }
}

pub(super) fn supply_chain(
    dir: &DataDir,
    supplier: Option<&str>,
    page: usize,
    per_page: usize,
) -> Result<Output> {
    let mut path = format!("/api/supply-chain?page={page}&per_page={per_page}");
    if let Some(s) = supplier {
        // An id is hex: anything else is refused here, and must not reach the query.
        let id: OrgId = s
            .trim()
            .to_lowercase()
            .parse()
            .map_err(|_| Invalid(format!("{s:?} is not an organisation id (64 hex digits)")))?;
        path.push_str(&format!("&supplier={id}"));
    }
    let v = client(dir)?.get(&path)?;
    let mut t = String::new();
    for s in v["suppliers"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "{} ({})\n",
            text(&s["name"]),
            text(&s["supplier"])
        ));
        if s["role"] == json!("agency") {
            t.push_str(&format!(
                "  recruitment agency of: {}\n",
                s["recruits_for"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let cases = s["cases"].as_array().map_or(0, Vec::len);
        for c in s["cases"].as_array().into_iter().flatten() {
            t.push_str(&format!(
                "  case {}  {:<22} {} workers\n",
                text(&c["case_ref"]),
                text(&c["status"]),
                text(&c["workers_affected"])
            ));
        }
        // The page and its size as the node answered them.
        let total = s["cases_total"].as_u64().unwrap_or(0);
        let (page, per_page) = (
            v["page"].as_u64().unwrap_or(1),
            v["per_page"].as_u64().unwrap_or(0),
        );
        let first = page.saturating_sub(1).saturating_mul(per_page);
        if cases > 0 && total > cases as u64 {
            t.push_str(&format!(
                "  cases {}-{} of {total}, newest first (--page for others)\n",
                first + 1,
                first + cases as u64
            ));
        } else if cases == 0 && total > 0 {
            t.push_str(&format!("  no cases on page {page} ({total} in all)\n"));
        }
        for a in s["attestations"].as_array().into_iter().flatten() {
            t.push_str(&format!(
                "  attestation {}  {}\n",
                text(&a["case_ref"]),
                if a["signature_verified"] == json!(true) {
                    "[signature verified]"
                } else {
                    "[not verified]"
                }
            ));
        }
    }
    Ok(Output::new(v, t.trim_end().to_string()))
}

pub(super) fn erase_contact(dir: &DataDir, id: &str) -> Result<Output> {
    let id: crate::intake::ContactId = id
        .parse()
        .map_err(|_| anyhow::anyhow!("{id:?} is not a contact id (see `ilm contact list`)"))?;
    let v = client(dir)?.post(&format!("/api/contacts/{id}/erase"), &json!({}))?;
    let t = if v["erased"] == json!(true) {
        format!(
            "Erased the identity and notes of contact {id}. The case's signed events and the contact's statistics stay.\nThe sealed bytes leave the disk when the node next starts (it compacts its database then)."
        )
    } else {
        format!("Contact {id} was erased already.")
    };
    Ok(Output::new(v, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ilm supply-chain --supplier` refuses what is not an organisation id before it asks
    /// the node, and takes one written in capitals.
    #[test]
    fn supply_chain_checks_the_supplier_before_asking_the_node() {
        let dir = tempfile::tempdir().expect("dir");
        let data = DataDir::new(dir.path());
        let says = |supplier: &str| match supply_chain(&data, Some(supplier), 1, 100) {
            Ok(_) => panic!("no node runs here"),
            Err(e) => e.to_string(),
        };
        assert!(says("nobody").contains("is not an organisation id"));
        assert!(says("ab&page=9").contains("is not an organisation id"));
        // The control: an id in capitals passes the check, and fails for want of a node.
        let capitals = says(&"AB".repeat(32));
        assert!(
            !capitals.contains("is not an organisation id"),
            "{capitals}"
        );
    }
}
