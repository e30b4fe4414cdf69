//! Commands that talk to the running daemon: status, peers, outbox and cases.

use super::{fmt_time, now};
use crate::cli::{CaseCommand, CaseListArgs, OpenCaseArgs};
use crate::client::AdminClient;
use crate::datadir::DataDir;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use ilm_protocol::event::Escalation;
use ilm_protocol::{CaseRef, IssueCategory, OrgId, Timestamp};
use serde_json::{Value, json};

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn time(v: &Value) -> String {
    v.as_u64()
        .map(|t| fmt_time(Timestamp(t)))
        .unwrap_or_else(|| "-".into())
}

pub(super) fn status(dir: &DataDir) -> Result<Output> {
    let v = AdminClient::for_dir(dir)?.get("/api/status")?;
    let addrs: Vec<String> = v["listen_addresses"]
        .as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default();
    let t = format!(
        "{} {} ({})\norg id:     {}\npeer id:    {}\nnetwork:    {} ({})\nmembership: {} until {}\npeers:      {} members connected\nlistening:  {}\noutbox:     {} pending, {} delivered, {} rejected\nreceived:   {} messages",
        text(&v["role"]),
        text(&v["name"]),
        if v["membership"]["current"] == json!(true) {
            "member"
        } else {
            "NOT a current member"
        },
        text(&v["org_id"]),
        text(&v["peer_id"]),
        text(&v["network"]["name"]),
        text(&v["network"]["id"]),
        if v["membership"]["current"] == json!(true) {
            "valid"
        } else {
            "invalid"
        },
        time(&v["membership"]["valid_until"]),
        text(&v["peers"]),
        addrs.join(" "),
        text(&v["outbox"]["pending"]),
        text(&v["outbox"]["delivered"]),
        text(&v["outbox"]["rejected"]),
        text(&v["received_messages"]),
    );
    let mut t = format!(
        "{t}\n{}\n{}",
        store_line(&v["health"]["store"]),
        retention_line(&v["retention"])
    );
    if let Some(line) = restore_line(&v["restore"]) {
        t = format!("{t}\n{line}");
    }
    Ok(Output::new(v, t))
}

pub(super) fn peers(dir: &DataDir) -> Result<Output> {
    let v = AdminClient::for_dir(dir)?.get("/api/peers")?;
    let mut t = String::new();
    for p in v["peers"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "{:<10} {:<40} {}\n",
            text(&p["role"]),
            text(&p["name"]),
            text(&p["peer_id"])
        ));
    }
    if t.is_empty() {
        t = "No member peers connected.".into();
    }
    Ok(Output::new(v, t.trim_end().to_string()))
}

pub(super) fn outbox(dir: &DataDir, state: Option<&str>) -> Result<Output> {
    let path = match state {
        None => "/api/outbox".to_string(),
        Some(s @ ("pending" | "delivered" | "rejected")) => format!("/api/outbox?state={s}"),
        Some(other) => bail!("--state {other:?}: expected pending, delivered or rejected"),
    };
    let c = AdminClient::for_dir(dir)?;
    let v = c.get(&path)?;
    let names = super::directory::Directory::fetch(&c)?;
    let mut t = String::new();
    for e in v["entries"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "{}  to {}  {:<10} {:<12} attempts {}{}\n",
            text(&e["message_id"]),
            names.name(&text(&e["recipient"])),
            text(&e["state"]),
            text(&e["kind"]),
            text(&e["attempts"]),
            match &e["last_error"] {
                Value::String(s) => format!("  ({s})"),
                _ => String::new(),
            }
        ));
    }
    if t.is_empty() {
        t = "The outbox is empty.".into();
    }
    Ok(Output::new(v, t.trim_end().to_string()))
}

fn parse_case(s: &str) -> Result<CaseRef> {
    s.parse()
        .with_context(|| format!("{s:?} is not a case reference (32 lowercase hex digits)"))
}

fn appended(v: Value, what: &str) -> Output {
    let t = format!(
        "{what}: case {} event {} sent to {} participant(s).",
        text(&v["case_ref"]),
        &text(&v["event"]).chars().take(16).collect::<String>(),
        v["recipients"].as_array().map(Vec::len).unwrap_or(0)
    );
    Output::new(v, t)
}

