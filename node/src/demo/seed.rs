//! Seeding the demo network: links, contacts, cases in every lifecycle stage, attestations,
//! all through the nodes' admin APIs.

use super::{DAY, Rng, wait_until};
use crate::client::AdminClient;
use crate::datadir::DataDir;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub(super) fn api(
    dirs: &BTreeMap<&'static str, (PathBuf, String)>,
    key: &str,
) -> Result<AdminClient> {
    let (dir, _) = dirs
        .get(key)
        .with_context(|| format!("no demo node {key}"))?;
    Ok(AdminClient::for_dir(&DataDir::new(dir))?)
}

pub(super) fn id(dirs: &BTreeMap<&'static str, (PathBuf, String)>, key: &str) -> String {
    dirs.get(key).map(|(_, id)| id.clone()).unwrap_or_default()
}

fn knows(c: &AdminClient, org: &str) -> Result<bool> {
    let v = c.get("/api/members")?;
    Ok(v["members"]
        .as_array()
        .is_some_and(|m| m.iter().any(|x| x["org_id"] == org)))
}

fn holds(c: &AdminClient, case: &str) -> Result<bool> {
    Ok(c.get(&format!("/api/cases/{case}")).is_ok())
}

/// Sample know-your-rights pages (Myanmar to Thailand): language, title, text.
const RIGHTS_PAGES: [(&str, &str, &str); 2] = [
    (
        "en",
        "Working in Thailand: your rights",
        "Your employer may not keep your passport or work permit. You may keep them yourself.\n\nYou must be paid at least the minimum wage, in full and on time, at least once a month.\n\nUnder the Employer Pays principle you should pay no recruitment fee. If you paid one, tell the helpline: it can be repaid.",
    ),
    (
        "my",
        "ထိုင်းနိုင်ငံတွင် အလုပ်လုပ်ခြင်း - သင့်အခွင့်အရေးများ",
        "အလုပ်ရှင်သည် သင့်နိုင်ငံကူးလက်မှတ် သို့မဟုတ် အလုပ်လုပ်ခွင့်ကို သိမ်းထား၍ မရပါ။ သင်ကိုယ်တိုင် သိမ်းထားနိုင်ပါသည်။\n\nအနည်းဆုံး လုပ်ခကို အပြည့်အဝ အချိန်မီ လစဉ် အနည်းဆုံး တစ်ကြိမ် ရရပါမည်။\n\nအလုပ်ရှင်က ပေးချေရမည့် စည်းမျဉ်းအရ အလုပ်ရှာဖွေခ မပေးရပါ။ ပေးခဲ့ပါက အကူအညီဌာနကို ပြောပြပါ - ပြန်ရနိုင်ပါသည်။",
    ),
];

/// The stage a sample case is taken to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Stage {
    Open,
    Escalated,
    Acknowledged,
    Disputed,
    Planned,
    Reported,
    Reopened,
    PartlyResolved,
    Resolved,
}

