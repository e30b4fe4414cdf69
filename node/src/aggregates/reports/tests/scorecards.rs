//! A brand's scorecards from its cells equal those counted from every report it holds, its
//! attestations each read once.

use super::*;

/// A brand linked to a supplier (which recruits through an agency), holding drawn reports
/// about both from two CSOs, and attestation drafts of some of their cases.
pub(super) struct ScoredBrand {
    pub(super) _dir: tempfile::TempDir,
    pub(super) store: Store,
    pub(super) membership: MembershipState,
    pub(super) network: ilm_protocol::Network,
    pub(super) brand: OrgKeys,
    pub(super) csos: [OrgKeys; 2],
    pub(super) parties: [OrgId; 2],
    pub(super) reports: Vec<StatusReport>,
}

impl ScoredBrand {
    /// The brand's comparison narrowed by `filter` at `now`, with `recent` newest cases,
    /// read as `reading` says.
    pub(super) fn narrowed(
        &self,
        filter: &Filter,
        now: Timestamp,
        recent: usize,
        reading: crate::scorecard::Reading,
    ) -> Result<crate::scorecard::Comparison, crate::store::StoreError> {
        let narrowing = filter.parse().expect("filter");
        let me = self.brand.org_id();
        crate::scorecard::compare_reading(
            &self.store,
            &self.membership,
            &me,
            now,
            &narrowing,
            recent,
            reading,
        )
    }
}

pub(super) fn scored_brand() -> ScoredBrand {
    let k = |n: u8| OrgKeys::from_secret_bytes([n; 32], [n + 100; 32]);
    let steward = k(9);
    let network = network("Scorecards", &steward);
    let brand = k(10);
    let supplier = k(3);
    let agency = k(4);
    let csos = [k(1), k(2)];
    let signed = |keys: &OrgKeys, role| {
        SignedRecord::sign(&certificate(&network, &steward, keys, role), &steward).expect("sign")
    };
    let membership = MembershipState::new(
        network.clone(),
        signed(&brand, Role::Brand),
        vec![
            signed(&supplier, Role::Supplier),
            signed(&agency, Role::Agency),
            signed(&csos[0], Role::Cso),
            signed(&csos[1], Role::Cso),
        ],
        vec![],
    )
    .expect("membership");
    let (_dir, store) = open_store();
    store_links(
        &store,
        &network,
        &[
            (LinkKind::BrandSupplier, &brand, &supplier),
            (LinkKind::SupplierAgency, &supplier, &agency),
        ],
    );
    let parties = [supplier.org_id(), agency.org_id()];
    let cso_ids = [csos[0].org_id(), csos[1].org_id()];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut reports = Vec::new();
    // Forty cases of the supplier, ten of its agency; then fifteen of them reported again.
    for i in (0..50u8).chain(0..15) {
        let d = drawn().new_tree(&mut runner).expect("draw").current();
        let party = u8::from(i >= 40);
        let at = reports.len() as u64;
        reports.push(report_about(
            &Drawn {
                case: i,
                party,
                ..d
            },
            at,
            parties,
            cso_ids,
        ));
    }
    // Eight of the supplier's cases reported about its agency too, later: where a case
    // stands is its newest report's, which the supplier's own (older) one may not say.
    for i in 0..8u8 {
        let d = drawn().new_tree(&mut runner).expect("draw").current();
        let cso = u8::from(reports[usize::from(i)].cso == cso_ids[1]);
        let at = reports.len() as u64;
        let status = if i % 2 == 0 { 10 } else { 0 };
        reports.push(report_about(
            &Drawn {
                case: i,
                cso,
                party: 1,
                status,
                ..d
            },
            at,
            parties,
            cso_ids,
        ));
    }
    let chunks: Vec<Vec<StatusReport>> = reports.chunks(7).map(<[_]>::to_vec).collect();
    deliver(&store, &chunks);
    // Attestations (drafts, so none verifies) of some of the supplier's cases and the
    // agency's, and of a case of the supplier's the brand holds no report of.
    let mut batch = WriteBatch::new();
    let attested = |r: &StatusReport| (r.case_ref, r.cso, r.supplier);
    let mut drafted: Vec<(CaseRef, OrgId, OrgId)> =
        reports.iter().step_by(4).map(attested).collect();
    drafted.push((case_ref(200, 0), cso_ids[0], parties[0]));
    drafted.sort();
    drafted.dedup();
    for (case, cso, party) in &drafted {
        let keys = if *cso == cso_ids[0] {
            &csos[0]
        } else {
            &csos[1]
        };
        put_draft(&mut batch, &network, keys, *case, *party);
    }
    store.commit(batch).expect("commit");
    ScoredBrand {
        _dir,
        store,
        membership,
        network,
        brand,
        csos,
        parties,
        reports,
    }
}

