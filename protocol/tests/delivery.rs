//! `may_deliver`: who may send which workflow message to whom (PROTOCOL.md 11.9).

mod common;

use common::*;
use ilm_protocol::*;

fn cert(w: &World, role: Role) -> MembershipCertificate {
    w.m(role).body.clone()
}

fn code(r: Result<(), DeliveryError>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

fn case_state(w: &World) -> CaseState {
    let case = case_no(3);
    let root = w.event(
        Role::Cso,
        case,
        vec![],
        T0,
        escalation_to(w.m(Role::Supplier).keys.org_id()),
    );
    CaseState::open(root.verify::<CaseEvent>().expect("root").body()).expect("state")
}

#[test]
fn status_reports_come_only_from_a_cso_naming_itself_to_a_linked_brand() {
    let w = World::new();
    let (cso, supplier, brand) = (
        cert(&w, Role::Cso),
        cert(&w, Role::Supplier),
        cert(&w, Role::Brand),
    );
    let nonce = CaseNonce([3; 16]);
    let case_ref = CaseRef::derive(&cso.org_id, &nonce);
    let report = |from: &OrgId, linked| Delivery::StatusReport {
        cso: *from,
        case_ref,
        case_nonce: nonce,
        linked,
    };
    assert_eq!(
        code(may_deliver(&cso, &brand, &report(&cso.org_id, true))),
        "ok"
    );
    // A supplier forging its brand's view of a case, naming itself or the CSO.
    assert_eq!(
        code(may_deliver(
            &supplier,
            &brand,
            &report(&supplier.org_id, true)
        )),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(&supplier, &brand, &report(&cso.org_id, true))),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(&cso, &brand, &report(&supplier.org_id, true))),
        "delivery.sender_mismatch"
    );
    assert_eq!(
        code(may_deliver(&cso, &brand, &report(&cso.org_id, false))),
        "delivery.not_linked"
    );
    assert_eq!(
        code(may_deliver(&cso, &supplier, &report(&cso.org_id, true))),
        "delivery.receiver_role"
    );
    // Another CSO reporting on this CSO's case: the reference does not derive from it.
    let mut other = cso.clone();
    other.org_id = w.m(Role::Government).keys.org_id();
    assert_eq!(
        code(may_deliver(&other, &brand, &report(&other.org_id, true))),
        "delivery.not_case_owner"
    );
}

#[test]
fn disclosures_come_only_from_the_case_owner_to_a_party() {
    let w = World::new();
    let state = case_state(&w);
    let (cso, supplier, brand) = (
        cert(&w, Role::Cso),
        cert(&w, Role::Supplier),
        cert(&w, Role::Brand),
    );
    let d = |case| Delivery::ConsentedDisclosure { case };
    assert_eq!(code(may_deliver(&cso, &supplier, &d(Some(&state)))), "ok");
    // Before the case's events arrive: not yet (the sender retries).
    let early = may_deliver(&cso, &supplier, &d(None));
    assert_eq!(code(early.clone()), "delivery.case_unknown");
    assert!(early.is_err_and(|e| e.is_transient()));
    // Another CSO planting identities in this case.
    let mut other_cso = cso.clone();
    other_cso.org_id = w.m(Role::Government).keys.org_id();
    assert_eq!(
        code(may_deliver(&other_cso, &supplier, &d(Some(&state)))),
        "delivery.not_case_owner"
    );
    assert_eq!(
        code(may_deliver(&supplier, &cso, &d(Some(&state)))),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(&cso, &brand, &d(Some(&state)))),
        "delivery.not_a_participant"
    );
}

