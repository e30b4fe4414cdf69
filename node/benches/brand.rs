//! A brand's supply-chain view over many verified attestations, each with its real bundle
//! (generated cases; each attestation drafted from the case's state, signed by the CSO and
//! co-signed by the supplier, bundled as the CSO bundles it for brands). Every brand page
//! (dashboard, supply chain, scorecards) builds this view.
//!
//! Measured in one run, in process, on the same store:
//! - the view with every bundle checked again (a fresh membership state each time: what
//!   every page did before attestation checks were remembered), the baseline;
//! - the first view of a running node (checks every bundle once);
//! - later views (reuse the checks until the membership changes);
//! - the bundle checks alone (`AttestationBundle::verify_with_revocations`).
//!
//! - the case list searched and filtered, from the brand's case lists against every report's
//!   row (each query checked to agree first): run after run ("warm", as a node serving the
//!   page finds its cache), and right after a read of every report, which pushes the lists
//!   out of the engine's cache;
//! - the scorecards from cells, those of 30 days from each organisation's list of its
//!   reports and from its cells of those days, and those of 365 days from its cells (of
//!   the whole months among them, and of the days at either end), and those of one
//!   category and of one sector from its cells of it, those of some days and one category
//!   or sector from its cells of it of those days, those of one sector and one corridor
//!   (and of a category too) from its cells of them together, and again from the entries
//!   of the shorter of its two lists the other holds too, and those of 365 days, a sector
//!   and a corridor from its lists (`brand_parts/narrowed.rs`), each against every report
//!   read (checked to agree first);
//! - the time the brand's store takes to store the reports, with their cells and lists,
//!   and to recount those cells from the reports, with the memory the recount holds
//!   (`brand_parts/recounted.rs`);
//! - the pages opened most, on the store as the deliveries left it and again after it was
//!   compacted (`ilm db compact`), with its size on disk before and after.
//!
//! Run: `cargo bench -p ilm-node --bench brand` (release); without `--bench` a small smoke
//! version. Knobs: ILM_BENCH_CASES (cases generated, 20000; smoke 400); about a quarter of
//! them reach a verdict that confirms a remediation; ILM_BENCH_BUNDLES=0 leaves the
//! attestations out (a larger run of the lists alone); ILM_BENCH_STAGED=N stores the reports
//! of the first N cases as deliveries store them (timed) and writes the others' as records
//! alone, then rebuilds the brand's lists and cells from every report as `ilm reindex` does
//! (timed, with the memory its recount holds): a million cases in a session;
//! ILM_BENCH_PROFILE (part of a scorecard row's name) runs the first such row's reading
//! again and again for ILM_BENCH_PROFILE_SECS (60) seconds after its timing, for a
//! profiler. Nothing asserts on time.

mod common;
#[path = "brand_parts/compacted.rs"]
mod compacted;
#[path = "brand_parts/narrowed.rs"]
mod narrowed;
#[path = "brand_parts/recounted.rs"]
mod recounted;
#[path = "brand_parts/searched.rs"]
mod searched;
#[path = "brand_parts/timing.rs"]
mod timing;

use anyhow::{Context, Result};
use common::backdated_world;
use ilm_node::core::{StoredAttestation, StoredLink, status_report};
use ilm_node::demo::generate::{self, Cast};
use ilm_node::membership::{MembershipState, now};
use ilm_node::{cases, schema, scorecard, views, worklist};
use ilm_protocol::{
    EventHash, LinkKind, OrgKeys, RemediationAttestation, SignedRecord, SupplyChainLink, Timestamp,
};
use std::time::{Duration, Instant};
use timing::{Paired, paired, quantiles, timed};

const DAY: u64 = 86_400;

