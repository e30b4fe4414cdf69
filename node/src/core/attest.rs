//! Remediation attestations: the CSO drafts one from the case state, the remediating party
//! co-signs only what its own history shows.

use super::*;
use crate::schema;
use ilm_protocol::RemediationAttestation;

impl Core {
    /// Stores an attestation (draft or complete) and sends it to `to`, in one flush.
    pub(super) async fn store_and_send_attestation(
        &mut self,
        case: CaseRef,
        rec: &SignedRecord,
        complete: bool,
        to: OrgId,
    ) -> Result<(), CoreError> {
        let mut batch = WriteBatch::new();
        let entries = self.stage_attestation(&mut batch, case, rec, complete, to)?;
        self.commit_queued(batch, entries).await
    }

    /// Adds an attestation (draft or complete) and its message to `to` to `batch`.
    pub(super) fn stage_attestation(
        &mut self,
        batch: &mut WriteBatch,
        case: CaseRef,
        rec: &SignedRecord,
        complete: bool,
        to: OrgId,
    ) -> Result<Vec<OutboxEntry>, CoreError> {
        let stored = StoredAttestation {
            case_ref: case,
            record: rec.clone(),
            complete,
            stored_at: now(),
            bundle: None,
        };
        let payload = serde_json::to_vec(rec).map_err(CoreError::refused)?;
        let (_, entries) = self.queue_message(
            batch,
            MessageKind::Attestation,
            &[to],
            &payload,
            Some(case),
            now(),
        )?;
        batch.put(&schema::ATTESTATIONS, case.as_bytes(), &stored)?;
        Ok(entries)
    }

    /// Drafts, signs, stores and sends the attestation of a case (one flush).
    pub(super) async fn draft_attestation(
        &mut self,
        case: CaseRef,
    ) -> Result<SignedRecord, CoreError> {
        let mut batch = WriteBatch::new();
        let (rec, entries) = self.prepare_attestation(&mut batch, case)?;
        self.commit_queued(batch, entries).await?;
        Ok(rec)
    }

    /// The CSO's draft of a case's attestation, from the case's state, staged in `batch`
    /// with its message to the remediating party.
    pub(super) fn prepare_attestation(
        &mut self,
        batch: &mut WriteBatch,
        case: CaseRef,
    ) -> Result<(SignedRecord, Vec<OutboxEntry>), CoreError> {
        let me = self.me;
        let history = self.history(&case)?.ok_or(CoreError::UnknownCase(case))?;
        let events: Vec<EventHash> = history.ordered().iter().map(|e| e.digest()).collect();
        let state = history
            .state()
            .cloned()
            .ok_or(CoreError::UnknownCase(case))?;
        if state.owner != me {
            return Err(CoreError::refused(
                "only the CSO that owns the case drafts its attestation",
            ));
        }
        let body =
            RemediationAttestation::draft(&state, events, self.membership.network_id(), now())
                .map_err(CoreError::refused)?;
        body.check_well_formed().map_err(CoreError::refused)?;
        body.check_against(&state).map_err(CoreError::refused)?;
        let rec = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        rec.verify_partial_with::<RemediationAttestation>(&self.membership.key_book())
            .map_err(CoreError::refused)?;
        let entries = self.stage_attestation(batch, case, &rec, false, body.remediating_party)?;
        Ok((rec, entries))
    }

    pub(super) async fn cosign_attestation(
        &mut self,
        case: CaseRef,
    ) -> Result<SignedRecord, CoreError> {
        let stored: StoredAttestation = self
            .store
            .get(&schema::ATTESTATIONS, case.as_bytes())?
            .ok_or_else(|| CoreError::refused("no attestation draft for this case"))?;
        if stored.complete {
            return Ok(stored.record);
        }
        let body = stored
            .record
            .verify_partial_with::<RemediationAttestation>(&self.membership.key_book())
            .map_err(CoreError::refused)?;
        if body.remediating_party != self.me {
            return Err(CoreError::refused(
                "this node is not the remediating party of the attestation",
            ));
        }
        // Co-sign only what matches our own copy of the history.
        let history = self.history(&case)?.ok_or(CoreError::UnknownCase(case))?;
        let ours: BTreeSet<EventHash> = history.ordered().iter().map(|e| e.digest()).collect();
        let theirs: BTreeSet<EventHash> = body.events.iter().copied().collect();
        if ours != theirs {
            return Err(CoreError::refused(
                "the attestation covers other events than this node holds for the case; wait for sync",
            ));
        }
        // ...and only figures that the history shows.
        body.check_well_formed().map_err(CoreError::refused)?;
        if let Some(state) = history.state() {
            body.check_against(state).map_err(CoreError::refused)?;
        }
        let mut rec = stored.record.clone();
        rec.cosign(&self.keys);
        rec.verify_with::<RemediationAttestation>(&self.membership.key_book())
            .map_err(CoreError::refused)?;
        self.store_and_send_attestation(case, &rec, true, body.cso)
            .await?;
        Ok(rec)
    }
}