/// A brand linked to the supplier: its comparison unnarrowed (from the cells) equals the
/// same narrowed by a filter every report passes (from a read of every report), card by
/// card, at several times; and its newest cases are the newest reports, newest first.
#[test]
fn scorecards_from_cells_equal_those_read_from_every_report() {
    let ScoredBrand {
        _dir,
        store,
        membership,
        network,
        brand,
        csos,
        parties,
        reports,
    } = scored_brand();
    let everything = Filter {
        from: "2000-01-01".into(),
        ..Filter::default()
    }
    .parse()
    .expect("filter");
    assert!(!everything.is_empty(), "the control reads every report");
    let me = brand.org_id();
    let cards = |c: &crate::scorecard::Comparison| -> Vec<String> {
        let mut out: Vec<String> = c
            .parties
            .iter()
            .map(|(_, s): &(_, Scorecard)| serde_json::to_string(s).expect("json"))
            .collect();
        out.push(serde_json::to_string(&c.overall).expect("json"));
        out
    };
    for days in [0, 3, 8, 20, 45, 70, 120] {
        let now = T0.plus_days(days).plus_secs(5_000);
        let cells =
            compare(&store, &membership, &me, now, &Default::default(), RECENT).expect("cells");
        let read = compare(&store, &membership, &me, now, &everything, RECENT).expect("read");
        assert_eq!(cards(&cells), cards(&read), "at day {days}");
        let recent = |c: &crate::scorecard::Comparison| serde_json::to_string(&c.recent);
        assert_eq!(recent(&cells).expect("json"), recent(&read).expect("json"));
        // The corridors the case list offers are those a read of every report finds.
        assert_eq!(corridors(&store).expect("corridors"), read.corridors);
        assert!(!read.corridors.is_empty());
        assert_eq!(cells.parties.len(), 2, "the supplier and its agency");
        // The attestations each one counts: those of its cases with a report (the draft of
        // a case without one is held, the control, but counted by neither).
        let attested = |c: &crate::scorecard::Comparison| -> Vec<Vec<CaseRef>> {
            c.parties
                .iter()
                .map(|(p, _)| p.attestations.iter().map(|a| a.case_ref).collect())
                .collect()
        };
        assert_eq!(attested(&cells), attested(&read), "at day {days}");
        let held = crate::views::chain_parties(&store, &membership, &me).expect("parties");
        assert!(
            held[0]
                .attestations
                .iter()
                .any(|a| a.case_ref == case_ref(200, 0))
        );
        assert!(!attested(&cells)[0].contains(&case_ref(200, 0)));
        assert!(
            attested(&cells).iter().all(|a| !a.is_empty()),
            "each has some"
        );
        let json = |r: &Vec<Vec<StatusReport>>| serde_json::to_string(r).expect("json");
        assert_eq!(
            json(&cells.recent),
            json(&read.recent),
            "the newest cases at day {days}"
        );
    }
    let held = all_reports(&store);
    // Each scorecard's open count is what its link lists (closed cases hidden), unfiltered
    // (cells and the case lists) and under a filter (every report read); as the case's
    // newest report says, not the organisation's own, which would count otherwise here.
    let label = |c: IssueCategory| c.code().to_string();
    let now = T0.plus_days(8);
    let mut own_differs = false;
    for (narrowing, from) in [(Default::default(), ""), (everything.clone(), "2000-01-01")] {
        let c = compare(&store, &membership, &me, now, &narrowing, RECENT).expect("compare");
        for (n, party) in parties.iter().enumerate() {
            let query = crate::worklist::CaseQuery {
                party: party.to_string(),
                from: from.into(),
                per_page: 1_000,
                ..Default::default()
            };
            let listed =
                crate::worklist::list(&store, &membership, &me, now, &query, &label).expect("list");
            assert_eq!(c.parties[n].1.open, listed.total as u64, "{party} {from:?}");
            let own = held
                .iter()
                .filter(|r| r.supplier == *party && r.status != CaseStatus::Closed)
                .count() as u64;
            own_differs |= own != c.parties[n].1.open;
        }
    }
    assert!(
        own_differs,
        "the control: an organisation's own reports count otherwise"
    );
    let supplier_cases = held.iter().filter(|r| r.supplier == parties[0]).count();
    let cells = compare(&store, &membership, &me, T0, &Default::default(), RECENT).expect("cells");
    assert_eq!(cells.parties[0].1.cases, supplier_cases as u64);
    assert!(supplier_cases > RECENT, "more than a page");
    assert_eq!(cells.recent[0].len(), RECENT);

    // The attestations are read once while neither they nor the membership change: another
    // view, or a write to another table, reads none; a new one is read (and shown) at once.
    let attested = |store: &Store| -> usize {
        crate::views::chain_parties(store, &membership, &me)
            .expect("parties")
            .iter()
            .map(|p| p.attestations.len())
            .sum()
    };
    let shown = attested(&store);
    let built = membership.derivations_made();
    assert_eq!(attested(&store), shown);
    let mut again = reports[0].clone();
    again.reported_at = Timestamp(T0.0 + 999);
    deliver(&store, &[vec![again]]);
    assert_eq!(attested(&store), shown);
    assert_eq!(membership.derivations_made(), built, "nothing read again");
    let mut batch = WriteBatch::new();
    put_draft(&mut batch, &network, &csos[0], case_ref(201, 0), parties[0]);
    store.commit(batch).expect("commit");
    assert_eq!(attested(&store), shown + 1, "the new one is shown at once");
    assert_eq!(membership.derivations_made(), built + 1);
}
