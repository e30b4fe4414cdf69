//! What a test asks of a running node through its API, as an operator would: meet other
//! nodes, escalate, link, add operators, and read cases, outboxes and peers.

use super::*;

impl Node {
    /// Waits until this node knows `other`'s certificate (from a hello, gossip or the
    /// steward's directory): only then can it encrypt to it.
    pub fn wait_to_know(&self, other: &Node) {
        wait_for(
            &format!("{} to know {}", self.name, other.name),
            SOON,
            || {
                let v = self.get("/api/members");
                v["members"]
                    .as_array()?
                    .iter()
                    .any(|m| m["org_id"] == other.org_id.as_str())
                    .then_some(())
            },
        );
    }

    /// Opens a case by escalating to `to`; returns the case reference.
    pub fn escalate(&self, to: &Node, description: &str) -> String {
        self.wait_to_know(to);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let v = self.post(
            "/api/cases",
            &json!({ "escalation": {
                "to": to.org_id,
                "categories": ["withholding_of_wages"],
                "workers_affected": 3,
                "site": "Site A",
                "requested_remedy": "Pay wages",
                "description": description,
                "recruitment_fees": null,
                "acknowledge_by": now + 7 * 86400,
                "remediate_by": now + 30 * 86400,
            }}),
        );
        v["case_ref"].as_str().expect("case_ref").to_string()
    }

    /// Escalates a case this CSO opened to one more party, `to`, for recruitment fees.
    pub fn escalate_fees_to(&self, case: &str, to: &Node) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        self.append_event(
            case,
            json!({
                "type": "escalation", "to": to.org_id, "categories": ["recruitment_fees"],
                "workers_affected": 3, "site": "Site A", "requested_remedy": "Repay the fees",
                "description": "Fees charged", "recruitment_fees": null,
                "acknowledge_by": now + 7 * 86400, "remediate_by": now + 30 * 86400,
            }),
        );
    }

    /// At a CSO: a worker's contact, a case for `supplier` with the worker's consent to tell
    /// it who they are, escalated; the supplier receives the escalation and a consented
    /// disclosure (a workflow message). Returns the case reference.
    pub fn consented_case(&self, supplier: &Node, name: &str) -> String {
        let contact = self.post("/api/contacts", &contact_body(name, "+66-81-555-0100"))["id"]
            .as_str()
            .expect("contact id")
            .to_string();
        let case = self.post(
            "/api/local-cases",
            &json!({
                "contacts": [contact], "workers": 4, "site": "Mahachai pier",
                "issues": [{ "category": "withholding_of_wages" }],
                "supplier": supplier.org_id,
            }),
        )["case_ref"]
            .as_str()
            .expect("case_ref")
            .to_string();
        self.post(
            &format!("/api/cases/{case}/consent"),
            &json!({ "recipient": supplier.org_id, "contacts": [contact] }),
        );
        self.wait_to_know(supplier);
        self.post(
            &format!("/api/cases/{case}/escalate"),
            &json!({ "to": supplier.org_id, "requested_remedy": "Pay wages", "description": "Wages withheld" }),
        );
        case
    }

    /// Appends an event authored by this node to a case, through the API.
    pub fn append_event(&self, case: &str, event: Value) {
        self.post(
            &format!("/api/cases/{case}/events"),
            &json!({ "event": event }),
        );
    }

    /// This brand proposes a link to `supplier`, which accepts; waits until it is complete.
    pub fn link_supplier(&self, supplier: &Node) {
        self.link_to("brand_supplier", supplier);
    }

    /// This node proposes a link of `kind` to `supplier` (the downstream side), which
    /// accepts; waits until this node holds it complete.
    pub fn link_to(&self, kind: &str, supplier: &Node) {
        self.wait_to_know(supplier);
        let id = self.post(
            "/api/links",
            &json!({ "kind": kind, "counterparty": supplier.org_id }),
        )["id"]
            .as_str()
            .expect("link id")
            .to_string();
        wait_for("the supplier to receive the link proposal", SOON, || {
            supplier.get("/api/links")["links"]
                .as_array()?
                .iter()
                .any(|l| l["id"] == id.as_str())
                .then_some(())
        });
        supplier.post(&format!("/api/links/{id}/accept"), &json!(null));
        wait_for("the brand to hold the complete link", SOON, || {
            self.get("/api/links")["links"]
                .as_array()?
                .iter()
                .any(|l| l["id"] == id.as_str() && l["complete"] == true)
                .then_some(())
        });
    }

    /// `ilm operator add NAME --role ROLE --password-stdin`, the password on stdin.
    pub fn add_operator(&self, name: &str, role: &str, password: &str) {
        use std::io::Write;
        let mut child = Command::new(ilm_bin())
            .arg("--data-dir")
            .arg(&self.dir)
            .args(["operator", "add", name, "--role", role, "--password-stdin"])
            .env_remove("ILM_DATA_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ilm operator add");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(password.as_bytes())
            .expect("write password");
        let out = child.wait_with_output().expect("wait for ilm operator add");
        assert!(
            out.status.success(),
            "ilm operator add {name} on {} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Case references this node holds a history of (not a brand's supply-chain cases,
    /// known only from status reports).
    pub fn cases(&self) -> Vec<String> {
        self.get("/api/cases?closed=true&per_page=10000")["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| c["source"] != "report")
            .map(|c| c["case_ref"].as_str().expect("ref").to_string())
            .collect()
    }

    /// A case's status as this node sees it ("" while it does not hold the case).
    pub fn case_status(&self, case: &str) -> String {
        self.try_get(&format!("/api/cases/{case}"))
            .ok()
            .and_then(|v| v["status"].as_str().map(String::from))
            .unwrap_or_default()
    }

    /// Event hashes of a case, in the node's causal order.
    pub fn event_hashes(&self, case: &str) -> Vec<String> {
        match self.try_get(&format!("/api/cases/{case}")) {
            Ok(v) => v["events"]
                .as_array()
                .expect("events")
                .iter()
                .map(|e| e["hash"].as_str().expect("hash").to_string())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn outbox_counts(&self) -> (u64, u64, u64) {
        let v = self.get("/api/status");
        let o = &v["outbox"];
        (
            o["pending"].as_u64().unwrap_or(0),
            o["delivered"].as_u64().unwrap_or(0),
            o["rejected"].as_u64().unwrap_or(0),
        )
    }

    /// Org ids of the admitted peers.
    pub fn peer_orgs(&self) -> Vec<String> {
        self.get("/api/peers")["peers"]
            .as_array()
            .expect("peers")
            .iter()
            .map(|p| p["org_id"].as_str().expect("org").to_string())
            .collect()
    }
}
