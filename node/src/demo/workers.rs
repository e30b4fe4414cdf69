//! Seeding the workers' side of the demo: job listings from two agencies and a supplier,
//! workers' ratings at the helpline (published where at least k were given, withheld where
//! fewer), a supplier's public answer, and broker alerts (one published by the helpline, one
//! an agency proposed, waiting for review), all through the nodes' admin APIs.

use super::seed::{api, id};
use super::{Rng, wait_until};
use anyhow::Result;
use ilm_protocol::Dimension;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

type Dirs = BTreeMap<&'static str, (PathBuf, String)>;

/// A listing body: publisher's words, wage in baht a month, costs as (item, baht).
fn listing(job: &str, employer: &str, site: &str, wage: u64, costs: &[(&str, u64)]) -> Value {
    json!({
        "job": job, "employer": employer, "site": site,
        "description": "Day and night shifts in rotation, overtime voluntary and paid at 1.5 times.\n\nDormitory on site, free of charge.",
        "origin": "MM", "destination": "TH", "workers_wanted": 30,
        "wage": { "minor_units": wage * 100, "currency": "THB" }, "wage_period": "month",
        "hours_per_week": 48, "contract_months": 24, "contract_languages": "Burmese, Thai",
        "costs": costs.iter().map(|(item, baht)| json!({ "item": item, "amount": { "minor_units": baht * 100, "currency": "THB" } })).collect::<Vec<_>>(),
        "documents_kept_by": "worker", "days": 90,
    })
}

/// Seeds listings, ratings and an answer; `helpline_contacts` are contact ids at the
/// helpline to rate from. Returns a summary.
pub(super) fn seed_workers_side(dirs: &Dirs, helpline_contacts: &[String]) -> Result<String> {
    for (publisher, body) in [
        (
            "agency-yangon",
            listing(
                "Shrimp peeler",
                "Samut Seafood Co.",
                "Samut Sakhon",
                12_000,
                &[],
            ),
        ),
        (
            "supplier-samut",
            listing(
                "Packing line worker",
                "Samut Seafood Co.",
                "Samut Sakhon, plant 2",
                12_500,
                &[("Medical check", 1_500)],
            ),
        ),
        (
            "agency-bangkok",
            listing(
                "Electronics assembler",
                "Penang Circuits",
                "Bangkok",
                11_000,
                &[("Visa and work permit", 4_000), ("Transport", 1_200)],
            ),
        ),
    ] {
        api(dirs, publisher)?.post("/api/listings", &body)?;
    }
    let helpline = api(dirs, "cso-helpline")?;
    wait_until("the helpline to receive the job listings", || {
        let v = helpline.get("/api/listings")?;
        Ok((v["listings"].as_array().map_or(0, Vec::len) >= 3).then_some(()))
    })?;
    // Ratings: seven of one supplier and six of an agency (published), three of another
    // supplier (withheld: fewer than k).
    let mut rng = Rng(20_261_203);
    let mut contacts = helpline_contacts.iter();
    let mut rated = 0;
    for (org, n, low) in [
        ("supplier-samut", 7, 2u64),
        ("agency-yangon", 6, 3),
        ("supplier-songkhla", 3, 1),
    ] {
        for contact in contacts.by_ref().take(n) {
            let scores: serde_json::Map<String, Value> = Dimension::ALL
                .iter()
                .map(|d| (d.code().to_string(), json!(low + rng.below(3))))
                .collect();
            helpline.post(
                "/api/ratings",
                &json!({ "contact": contact, "org": id(dirs, org), "scores": scores }),
            )?;
            rated += 1;
        }
    }
    helpline.post("/api/ratings/publish", &json!({}))?;
    api(dirs, "supplier-samut")?.post(
        "/api/ratings/answer",
        &json!({ "text": "Since March we hire only under the Employer Pays principle and repaid the fees workers had paid. Workers can reach our hotline in Burmese and Khmer." }),
    )?;
    // A broker alert the helpline published, and one an agency proposed, waiting for review.
    helpline.post(
        "/api/portal/alerts",
        &json!({
            "origin": "MM", "destination": "TH", "language": "en", "days": 90,
            "title": "Fake factory jobs offered on Facebook",
            "body": "A page called \"Thai Factory Jobs 2026\" asks 30,000 baht for jobs in Samut Sakhon that do not exist.\n\nNo real employer asks you to pay for a job. Ask the helpline before you pay anyone.",
        }),
    )?;
    api(dirs, "agency-yangon")?.post(
        "/api/alerts/propose",
        &json!({
            "to": id(dirs, "cso-helpline"), "origin": "MM", "destination": "TH", "language": "my", "days": 60,
            "title": "မြဝတီတွင် အလုပ်အကိုင် ပွဲစားအတု",
            "body": "ထိုင်းနိုင်ငံ အလုပ်အတွက် ဘတ် ၂၀,၀၀၀ တောင်းသော ပွဲစားများ ရှိသည်။\n\nငွေမပေးမီ အကူအညီဌာနကို မေးပါ။",
        }),
    )?;
    Ok(format!(
        "3 job listings, {rated} workers' ratings (summaries published for 2 organisations), a broker alert and a proposed one"
    ))
}