fn open_case(dir: &DataDir, a: OpenCaseArgs) -> Result<Output> {
    let client = AdminClient::for_dir(dir)?;
    let to = super::directory::Directory::fetch(&client)?.resolve(&a.to, "--to")?;
    let categories = a
        .categories
        .iter()
        .map(|c| c.parse::<IssueCategory>())
        .collect::<Result<Vec<_>, _>>()?;
    if a.ack_days > a.remediate_days {
        bail!("--ack-days must not be later than --remediate-days");
    }
    let t = now();
    let escalation = Escalation {
        to,
        categories,
        workers_affected: a.workers,
        site: a.site,
        requested_remedy: a.remedy,
        description: a.description,
        recruitment_fees: None,
        acknowledge_by: t.plus_days(a.ack_days),
        remediate_by: t.plus_days(a.remediate_days),
    };
    let v = client.post("/api/cases", &json!({ "escalation": escalation }))?;
    Ok(appended(v, "Escalated"))
}

/// `ilm case list`: the node's worklist query, one line per case.
fn list_cases(dir: &DataDir, a: CaseListArgs) -> Result<Output> {
    let client = AdminClient::for_dir(dir)?;
    let directory = super::directory::Directory::fetch(&client)?;
    let party = match &a.party {
        Some(p) => directory.resolve(p, "--party")?.to_string(),
        None => String::new(),
    };
    let query = crate::worklist::CaseQuery {
        q: a.search.unwrap_or_default(),
        status: a.status.unwrap_or_default(),
        overdue: a.overdue,
        party,
        category: a.category.unwrap_or_default(),
        closed: a.closed,
        sort: a.sort,
        page: a.page,
        per_page: if a.all {
            crate::worklist::MAX_PER_PAGE
        } else {
            0
        },
        ..Default::default()
    };
    let qs = serde_urlencoded::to_string(&query).context("encode the query")?;
    let v = client.get(&format!("/api/cases?{qs}"))?;
    let mut t = String::new();
    for c in v["cases"].as_array().into_iter().flatten() {
        let cats: Vec<String> = c["categories"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        let due = match c["next_due"].as_u64() {
            Some(d) => crate::clock::fmt_day(Timestamp(d)),
            None => "-".into(),
        };
        t.push_str(&format!(
            "{}  {}  {:<22} {:<24} due {}{}  {}  [{}]\n",
            text(&c["case_ref"]),
            c["opened_at"]
                .as_u64()
                .map(|d| crate::clock::fmt_day(Timestamp(d)))
                .unwrap_or_default(),
            text(&c["status"]),
            text(&c["site"]),
            due,
            if c["overdue"] == json!(true) {
                " OVERDUE"
            } else {
                ""
            },
            c["counterparty_names"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect::<Vec<_>>()
                .join(", "),
            cats.join(", "),
        ));
    }
    let total = v["total"].as_u64().unwrap_or(0);
    let at_least = v["total_at_least"] == json!(true);
    if t.is_empty() {
        t = "No cases.".into();
    } else if at_least {
        t.push_str(&format!(
            "page {} (at least {total} cases: the search stopped counting; narrow it, or `ilm export cases` for every one)",
            text(&v["page"]),
        ));
    } else if v["pages"].as_u64().unwrap_or(1) > 1 {
        t.push_str(&format!(
            "page {} of {} ({total} cases; --page N or --all for more)",
            text(&v["page"]),
            text(&v["pages"])
        ));
    }
    Ok(Output::new(v, t.trim_end().to_string()))
}

pub(super) fn case(dir: &DataDir, cmd: CaseCommand) -> Result<Output> {
    match cmd {
        CaseCommand::Open(a) => open_case(dir, a),
        CaseCommand::List(a) => list_cases(dir, a),
        CaseCommand::Show { case } => {
            let case = parse_case(&case)?;
            let v = AdminClient::for_dir(dir)?.get(&format!("/api/cases/{case}"))?;
            let mut t = format!(
                "case {}  status {}\n",
                text(&v["case_ref"]),
                text(&v["status"])
            );
            for e in v["events"].as_array().into_iter().flatten() {
                t.push_str(&format!(
                    "{}  {:<22} by {} {} (signature verified)\n",
                    time(&e["authored_at"]),
                    text(&e["event"]["type"]),
                    text(&e["author_role"]),
                    text(&e["author_name"]),
                ));
            }
            Ok(Output::new(v, t.trim_end().to_string()))
        }
        CaseCommand::Ack { case, note } => {
            let case = parse_case(&case)?;
            let v = AdminClient::for_dir(dir)?.post(
                &format!("/api/cases/{case}/events"),
                &json!({ "event": { "type": "acknowledgement", "note": note } }),
            )?;
            Ok(appended(v, "Acknowledged"))
        }
        CaseCommand::New(a) => super::workflow_ops::new_case(dir, a),
        CaseCommand::Consent {
            case,
            recipient,
            contacts,
            withdraw,
        } => {
            let recipient: OrgId = recipient
                .parse()
                .with_context(|| format!("--recipient {recipient:?} is not an organisation id"))?;
            let (path, what) = if withdraw {
                ("consent/withdraw", "Consent withdrawn")
            } else {
                ("consent", "Consent recorded")
            };
            super::workflow_ops::case_step(
                dir,
                &case,
                path,
                json!({ "recipient": recipient, "contacts": contacts }),
                what,
            )
        }
        CaseCommand::Escalate {
            case,
            to,
            remedy,
            description,
            ack_days,
            remediate_days,
        } => super::workflow_ops::escalate(
            dir,
            &case,
            &to,
            remedy,
            description,
            ack_days,
            remediate_days,
        ),
        CaseCommand::Plan {
            case,
            description,
            target_days,
        } => {
            let target = now().plus_days(target_days);
            super::workflow_ops::case_step(
                dir,
                &case,
                "events",
                json!({ "event": { "type": "remediation_plan", "description": description, "target_date": target } }),
                "Plan recorded",
            )
        }
        CaseCommand::Action {
            case,
            description,
            workers,
            amount,
            evidence,
        } => {
            let amount = amount
                .as_deref()
                .map(super::workflow_ops::money)
                .transpose()?;
            let evidence = super::workflow_ops::evidence(&evidence)?;
            super::workflow_ops::case_step(
                dir,
                &case,
                "events",
                json!({ "event": {
                "type": "remediation_action", "description": description, "taken_at": now(),
                "amount_repaid": amount, "workers_benefited": workers, "evidence": evidence } }),
                "Action recorded",
            )
        }
        CaseCommand::Complete { case, summary } => super::workflow_ops::case_step(
            dir,
            &case,
            "events",
            json!({ "event": { "type": "remediation_reported", "summary": summary } }),
            "Remediation reported",
        ),
        CaseCommand::Verify {
            case,
            verdict,
            workers,
            note,
        } => {
            if !matches!(
                verdict.as_str(),
                "resolved" | "partly_resolved" | "not_resolved"
            ) {
                bail!("--verdict {verdict:?}: expected resolved, partly_resolved or not_resolved");
            }
            let mut out = super::workflow_ops::case_step(
                dir,
                &case,
                "verify",
                json!({ "verdict": verdict, "workers_consulted": workers, "note": note }),
                "Verdict recorded",
            )?;
            if out.json["reopened"] == json!(true) {
                out.text
                    .push_str(" The case is reopened and escalated again.");
            } else {
                out.text
                    .push_str(" The attestation went to the remediating party for co-signature.");
            }
            Ok(out)
        }
        CaseCommand::Dispute { case, reason } => {
            let case = parse_case(&case)?;
            let v = AdminClient::for_dir(dir)?.post(
                &format!("/api/cases/{case}/events"),
                &json!({ "event": { "type": "dispute", "reason": reason } }),
            )?;
            Ok(appended(v, "Disputed"))
        }
    }
}

pub(super) fn compact(dir: &DataDir, if_due: bool) -> Result<Output> {
    if !dir.is_initialised() {
        bail!(
            "no node identity in {} (wrong --data-dir?)",
            dir.root().display()
        );
    }
    if if_due {
        return compact_if_due(dir);
    }
    let path = dir.db_path();
    let done = match crate::store::compact(&path) {
        Err(crate::store::StoreError::Locked) => return Err(crate::daemon::node_running()),
        other => other.with_context(|| format!("compact {}", path.display()))?,
    };
    DataDir::restrict(&path)?;
    Ok(Output::new(
        json!(done),
        format!(
            "Compacted {}: {} keys, {} KiB before, {} KiB after.",
            path.display(),
            done.keys,
            done.bytes_before / 1024,
            done.bytes_after / 1024
        ),
    ))
}

/// `ilm db compact --if-due`: the compaction the next start would make, made now. A
/// compaction for size that fails exits with status 1 and says the database opens as it is.
fn compact_if_due(dir: &DataDir) -> Result<Output> {
    use crate::daemon::compaction::Outcome;
    let path = dir.db_path();
    let done = crate::daemon::compact_if_due(dir)?;
    DataDir::restrict(&path)?;
    let (reason, outcome) = match done {
        None => {
            return Ok(Output::new(
                json!({ "compacted": false, "due": null }),
                format!(
                    "Not compacted: nothing erased waits to leave {}, and its log has not outgrown what its last compaction left.",
                    path.display()
                ),
            ));
        }
        Some(d) => d,
    };
    Ok(match outcome {
        Outcome::Compacted(c) => Output::new(
            json!({ "compacted": true, "due": reason, "why": reason.to_string(), "bytes_before": c.bytes_before, "bytes_after": c.bytes_after, "keys": c.keys }),
            format!(
                "Compacted {} ({reason}): {} keys, {} KiB before, {} KiB after.",
                path.display(),
                c.keys,
                c.bytes_before / 1024,
                c.bytes_after / 1024
            ),
        ),
        Outcome::Waits(why) => Output::new(
            json!({ "compacted": false, "due": reason, "why": reason.to_string(), "failed": why }),
            format!(
                "Not compacted ({reason}): {why}. The database is as it was; the node starts with it and its next start tries again."
            ),
        )
        .with_exit(1),
    })
}

/// `ilm db check`: every record read, with the node stopped.
pub(super) fn check(dir: &DataDir) -> Result<Output> {
    if !dir.is_initialised() {
        bail!(
            "no node identity in {} (wrong --data-dir?)",
            dir.root().display()
        );
    }
    let records = crate::daemon::check_database(dir)?;
    Ok(Output::new(
        json!({ "records": records, "whole": true }),
        format!(
            "Checked {}: all {records} records read back whole.",
            dir.db_path().display()
        ),
    ))
}

/// The database's health: what an operator must act on, first.
fn store_line(h: &Value) -> String {
    if let Some(d) = h["damaged"].as_str() {
        format!(
            "store:      DAMAGED ({d}); stop the node and restore a backup (docs/OPERATIONS.md)"
        )
    } else if let Some(w) = h["write_failing"].as_str() {
        format!(
            "store:      WRITES FAILING ({w}); nothing new is acknowledged until they work again (free space)"
        )
    } else {
        "store:      healthy".to_string()
    }
}

/// For a node restored from a backup: which peers have answered its catch-up request.
fn restore_line(r: &Value) -> Option<String> {
    let at = r["backup_at"].as_u64()?;
    let answered = r["answered"].as_object().map(|a| a.len()).unwrap_or(0);
    let incomplete = r["answered"]
        .as_object()
        .map(|a| a.values().filter(|v| v["complete"] != json!(true)).count())
        .unwrap_or(0);
    let requeued: u64 = r["answered"]
        .as_object()
        .map(|a| a.values().filter_map(|v| v["requeued"].as_u64()).sum())
        .unwrap_or(0);
    Some(format!(
        "restored:   from a backup of {}; {answered} peers asked to deliver again ({requeued} messages){}",
        fmt_time(Timestamp(at)),
        if incomplete > 0 {
            format!("; {incomplete} no longer held everything (older than their outbox retention)")
        } else {
            String::new()
        }
    ))
}

fn retention_line(r: &Value) -> String {
    let days = |k: &str| match r["policy"][k].as_u64() {
        Some(d) => format!("{d} days"),
        None => "kept".into(),
    };
    let last = match r["state"]["last"]["at"].as_u64() {
        Some(t) => format!(
            "last sweep {} erased {} identities, {} notes, {} disclosures",
            fmt_time(Timestamp(t)),
            text(&r["state"]["last"]["identities"]),
            text(&r["state"]["last"]["notes"]),
            text(&r["state"]["last"]["disclosures"])
        ),
        None => "no sweep yet".into(),
    };
    format!(
        "retention:  identities {}, notes {}, closed cases {}, outbox {}; {last}{}",
        days("worker_identities_days"),
        days("contact_notes_days"),
        days("closed_cases_days"),
        days("delivered_outbox_days"),
        if r["compaction_due"] == json!(true) {
            "; erased data still on disk until the next start (compaction due)"
        } else {
            ""
        }
    )
}
