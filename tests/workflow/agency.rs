//! An agency's attestation bundle reaches only the brands of the suppliers in the case.

use super::*;

/// The attestation entries a brand's supply chain shows for `org` (verified ones).
pub(super) fn verified_attestations(brand: &Node, org: &str) -> usize {
    brand.get("/api/supply-chain")["suppliers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["supplier"] == org)
        .flat_map(|s| s["attestations"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["signature_verified"] == true)
        .count()
}

#[test]
fn an_agency_s_attestation_bundle_reaches_only_brands_of_suppliers_in_the_case() {
    let (net, cso, supplier, brand) = Net::with_cso_supplier_and_brand();
    let mut agency = net.member("agency", "agency");
    let mut other_supplier = net.member("supplier2", "supplier");
    let mut other_brand = net.member("brand2", "brand");
    for n in [&mut agency, &mut other_supplier, &mut other_brand] {
        n.start();
    }
    brand.link_supplier(&supplier);
    other_brand.link_supplier(&other_supplier);
    // Both suppliers recruit through the agency, so both brands buy from it.
    for s in [&supplier, &other_supplier] {
        s.link_to("supplier_agency", &agency);
    }
    for (b, s) in [(&brand, &supplier), (&other_brand, &other_supplier)] {
        wait_for(&format!("{} to learn of the agency", b.name), SOON, || {
            b.get("/api/links")["links"]
                .as_array()?
                .iter()
                .any(|l| {
                    l["complete"] == true
                        && l["link"]["upstream"] == s.org_id.as_str()
                        && l["link"]["downstream"] == agency.org_id.as_str()
                })
                .then_some(())
        });
    }
    // A case at the first supplier, escalated to the agency too, which remediates.
    let case = cso.escalate(&supplier, "Fees charged for the job at this site");
    cso.escalate_fees_to(&case, &agency);
    remediate(&agency, &case);
    wait_for("the CSO to see the agency's remediation", SOON, || {
        let v = cso.get(&format!("/api/cases/{case}"));
        v.to_string().contains("remediation_reported").then_some(())
    });
    cso.post(
        &format!("/api/cases/{case}/verify"),
        &json!({ "verdict": "resolved", "workers_consulted": 3, "note": "Fees repaid" }),
    );
    let digest = wait_for("the agency to get the attestation draft", SOON, || {
        agency.get("/api/attestations")["attestations"]
            .as_array()?
            .iter()
            .find(|a| a["awaiting_my_signature"] == true)
            .and_then(|a| a["digest"].as_str().map(str::to_string))
    });
    agency.post(
        &format!("/api/attestations/{case}/cosign"),
        &json!({ "draft": digest }),
    );
    // The brand of the supplier in the case gets the bundle (it holds the case's history);
    // the other brand, which buys from the agency through a supplier the case does not
    // concern, gets the agency's status reports but never the bundle.
    wait_for("the first brand to hold the verified bundle", SOON, || {
        (verified_attestations(&brand, &agency.org_id) == 1).then_some(())
    });
    wait_for("the other brand to hold the agency's report", SOON, || {
        other_brand.get("/api/supply-chain")["suppliers"]
            .as_array()?
            .iter()
            .any(|s| {
                s["supplier"] == agency.org_id.as_str()
                    && s["cases"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|r| r["case_ref"] == case.as_str()))
            })
            .then_some(())
    });
    // The CSO queued the bundles with the attestation, before the first brand got its own:
    // none is for the other brand.
    let to_other: Vec<Value> = cso.get("/api/outbox")["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["kind"] == "attestation" && e["recipient"] == other_brand.org_id.as_str())
        .collect();
    assert!(to_other.is_empty(), "{to_other:?}");
    assert_eq!(verified_attestations(&other_brand, &agency.org_id), 0);
}