#[test]
fn attestations_and_links_travel_between_their_parties() {
    let w = World::new();
    let (cso, supplier, brand, agency) = (
        cert(&w, Role::Cso),
        cert(&w, Role::Supplier),
        cert(&w, Role::Brand),
        cert(&w, Role::Agency),
    );
    let b = bundle(&w);
    let att = b
        .attestation
        .verify::<RemediationAttestation>()
        .expect("attestation")
        .body()
        .clone();
    let draft = Delivery::AttestationDraft(&att);
    assert_eq!(code(may_deliver(&cso, &supplier, &draft)), "ok");
    assert_eq!(
        code(may_deliver(&cso, &agency, &draft)),
        "delivery.wrong_receiver"
    );
    assert_eq!(
        code(may_deliver(&supplier, &cso, &draft)),
        "delivery.sender_role"
    );
    let complete = Delivery::AttestationComplete(&att);
    assert_eq!(code(may_deliver(&supplier, &cso, &complete)), "ok");
    assert_eq!(
        code(may_deliver(&agency, &cso, &complete)),
        "delivery.sender_mismatch"
    );
    let to_brand = |linked| Delivery::AttestationBundle {
        attestation: &att,
        linked,
    };
    assert_eq!(code(may_deliver(&cso, &brand, &to_brand(true))), "ok");
    assert_eq!(
        code(may_deliver(&cso, &brand, &to_brand(false))),
        "delivery.not_linked"
    );
    assert_eq!(
        code(may_deliver(&supplier, &brand, &to_brand(true))),
        "delivery.sender_role"
    );

    let link = SupplyChainLink {
        network_id: w.network.id(),
        kind: LinkKind::BrandSupplier,
        upstream: brand.org_id,
        downstream: supplier.org_id,
        established_at: T0,
    };
    assert_eq!(
        code(may_deliver(
            &brand,
            &supplier,
            &Delivery::LinkProposal(&link)
        )),
        "ok"
    );
    assert_eq!(
        code(may_deliver(
            &agency,
            &supplier,
            &Delivery::LinkProposal(&link)
        )),
        "delivery.sender_mismatch"
    );
    let done = |u, d| Delivery::LinkComplete {
        link: &link,
        upstream: u,
        downstream: d,
        receiver_buys_from_upstream: false,
    };
    let fit = done(Some(Role::Brand), Some(Role::Supplier));
    assert_eq!(code(may_deliver(&supplier, &brand, &fit)), "ok");
    assert_eq!(code(may_deliver(&supplier, &cso, &fit)), "ok");
    assert_eq!(
        code(may_deliver(&supplier, &agency, &fit)),
        "delivery.wrong_receiver"
    );
    assert_eq!(
        code(may_deliver(
            &supplier,
            &brand,
            &done(Some(Role::Agency), Some(Role::Supplier))
        )),
        "delivery.link_roles"
    );
    // A supplier tells the brands that buy from it which agencies it recruits through; no
    // one else learns of such a link, nor from anyone but the supplier.
    let recruits = SupplyChainLink {
        kind: LinkKind::SupplierAgency,
        upstream: supplier.org_id,
        downstream: agency.org_id,
        ..link.clone()
    };
    let told = |buys| Delivery::LinkComplete {
        link: &recruits,
        upstream: Some(Role::Supplier),
        downstream: Some(Role::Agency),
        receiver_buys_from_upstream: buys,
    };
    assert_eq!(code(may_deliver(&supplier, &brand, &told(true))), "ok");
    // Answered "later": the brand's own link with the supplier may still be on its way.
    let early = may_deliver(&supplier, &brand, &told(false));
    assert_eq!(code(early.clone()), "delivery.unrelated");
    assert!(early.is_err_and(|e| e.is_transient()));
    assert_eq!(
        code(may_deliver(&agency, &brand, &told(true))),
        "delivery.wrong_receiver"
    );
    assert_eq!(code(may_deliver(&agency, &supplier, &told(false))), "ok");
    assert_eq!(code(may_deliver(&agency, &cso, &told(false))), "ok");
}

