//! Supply-chain links: proposed by the upstream side, co-signed by the downstream side, and
//! shared with the CSOs that report to linked brands.

use super::*;
use crate::schema;
use ilm_protocol::{Digest, LinkKind, Role, SupplyChainLink};

impl Core {
    pub(super) async fn propose_link(
        &mut self,
        kind: LinkKind,
        counterparty: OrgId,
    ) -> Result<StoredLink, CoreError> {
        let (up_role, down_role) = kind.roles();
        let mine = self.membership.current(&self.me).map(|c| c.role);
        if mine != Some(up_role) {
            return Err(CoreError::refused(format!(
                "only a {up_role} proposes a {kind:?} link"
            )));
        }
        let theirs = self.membership.current(&counterparty).map(|c| c.role);
        if theirs != Some(down_role) {
            return Err(CoreError::refused(format!(
                "the counterparty must be a current {down_role} member"
            )));
        }
        let body = SupplyChainLink {
            network_id: self.membership.network_id(),
            kind,
            upstream: self.me,
            downstream: counterparty,
            established_at: now(),
        };
        let rec = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        let link = StoredLink {
            id: rec.digest(),
            record: rec.clone(),
            complete: false,
        };
        let mut batch = WriteBatch::new();
        batch.put(&schema::LINKS, link.id.as_bytes(), &link)?;
        let payload = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        self.commit_with_message(
            batch,
            MessageKind::SupplyChainLink,
            &[counterparty],
            &payload,
            None,
        )
        .await?;
        Ok(link)
    }

    pub(super) async fn accept_link(&mut self, id: Digest) -> Result<StoredLink, CoreError> {
        let stored: StoredLink = self
            .store
            .get(&schema::LINKS, id.as_bytes())?
            .ok_or_else(|| CoreError::refused("no such link proposal"))?;
        if stored.complete {
            return Ok(stored);
        }
        let body = stored
            .record
            .verify_partial_with::<SupplyChainLink>(&self.membership.key_book())
            .map_err(CoreError::refused)?;
        if body.downstream != self.me {
            return Err(CoreError::refused(
                "only the downstream side accepts a link",
            ));
        }
        let mut rec = stored.record.clone();
        rec.cosign(&self.keys);
        self.check_link(&rec)?;
        let link = StoredLink {
            id,
            record: rec.clone(),
            complete: true,
        };
        let mut batch = WriteBatch::new();
        batch.put(&schema::LINKS, id.as_bytes(), &link)?;
        let payload = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        // The upstream side gets its co-signed link; CSOs get it too, because links decide
        // which brands they report a supplier's cases to. Nobody else learns of it (links are
        // not gossiped: they reveal who buys from whom).
        let mut recipients = vec![body.upstream];
        recipients.extend(
            self.membership
                .known()
                .into_iter()
                .filter(|c| c.role == Role::Cso && c.org_id != self.me)
                .filter(|c| self.membership.current(&c.org_id).is_some())
                .map(|c| c.org_id),
        );
        self.commit_with_message(
            batch,
            MessageKind::SupplyChainLink,
            &recipients,
            &payload,
            None,
        )
        .await?;
        // The upstream side (a brand that now buys from us, a supplier that now recruits
        // through us) gets our improvement plan so far; a brand also learns our agencies.
        self.share_plan_with(body.upstream).await;
        if body.kind == LinkKind::BrandSupplier {
            self.share_agencies_with(body.upstream).await;
        }
        Ok(link)
    }

    /// Gives a CSO that escalated to this node our complete links (once per link and run), so
    /// it can report the case's status to our linked brands even if it joined after the link
    /// was made.
    pub(super) async fn share_links_with(&mut self, cso: OrgId) {
        let links = match self.store.scan(&schema::LINKS, &[]) {
            Ok(l) => l,
            Err(e) => return warn!("cannot read links: {e}"),
        };
        for l in links.into_iter().filter(|l| l.complete) {
            if !self.links_shared.insert((cso, l.id)) {
                continue;
            }
            let Ok(payload) = serde_json::to_vec(&l.record) else {
                continue;
            };
            if let Err(e) = self
                .send_now(MessageKind::SupplyChainLink, &[cso], &payload, None)
                .await
            {
                warn!("link not shared: {e}");
            }
        }
    }

    /// Verifies a complete link: both signatures and both sides' certified roles.
    pub(super) fn check_link(&self, rec: &SignedRecord) -> Result<SupplyChainLink, CoreError> {
        let link = rec
            .verify_with::<SupplyChainLink>(&self.membership.key_book())
            .map_err(CoreError::refused)?;
        let b = link.body().clone();
        if b.network_id != self.membership.network_id() {
            return Err(CoreError::refused("link of another network"));
        }
        let role = |o: &OrgId| self.membership.current(o).map(|c| c.role);
        match (role(&b.upstream), role(&b.downstream)) {
            (Some(u), Some(d)) if b.roles_fit(u, d) => Ok(b),
            _ => Err(CoreError::refused(
                "the link's sides do not hold the roles its kind requires",
            )),
        }
    }
}