/// Seeds contacts, cases in every lifecycle stage, links and attestations; returns a summary.
pub(super) fn seed(
    dirs: &BTreeMap<&'static str, (PathBuf, String)>,
    contacts: u32,
) -> Result<String> {
    let now = crate::commands::now().0;
    let mut rng = Rng(20_261_130);
    let csos = ["cso-helpline", "cso-union"];
    // Everyone must know everyone's certificate (from the steward's directory) first.
    for key in dirs.keys() {
        let c = api(dirs, key)?;
        for (other, (_, org)) in dirs.iter() {
            if other != key {
                wait_until(&format!("{key} to know {other}"), || {
                    knows(&c, org).map(|k| k.then_some(()))
                })?;
            }
        }
    }
    // Know-your-rights pages on the helpline's portal, for its main corridor.
    let helpline = api(dirs, "cso-helpline")?;
    for (language, title, body) in RIGHTS_PAGES {
        helpline.post(
            "/api/portal/rights",
            &json!({ "origin": "MM", "destination": "TH", "language": language, "title": title, "body": body }),
        )?;
    }
    // Supply-chain links.
    for (up, down, kind) in [
        ("brand-northwind", "supplier-samut", "brand_supplier"),
        ("brand-northwind", "supplier-songkhla", "brand_supplier"),
        ("brand-aurora", "supplier-penang", "brand_supplier"),
        ("supplier-samut", "agency-yangon", "supplier_agency"),
        ("supplier-penang", "agency-bangkok", "supplier_agency"),
    ] {
        let v = api(dirs, up)?.post(
            "/api/links",
            &json!({ "kind": kind, "counterparty": id(dirs, down) }),
        )?;
        let link = v["id"].as_str().unwrap_or_default().to_string();
        let d = api(dirs, down)?;
        wait_until("a link proposal", || {
            let v = d.get("/api/links")?;
            Ok(v["links"]
                .as_array()
                .and_then(|l| l.iter().any(|x| x["id"] == link.as_str()).then_some(())))
        })?;
        d.post(&format!("/api/links/{link}/accept"), &Value::Null)?;
    }
    // Two suppliers' improvement plans, which the brands see on their trend charts.
    let day = |t: u64| crate::clock::fmt_day(ilm_protocol::Timestamp(t));
    for (supplier, kind, title, description, planned_days_ago, done) in [
        (
            "supplier-samut",
            "policy_adopted",
            "Employer Pays policy adopted",
            "No worker pays any recruitment fee; fees already paid are repaid",
            150,
            true,
        ),
        (
            "supplier-samut",
            "grievance_mechanism",
            "Workers' hotline in Burmese and Khmer",
            "Run with the helpline; answered within 48 hours",
            60,
            true,
        ),
        (
            "supplier-songkhla",
            "training",
            "Supervisors trained on working hours",
            "",
            20,
            false,
        ),
    ] {
        let planned = now - planned_days_ago * DAY;
        let mut body = json!({
            "kind": kind, "title": title, "description": description,
            "planned_for": day(planned),
        });
        if done {
            body["completed_at"] = json!(day(planned + 7 * DAY));
        }
        api(dirs, supplier)?.post("/api/improvements", &body)?;
    }
    // Contacts over the last 12 months.
    let langs: &[(&str, &str, &str, &str)] = &[
        ("my", "MM", "MM", "TH"),
        ("my", "MM", "MM", "MY"),
        ("km", "KH", "KH", "TH"),
        ("lo", "LA", "LA", "TH"),
        ("ne", "NP", "NP", "MY"),
        ("th", "TH", "TH", "TH"),
        ("en", "ID", "ID", "MY"),
    ];
    let channels = [
        "phone_call",
        "line",
        "facebook",
        "viber",
        "worker_app",
        "in_person",
        "line",
        "facebook",
    ];
    let sectors = [
        "seafood",
        "seafood",
        "food_processing",
        "electronics",
        "agriculture",
        "construction",
        "garment",
    ];
    let genders = ["female", "male", "female", "male", "undisclosed"];
    let ages = ["18_24", "25_34", "25_34", "35_44", "45_plus", "unknown"];
    let mut per_cso: BTreeMap<&str, Vec<(String, u64)>> = BTreeMap::new();
    let mut workers: Vec<(String, String)> = Vec::new();
    for i in 0..contacts {
        let cso = csos[(i % 2) as usize];
        let (lang, nat, origin, dest) = *rng.pick(langs);
        let age = now.saturating_sub(rng.below(365 * DAY));
        // Every fifth contact is a worker calling the same helpline again (ten contacts back
        // went to the same CSO), so both CSOs' contact lists have repeat callers to find.
        let worker = if i % 5 == 4 && i >= 10 {
            workers[(i - 10) as usize].clone()
        } else {
            (
                format!("Sample Worker {i:04}"),
                format!("+66 8{:08}", rng.below(100_000_000)),
            )
        };
        workers.push(worker.clone());
        let body = json!({
            "channel": rng.pick(&channels), "language": lang, "nationality": nat, "gender": rng.pick(&genders),
            "age_band": rng.pick(&ages), "sector": rng.pick(&sectors), "origin": origin, "destination": dest,
            "received_at": age,
            "identity": { "name": worker.0, "phone": worker.1, "messenger_id": "", "id_numbers": [] },
            "notes": "Synthetic demo contact",
        });
        let v = api(dirs, cso)?.post("/api/contacts", &body)?;
        per_cso
            .entry(cso)
            .or_default()
            .push((v["id"].as_str().unwrap_or_default().to_string(), age));
    }
    // Cases: about one in eight contacts, some collective.
    let categories = [
        "withholding_of_wages",
        "recruitment_fees",
        "retention_of_identity_documents",
        "excessive_overtime",
        "deception",
        "health_and_safety",
        "living_conditions",
        "intimidation_and_threats",
        "contracts",
    ];
    let suppliers = ["supplier-samut", "supplier-songkhla", "supplier-penang"];
    let stages = [
        Stage::Open,
        Stage::Escalated,
        Stage::Escalated,
        Stage::Acknowledged,
        Stage::Disputed,
        Stage::Planned,
        Stage::Reported,
        Stage::Reopened,
        Stage::PartlyResolved,
        Stage::Resolved,
        Stage::Resolved,
        Stage::Resolved,
    ];
    let mut cases: Vec<(String, &str, &str, Stage, u64)> = Vec::new();
    for (cso, list) in &per_cso {
        let mut idx = 0;
        while idx + 1 < list.len() && cases.len() < (contacts as usize / 8).max(12) {
            let group = 1 + rng.below(3) as usize;
            let members: Vec<&(String, u64)> =
                list[idx..(idx + group).min(list.len())].iter().collect();
            idx += 8;
            let opened = members.iter().map(|m| m.1).max().unwrap_or(now);
            let supplier = *rng.pick(&suppliers);
            let cat = *rng.pick(&categories);
            let mut issues = vec![json!({ "category": cat })];
            if cat != "recruitment_fees" && rng.below(3) == 0 {
                issues.push(json!({ "category": "recruitment_fees", "fee": { "minor_units": 500_000 + rng.below(40) * 100_000, "currency": "THB" } }));
            }
            let workers = members.len() as u64
                + if rng.below(4) == 0 {
                    20 + rng.below(300)
                } else {
                    rng.below(5)
                };
            let v = api(dirs, cso)?.post("/api/local-cases", &json!({
                "contacts": members.iter().map(|m| m.0.clone()).collect::<Vec<_>>(), "workers": workers,
                "issues": issues, "supplier": id(dirs, supplier), "site": format!("{} main site", supplier.trim_start_matches("supplier-")),
            }))?;
            let stage = stages[cases.len() % stages.len()];
            cases.push((
                v["case_ref"].as_str().unwrap_or_default().to_string(),
                cso,
                supplier,
                stage,
                opened,
            ));
        }
    }
    let at = |t: u64| json!(t.min(now));
    // Escalate (deadlines relative to the escalation time: old unanswered ones are overdue).
    for (case, cso, supplier, stage, opened) in &cases {
        if *stage == Stage::Open {
            continue;
        }
        api(dirs, cso)?.post(&format!("/api/cases/{case}/escalate"), &json!({
            "to": id(dirs, supplier), "requested_remedy": "Stop the practice, repay what workers lost, and report back",
            "description": "Workers report the issues listed; details withheld to protect them.",
            "ack_days": 7, "remediate_days": 45, "at": at(opened + DAY),
        }))?;
    }
    // Responses by the suppliers.
    for (case, _, supplier, stage, opened) in &cases {
        if *stage <= Stage::Escalated {
            continue;
        }
        let s = api(dirs, supplier)?;
        wait_until("a supplier to receive an escalation", || {
            holds(&s, case).map(|h| h.then_some(()))
        })?;
        let ev = |event: Value, t: u64| -> Result<()> {
            s.post(
                &format!("/api/cases/{case}/events"),
                &json!({ "event": event, "at": at(t) }),
            )?;
            Ok(())
        };
        if *stage == Stage::Disputed {
            ev(
                json!({ "type": "dispute", "reason": "The workers named are not employed at this site" }),
                opened + 4 * DAY,
            )?;
            continue;
        }
        ev(
            json!({ "type": "acknowledgement", "note": "Received; investigating with HR" }),
            opened + 3 * DAY,
        )?;
        if *stage == Stage::Acknowledged {
            continue;
        }
        ev(
            json!({ "type": "remediation_plan", "description": "Repay wages and fees; return documents", "target_date": opened + 40 * DAY }),
            opened + 6 * DAY,
        )?;
        if *stage == Stage::Planned {
            continue;
        }
        ev(
            json!({ "type": "remediation_action", "description": "Repayment by bank transfer", "taken_at": (opened + 20 * DAY).min(now),
            "amount_repaid": { "minor_units": 300_000 + rng.below(50) * 50_000, "currency": "THB" }, "workers_benefited": 1 + rng.below(40),
            "evidence": [{ "sha256": ilm_protocol::Digest::of(&[case.as_bytes()]), "label": "bank transfer receipts" }] }),
            opened + 20 * DAY,
        )?;
        ev(
            json!({ "type": "remediation_reported", "summary": "Repayments made and documents returned" }),
            opened + 25 * DAY,
        )?;
    }
    // Escalating further: disputed cases go to the supplier's brand, some unanswered ones are
    // referred to the labour office, and fee cases also go to the supplier's agency.
    let brand_of = |s: &str| {
        if s == "supplier-penang" {
            "brand-aurora"
        } else {
            "brand-northwind"
        }
    };
    let agency_of = |s: &str| match s {
        "supplier-samut" => Some("agency-yangon"),
        "supplier-penang" => Some("agency-bangkok"),
        _ => None,
    };
    for (i, (case, cso, supplier, stage, opened)) in cases.iter().enumerate() {
        let target = match stage {
            Stage::Disputed => Some(brand_of(supplier)),
            Stage::Escalated if i % 2 == 0 => Some("gov-labour"),
            Stage::Acknowledged | Stage::Planned => agency_of(supplier),
            _ => None,
        };
        let Some(target) = target else {
            continue;
        };
        let c = api(dirs, cso)?;
        wait_until("the CSO to hold the case", || {
            holds(&c, case).map(|h| h.then_some(()))
        })?;
        if *stage == Stage::Disputed {
            wait_until("the dispute to reach the CSO", || {
                let v = c.get(&format!("/api/cases/{case}"))?;
                Ok((v["status"] == "disputed").then_some(()))
            })?;
        }
        c.post(&format!("/api/cases/{case}/escalate"), &json!({
            "to": id(dirs, target), "requested_remedy": "Use your leverage with the supplier to remediate",
            "description": "The supplier has not remediated; escalated further.",
            "ack_days": 7, "remediate_days": 45, "at": at(opened + 10 * DAY),
        }))?;
    }
    // Verification by the CSOs, then co-signature by the suppliers.
    for (case, cso, _, stage, opened) in &cases {
        let verdict = match stage {
            Stage::Reopened => "not_resolved",
            Stage::PartlyResolved => "partly_resolved",
            Stage::Resolved => "resolved",
            _ => continue,
        };
        let c = api(dirs, cso)?;
        wait_until("a CSO to see remediation reported", || {
            let v = c.get(&format!("/api/cases/{case}"))?;
            Ok((v["status"] == "remediation_reported").then_some(()))
        })?;
        c.post(&format!("/api/cases/{case}/verify"), &json!({ "verdict": verdict, "workers_consulted": 3 + rng.below(10), "note": "Follow-up calls with workers", "at": at(opened + 32 * DAY) }))?;
    }
    let mut attested = 0;
    for (case, _, supplier, stage, _) in &cases {
        if !matches!(stage, Stage::Resolved | Stage::PartlyResolved) {
            continue;
        }
        let s = api(dirs, supplier)?;
        wait_until("a supplier to receive an attestation draft", || {
            let v = s.get("/api/attestations")?;
            Ok(v["attestations"].as_array().and_then(|a| {
                a.iter()
                    .any(|x| x["case_ref"] == case.as_str())
                    .then_some(())
            }))
        })?;
        s.post(&format!("/api/attestations/{case}/cosign"), &Value::Null)?;
        attested += 1;
    }
    // Each CSO publishes its statistics of three earlier months; the last month is left for
    // an operator to publish from the Statistics page.
    let mut published = 0;
    let mut month = ilm_protocol::Month::of(crate::commands::now())
        .previous()
        .and_then(ilm_protocol::Month::previous);
    for _ in 0..3 {
        let Some(m) = month else { break };
        for cso in csos {
            api(dirs, cso)?.post(
                "/api/statistics/publish",
                &json!({ "month": m.to_string() }),
            )?;
        }
        published += 1;
        month = m.previous();
    }
    let helpline_contacts: Vec<String> = per_cso
        .get("cso-helpline")
        .map(|l| l.iter().map(|(id, _)| id.clone()).collect())
        .unwrap_or_default();
    let workers_side = super::workers::seed_workers_side(dirs, &helpline_contacts)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, _, stage, _) in &cases {
        *counts
            .entry(format!("{stage:?}").to_lowercase())
            .or_default() += 1;
    }
    let overdue: usize = csos
        .iter()
        .map(|c| {
            api(dirs, c).and_then(|a| {
                Ok(a.get("/api/overdue?limit=10000")?["overdue"]
                    .as_array()
                    .map(Vec::len)
                    .unwrap_or(0))
            })
        })
        .sum::<Result<usize>>()?;
    Ok(format!(
        "{contacts} contacts, {} cases ({}), {attested} attestations co-signed, {overdue} overdue items, 5 supply-chain links, statistics of {published} months published by each CSO, {workers_side}",
        cases.len(),
        counts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