#[test]
fn improvement_plans_go_from_a_supplier_or_agency_to_the_brands_and_csos_it_deals_with() {
    let w = World::new();
    let (cso, supplier, brand, agency) = (
        cert(&w, Role::Cso),
        cert(&w, Role::Supplier),
        cert(&w, Role::Brand),
        cert(&w, Role::Agency),
    );
    let plan = |org: &MembershipCertificate, related| Delivery::ImprovementActivity {
        org: org.org_id,
        related,
    };
    for (from, to) in [(&supplier, &brand), (&supplier, &cso), (&agency, &cso)] {
        assert_eq!(code(may_deliver(from, to, &plan(from, true))), "ok");
    }
    // Not (yet) related: answered "later", since the link may be on its way.
    let unrelated = may_deliver(&supplier, &brand, &plan(&supplier, false));
    assert_eq!(code(unrelated.clone()), "delivery.unrelated");
    assert!(unrelated.err().is_some_and(|e| e.is_transient()));
    // Another organisation's plan, a brand's or a CSO's plan, a plan for a supplier.
    assert_eq!(
        code(may_deliver(&agency, &cso, &plan(&supplier, true))),
        "delivery.sender_mismatch"
    );
    assert_eq!(
        code(may_deliver(&brand, &cso, &plan(&brand, true))),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(&cso, &brand, &plan(&cso, true))),
        "delivery.sender_role"
    );
    // An agency's plan reaches the suppliers that recruit through it, and through them their
    // brands (which the agency does not know); nobody else relays it.
    assert_eq!(
        code(may_deliver(&agency, &supplier, &plan(&agency, true))),
        "ok"
    );
    assert_eq!(
        code(may_deliver(&supplier, &brand, &plan(&agency, true))),
        "ok"
    );
    assert_eq!(
        code(may_deliver(&supplier, &cso, &plan(&agency, true))),
        "delivery.sender_mismatch"
    );
    assert_eq!(
        code(may_deliver(&agency, &brand, &plan(&supplier, true))),
        "delivery.sender_mismatch"
    );
    assert_eq!(
        code(may_deliver(&supplier, &supplier, &plan(&supplier, true))),
        "delivery.receiver_role"
    );
    assert_eq!(
        code(may_deliver(&agency, &agency, &plan(&agency, true))),
        "delivery.receiver_role"
    );
}

#[test]
fn job_listings_go_from_an_agency_or_supplier_naming_itself_to_csos() {
    let w = World::new();
    let (cso, supplier, brand, agency) = (
        cert(&w, Role::Cso),
        cert(&w, Role::Supplier),
        cert(&w, Role::Brand),
        cert(&w, Role::Agency),
    );
    let listing = |by: &MembershipCertificate| Delivery::JobListing {
        publisher: by.org_id,
    };
    for from in [&supplier, &agency] {
        assert_eq!(code(may_deliver(from, &cso, &listing(from))), "ok");
    }
    // Another organisation's listing, a brand's or a CSO's, a listing for a brand.
    assert_eq!(
        code(may_deliver(&agency, &cso, &listing(&supplier))),
        "delivery.sender_mismatch"
    );
    assert_eq!(
        code(may_deliver(&brand, &cso, &listing(&brand))),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(&cso, &cso, &listing(&cso))),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(&agency, &brand, &listing(&agency))),
        "delivery.receiver_role"
    );
}