fn main() -> Result<()> {
    let measuring = std::env::args().any(|a| a == "--bench");
    let cases: u64 = match std::env::var("ILM_BENCH_CASES") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("ILM_BENCH_CASES={v:?}"))?,
        Err(_) if measuring => 20_000,
        Err(_) => 400,
    };
    // Fewer runs of a large store: each read of every report takes seconds.
    let runs = match (measuring, cases) {
        (false, _) => 2,
        (true, 0..200_000) => 10,
        (true, _) => 5,
    };
    let bundling = std::env::var("ILM_BENCH_BUNDLES").map_or(true, |v| v != "0");
    let staged = recounted::staged_cases()?;
    let tmp = tempfile::tempdir()?;
    let w = backdated_world(tmp.path(), 4, 400)?;
    let network_id = w.network.id();
    let membership = |own: &SignedRecord| -> Result<MembershipState> {
        let others = w.records.iter().filter(|r| *r != own).cloned().collect();
        Ok(MembershipState::new(
            w.network.clone(),
            own.clone(),
            others,
            vec![],
        )?)
    };
    let (cso_rec, brand_rec) = (&w.records[0], &w.records[w.records.len() - 1]);

    // The CSO's cases, generated with real signed events.
    let cso_store = schema::open(&w.cso.0.db_path())?;
    let parties: Vec<&OrgKeys> = w.parties.iter().map(|p| &p.1).collect();
    let mut certificates = vec![w.cso.2.clone()];
    certificates.extend(w.parties.iter().map(|p| p.2.clone()));
    let until = now();
    let cast = Cast {
        network_id,
        cso: &w.cso.1,
        parties: &parties,
        certificates: &certificates,
        from: Timestamp(until.0 - 380 * DAY),
        until,
    };
    generate::generate(&cso_store, &cast, cases, 11, &mut |_| {})?;

    // The brand: linked to every supplier, holding each case's status reports and the
    // bundle of every attestation (what the CSO sends a brand of the case's supplier).
    let brand_store = schema::open(&w.brand.0.db_path())?;
    let brand = w.brand.1.org_id();
    let mut batch = ilm_node::store::WriteBatch::new();
    for (_, keys, _) in &w.parties {
        let mut rec = SignedRecord::sign(
            &SupplyChainLink {
                network_id,
                kind: LinkKind::BrandSupplier,
                upstream: brand,
                downstream: keys.org_id(),
                established_at: cast.from,
            },
            &w.brand.1,
        )?;
        rec.cosign(keys);
        let link = StoredLink {
            id: rec.digest(),
            record: rec,
            complete: true,
        };
        batch.put(&schema::LINKS, link.id.as_bytes(), &link)?;
    }
    let cso_membership = membership(cso_rec)?;
    let party_keys = |org| w.parties.iter().map(|p| &p.1).find(|k| k.org_id() == org);
    let mut bundles = Vec::new();
    // The reports of the first `staged` cases are stored as the brand's core stores them,
    // with their cells and list entries; the others' as records alone (`raw`).
    let mut pending = ilm_node::aggregates::Pending::new();
    // The time the brand's store spends taking the staged reports (staged and committed),
    // and writing the others, apart from generating the cases and drafting attestations
    // (their bundles, when bundled, are committed in the same batches: leave them out to
    // time the reports alone).
    let (mut storing, mut loading) = (Duration::ZERO, Duration::ZERO);
    let (mut staged_reports, mut raw) = (0usize, 0usize);
    for (n, state) in cases::states(&cso_store)?.into_iter().enumerate() {
        // Batches of the size a delivery commits (a report's staging reads the batch); the
        // staged cases' last one committed on its own, so that no batch holds both kinds.
        if n % 256 == 255 || (n == staged && n > 0) {
            let started = Instant::now();
            std::mem::take(&mut pending).stage(&brand_store, &mut batch)?;
            brand_store.commit(std::mem::take(&mut batch))?;
            *(if n <= staged {
                &mut storing
            } else {
                &mut loading
            }) += started.elapsed();
        }
        // The profile a CSO gives its reports: a sector and a corridor per case.
        let sector = ilm_node::intake::SECTORS[n % ilm_node::intake::SECTORS.len()];
        let origin = ["MM", "KH", "LA"][n % 3].parse()?;
        let profile = Some((sector.to_string(), origin, "TH".parse()?));
        let started = Instant::now();
        for p in &state.parties {
            let Some(r) = status_report(&state, state.owner, p.party, until, profile.clone())
            else {
                continue;
            };
            if n < staged {
                ilm_node::aggregates::reports::stage(&brand_store, &mut batch, &mut pending, &r)?;
                staged_reports += 1;
            } else {
                let id = schema::report_id(&r.case_ref, &r.cso, &r.supplier);
                batch.put(&schema::STATUS_REPORTS, &id, &r)?;
                raw += 1;
            }
        }
        *(if n < staged {
            &mut storing
        } else {
            &mut loading
        }) += started.elapsed();
        if !bundling {
            continue;
        }
        let Some(history) = cases::load_history(&cso_store, &cso_membership, &state.case_ref)?
        else {
            continue;
        };
        let events: Vec<EventHash> = history.ordered().iter().map(|e| e.digest()).collect();
        let Ok(body) = RemediationAttestation::draft(&state, events, network_id, until) else {
            continue;
        };
        let keys = party_keys(body.remediating_party).context("the remediating party")?;
        let mut rec = SignedRecord::sign(&body, &w.cso.1)?;
        rec.cosign(keys);
        let bundle = cases::bundle(&history, &rec, &cso_membership)
            .map_err(|e| anyhow::anyhow!("bundle: {e}"))?;
        bundles.push(bundle.clone());
        let stored = StoredAttestation {
            case_ref: state.case_ref,
            record: rec,
            complete: true,
            stored_at: until,
            bundle: Some(bundle),
        };
        batch.put(&schema::ATTESTATIONS, state.case_ref.as_bytes(), &stored)?;
    }
    let started = Instant::now();
    pending.stage(&brand_store, &mut batch)?;
    brand_store.commit(batch)?;
    // Once some case was written raw, the last batch holds only those.
    *(if raw > 0 { &mut loading } else { &mut storing }) += started.elapsed();
    let reports = brand_store.count_prefixed(&schema::STATUS_REPORTS, &[])?;
    println!(
        "{cases} cases generated; the brand holds {reports} status reports and {} attestations with bundles",
        bundles.len()
    );
    recounted::stored(
        &brand_store,
        recounted::Stored {
            staged_reports,
            raw,
            storing,
            loading,
        },
    )?;

    // The supply-chain view holds the first page of each organisation's reports.
    let page = views::ReportsPage::default();
    // What the view read before it was paged: every report, grouped by the organisation it
    // is about (the dashboard's baseline below reads it as it did).
    let every_report = |m: &MembershipState| -> Result<usize> {
        let parties = views::chain_parties(&brand_store, m, &brand)?;
        let mut of: std::collections::HashMap<
            ilm_protocol::OrgId,
            Vec<ilm_node::core::StatusReport>,
        > = std::collections::HashMap::new();
        brand_store.for_each(
            &schema::STATUS_REPORTS,
            &[],
            |r: ilm_node::core::StatusReport| {
                of.entry(r.supplier).or_default().push(r);
            },
        )?;
        Ok(parties.len() + of.len())
    };
    // The view as every page built it before: each bundle checked again.
    let verified = |v: &[views::SupplierView]| -> usize {
        v.iter()
            .flat_map(|s| &s.party.attestations)
            .filter(|a| a.signature_verified)
            .count()
    };
    let mut again = Vec::new();
    for _ in 0..runs {
        let m = membership(brand_rec)?;
        let started = Instant::now();
        let view = views::supply_chain(&brand_store, &m, &brand, None, page)?;
        again.push(started.elapsed());
        anyhow::ensure!(verified(&view) == bundles.len(), "a bundle did not verify");
    }
    // A running node: the first view checks every bundle, later ones reuse the checks.
    let m = membership(brand_rec)?;
    let started = Instant::now();
    let view = views::supply_chain(&brand_store, &m, &brand, None, page)?;
    let first = started.elapsed();
    anyhow::ensure!(verified(&view) == bundles.len(), "a bundle did not verify");
    let mut later = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let view = views::supply_chain(&brand_store, &m, &brand, None, page)?;
        later.push(started.elapsed());
        anyhow::ensure!(
            verified(&view) == bundles.len(),
            "a remembered check was lost"
        );
    }
    anyhow::ensure!(
        m.attestation_checks_made() == bundles.len() as u64,
        "later views checked bundles again"
    );
    let mut every_read = Vec::new();
    for _ in 0..runs {
        timed(&mut every_read, || every_report(&m).map(|_| ()))?;
    }
    // The case list's first page, from the case lists (only its rows built), against the
    // same page from every report's row, after checking they agree; the dashboard's figures
    // (from the cells, and every attestation read), against what it read before: every
    // report's row and the whole supply-chain view.
    let label = searched::label;
    let query = worklist::CaseQuery::default();
    // A scorecard's drill-down: every case of one supplier, closed too.
    let drill = worklist::CaseQuery {
        party: w.parties[0].1.org_id().to_string(),
        closed: true,
        ..Default::default()
    };
    let rows_json = |p: &worklist::CasePage| -> Result<String> {
        Ok(serde_json::to_string(&(&p.rows, p.total))?)
    };
    for q in [&query, &drill] {
        let listed = worklist::list(&brand_store, &m, &brand, until, q, &label)?;
        let all_rows = worklist::rows(&brand_store, &m, &brand, until)?;
        let read = worklist::select(all_rows, q, &label)?;
        anyhow::ensure!(!listed.rows.is_empty(), "the brand lists its cases");
        anyhow::ensure!(
            rows_json(&listed)? == rows_json(&read)?,
            "the case list's first page differs from the one read from every report"
        );
    }
    let on = compacted::Brand {
        membership: &m,
        me: &brand,
        until,
        runs,
    };
    let listed_against_read =
        |q: &worklist::CaseQuery| searched::listed_against_read(&brand_store, &on, q);
    let list = listed_against_read(&query)?;
    let drilled = listed_against_read(&drill)?;
    let dashboard = paired(
        runs,
        || {
            let c = scorecard::compare(&brand_store, &m, &brand, until, &Default::default(), 0)?;
            ilm_node::ui::figures::brand(&brand_store, &m, &brand, until, &c)?;
            Ok(())
        },
        || {
            worklist::rows(&brand_store, &m, &brand, until)?;
            every_report(&m)?;
            Ok(())
        },
    )?;
    // Searched and filtered lists, each checked against every report's row.
    let mut filtered_times = searched::lists(
        &brand_store,
        &on,
        &w.parties[0].1.org_id(),
        &w.parties[0].2.name,
    )?;

    // `/api/overdue` (its first 500 cases, how many in all and per party), from the cells and
    // lists, against every report read as it was before them, after checking they agree.
    let overdue_read = || -> Result<(u64, usize, Vec<ilm_protocol::CaseRef>)> {
        let mut first: std::collections::BTreeMap<ilm_protocol::CaseRef, Timestamp> =
            Default::default();
        let mut per_party: std::collections::BTreeMap<ilm_protocol::OrgId, u64> =
            Default::default();
        // A case's reports at a time (stored by case first): a closed case owes nothing.
        let mut group: Vec<ilm_node::core::StatusReport> = Vec::new();
        let mut count = |group: &[ilm_node::core::StatusReport]| {
            for (r, late) in ilm_node::aggregates::chain::overdue_in(group, until) {
                if let Some(due) = late.iter().map(|(_, d)| *d).min() {
                    *per_party.entry(r.supplier).or_default() += 1;
                    let at = first.entry(r.case_ref).or_insert(due);
                    *at = (*at).min(due);
                }
            }
        };
        brand_store.for_each(
            &schema::STATUS_REPORTS,
            &[],
            |r: ilm_node::core::StatusReport| {
                if group.first().is_some_and(|g| g.case_ref != r.case_ref) {
                    count(&group);
                    group.clear();
                }
                group.push(r);
            },
        )?;
        count(&group);
        let mut listed: Vec<_> = first.iter().map(|(c, d)| (*d, *c)).collect();
        listed.sort();
        listed.truncate(500);
        let cases = first.len() as u64;
        Ok((
            cases,
            per_party.len(),
            listed.into_iter().map(|(_, c)| c).collect(),
        ))
    };
    let overdue_lists = || -> Result<(u64, usize, Vec<ilm_protocol::CaseRef>)> {
        let r = ilm_node::api::overdue::from_reports(&brand_store, until, 500)?;
        Ok((
            r.cases,
            r.per_party.len(),
            r.listed.iter().map(|l| l.1).collect(),
        ))
    };
    anyhow::ensure!(
        overdue_lists()? == overdue_read()? && overdue_read()?.0 > 0,
        "/api/overdue from the lists differs from every report read"
    );
    let overdue_times = paired(
        runs,
        || overdue_lists().map(|_| ()),
        || overdue_read().map(|_| ()),
    )?;
    let overdue_cases = overdue_read()?.0;

    // The scorecards (and the Supply chain page's comparison) read from each organisation's
    // cells, against the same read from every report (a filter every report passes), after
    // checking they agree; and what is left of them, the attestations read.
    let everything = scorecard::Filter {
        from: "2000-01-01".into(),
        ..Default::default()
    }
    .parse()
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let json = narrowed::json;
    let from_cells = || {
        scorecard::compare(
            &brand_store,
            &m,
            &brand,
            until,
            &Default::default(),
            scorecard::RECENT,
        )
    };
    let read = || {
        scorecard::compare_reading(
            &brand_store,
            &m,
            &brand,
            until,
            &everything,
            scorecard::RECENT,
            scorecard::Reading::Every,
        )
    };
    anyhow::ensure!(
        json(&from_cells()?)? == json(&read()?)?,
        "the scorecards from cells differ from those read from every report"
    );
    let cells = paired(
        runs,
        || from_cells().map(|_| ()).map_err(Into::into),
        || read().map(|_| ()).map_err(Into::into),
    )?;
    let mut parties = Vec::new();
    for _ in 0..runs {
        timed(&mut parties, || {
            views::chain_parties(&brand_store, &m, &brand)?;
            Ok(())
        })?;
    }

    // Each narrowing's scorecards, from cells or lists, checked against every report read.
    let narrowed_times = narrowed::scorecards(&brand_store, &on)?;

    // The bundle checks alone.
    let revocations = m.revocations();
    let started = Instant::now();
    for b in &bundles {
        b.verify_with_revocations(&revocations)
            .map_err(|e| anyhow::anyhow!("bundle: {e}"))?;
    }
    let checks = started.elapsed();

    let (again50, again99) = quantiles(again);
    let (later50, later99) = quantiles(later.clone());
    println!("| step | p50 | p99 | every bundle checked again / this (p50) |");
    println!("|---|---:|---:|---:|");
    println!(
        "| supply-chain view, every bundle checked again (baseline) | {again50:.1} ms | {again99:.1} ms | 1x |"
    );
    println!(
        "| first view of a running node | {:.1} ms | | {:.1}x |",
        first.as_secs_f64() * 1e3,
        again50 / (first.as_secs_f64() * 1e3)
    );
    println!(
        "| later views | {later50:.1} ms | {later99:.1} ms | {:.0}x |",
        again50 / later50
    );
    let (every50, every99) = quantiles(every_read);
    println!(
        "| every report read and grouped by organisation (the view before it was paged) | {every50:.1} ms | {every99:.1} ms | |"
    );
    println!(
        "| supply-chain view, a page of each one's reports (`/api/supply-chain`), later views | {later50:.2} ms | {later99:.2} ms | {:.1}x against the row above |",
        every50 / later50
    );
    println!();
    println!(
        "| page | warm p50 | p99 | after a read of every report p50 | every report read p50 | read / warm |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |what: &str, p: Paired| {
        let ((w50, w99), (c50, _), (s50, _)) =
            (quantiles(p.warm), quantiles(p.cold), quantiles(p.slow));
        println!(
            "| {what} | {w50:.2} ms | {w99:.2} ms | {c50:.2} ms | {s50:.1} ms | {:.0}x |",
            s50 / w50
        );
    };
    row("case list, first page", list);
    row("one supplier's cases (a scorecard's drill-down)", drilled);
    row(
        "dashboard figures (cells; read: every report's row, the whole view)",
        dashboard,
    );
    row("scorecards and newest cases (cells)", cells);
    let (parties50, parties99) = quantiles(parties);
    println!(
        "| of which the attestations (read once, then remembered) | {parties50:.2} ms | {parties99:.2} ms | |"
    );
    println!(
        "| the bundle checks alone | {:.1} ms ({:.0} µs a bundle) | | |",
        checks.as_secs_f64() * 1e3,
        checks.as_secs_f64() * 1e6 / bundles.len().max(1) as f64
    );
    println!();
    println!(
        "| query | cases found | warm p50 | p99 | after a read of every report p50 | every report read p50 | read / warm |"
    );
    filtered_times.push((
        "`/api/overdue`: the 500 most overdue, counted in all and per party",
        overdue_cases.to_string(),
        overdue_times,
    ));
    filtered_times.extend(narrowed_times);
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (what, total, p) in filtered_times {
        let ((w50, w99), (c50, _), (s50, _)) =
            (quantiles(p.warm), quantiles(p.cold), quantiles(p.slow));
        println!(
            "| {what} | {total} | {w50:.2} ms | {w99:.2} ms | {c50:.2} ms | {s50:.1} ms | {:.0}x |",
            s50 / w50
        );
    }

    // The pages opened most, as the deliveries left the store and once it is compacted.
    let before = compacted::pages(&brand_store, &on)?;
    let path = w.brand.0.db_path();
    drop(brand_store);
    let done = ilm_node::store::compact(&path)?;
    let brand_store = schema::open(&path)?;
    let after = compacted::pages(&brand_store, &on)?;
    println!();
    println!(
        "The brand's store: {:.0} MB on disk as written, {:.0} MB compacted ({} keys).",
        done.bytes_before as f64 / 1e6,
        done.bytes_after as f64 / 1e6,
        done.keys
    );
    println!("| page | as written p50 | p99 | compacted p50 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    for ((what, b), (_, a)) in before.into_iter().zip(after) {
        let ((b50, b99), (a50, a99)) = (quantiles(b), quantiles(a));
        println!("| {what} | {b50:.2} ms | {b99:.2} ms | {a50:.2} ms | {a99:.2} ms |");
    }
    Ok(())
}