#[test]
fn ratings_come_only_from_a_cso_about_a_current_employer_or_agency() {
    let w = World::new();
    let (cso, supplier, brand, agency) = (
        cert(&w, Role::Cso),
        cert(&w, Role::Supplier),
        cert(&w, Role::Brand),
        cert(&w, Role::Agency),
    );
    let summary = |by: &MembershipCertificate, rated| Delivery::RatingSummary {
        publisher: by.org_id,
        rated,
    };
    for rated in [Role::Supplier, Role::Agency] {
        for to in [&brand, &supplier, &agency] {
            assert_eq!(
                code(may_deliver(&cso, to, &summary(&cso, Some(rated)))),
                "ok"
            );
        }
    }
    // An agency cannot submit ratings, of itself or anyone.
    assert_eq!(
        code(may_deliver(
            &agency,
            &cso,
            &summary(&agency, Some(Role::Agency))
        )),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(
            &cso,
            &brand,
            &summary(&agency, Some(Role::Agency))
        )),
        "delivery.sender_mismatch"
    );
    // A brand, a CSO or a former member is not rated.
    for rated in [Some(Role::Brand), Some(Role::Cso), None] {
        assert_eq!(
            code(may_deliver(&cso, &brand, &summary(&cso, rated))),
            "delivery.not_rated"
        );
    }
    // Answers come from the rated organisation itself.
    let answer = |org: &MembershipCertificate| Delivery::RatingAnswer { org: org.org_id };
    assert_eq!(code(may_deliver(&supplier, &cso, &answer(&supplier))), "ok");
    assert_eq!(
        code(may_deliver(&agency, &cso, &answer(&supplier))),
        "delivery.sender_mismatch"
    );
    assert_eq!(
        code(may_deliver(&cso, &brand, &answer(&cso))),
        "delivery.sender_role"
    );
}

#[test]
fn broker_alerts_come_from_the_reviewing_cso_and_proposals_from_an_agency_to_it() {
    let w = World::new();
    let (cso, supplier, brand, agency) = (
        cert(&w, Role::Cso),
        cert(&w, Role::Supplier),
        cert(&w, Role::Brand),
        cert(&w, Role::Agency),
    );
    let other_cso = {
        let mut c = cso.clone();
        c.org_id = OrgId([0x77; 32]);
        c
    };
    let alert = |by: &MembershipCertificate, proposed_by: Option<OrgId>| Delivery::BrokerAlert {
        reviewer: by.org_id,
        proposed_by,
        proposer_role: proposed_by.map(|_| Role::Agency),
    };
    assert_eq!(
        code(may_deliver(&cso, &other_cso, &alert(&cso, None))),
        "ok"
    );
    // The agency that proposed it hears it was published; other non-CSOs receive nothing.
    assert_eq!(
        code(may_deliver(
            &cso,
            &agency,
            &alert(&cso, Some(agency.org_id))
        )),
        "ok"
    );
    assert_eq!(
        code(may_deliver(&cso, &brand, &alert(&cso, Some(agency.org_id)))),
        "delivery.receiver_role"
    );
    // Only a current agency is named as proposer.
    for role in [None, Some(Role::Supplier), Some(Role::Brand)] {
        let named = Delivery::BrokerAlert {
            reviewer: cso.org_id,
            proposed_by: Some(supplier.org_id),
            proposer_role: role,
        };
        assert_eq!(
            code(may_deliver(&cso, &other_cso, &named)),
            "delivery.not_proposer"
        );
    }
    // Only the reviewing CSO publishes: not an agency, not another CSO in its name.
    assert_eq!(
        code(may_deliver(&agency, &cso, &alert(&agency, None))),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(&other_cso, &cso, &alert(&cso, None))),
        "delivery.sender_mismatch"
    );
    let proposal =
        |by: &MembershipCertificate, to: &MembershipCertificate| Delivery::AlertProposal {
            proposer: by.org_id,
            reviewer: to.org_id,
        };
    assert_eq!(
        code(may_deliver(&agency, &cso, &proposal(&agency, &cso))),
        "ok"
    );
    assert_eq!(
        code(may_deliver(&supplier, &cso, &proposal(&supplier, &cso))),
        "delivery.sender_role"
    );
    assert_eq!(
        code(may_deliver(&agency, &other_cso, &proposal(&agency, &cso))),
        "delivery.wrong_receiver"
    );
    assert_eq!(
        code(may_deliver(&agency, &brand, &proposal(&agency, &brand))),
        "delivery.receiver_role"
    );
}
