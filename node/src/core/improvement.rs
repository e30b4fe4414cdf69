//! Improvement plans: a supplier or agency signs each activity it plans or completes and
//! sends it to its linked brands and the CSOs it works with (an agency, to the suppliers that
//! recruit through it, which relay it to their brands); receivers keep the latest version of
//! each activity.

use super::receive::linked_in_batch;
use super::*;
use crate::schema;
use ilm_protocol::{ActivityId, Delivery, ImprovementActivity, LinkKind, Role, SupplyChainLink};

/// What an organisation states about one activity of its plan.
#[derive(Debug, Clone)]
pub struct ActivityInput {
    /// The activity to update (None: a new one).
    pub id: Option<ActivityId>,
    /// What kind of change.
    pub kind: ilm_protocol::ActivityKind,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// When it is planned for.
    pub planned_for: Timestamp,
    /// When it was completed, if it was.
    pub completed_at: Option<Timestamp>,
    /// Whether this version withdraws the activity (an existing one) from the plan.
    pub withdraw: bool,
}

/// The latest version held of an activity.
pub fn activity(
    store: &Store,
    org: &OrgId,
    id: &ActivityId,
) -> Result<Option<SignedRecord>, StoreError> {
    store.get(&schema::IMPROVEMENTS, &schema::improvement_id(org, id))
}

/// Whether `cso` escalated a case to `org`, as this node holds the cases: one key of the
/// search index's owner-party term (not a scan of every case).
fn works_with(store: &Store, cso: &OrgId, org: &OrgId) -> Result<bool, StoreError> {
    let mut term = crate::aggregates::terms::pair(cso, org);
    term.push(0);
    store.any_prefixed(&schema::TERMS, &term)
}

/// The current CSOs that escalated a case to `org` (the ones it works with).
fn csos_working_with(
    store: &Store,
    membership: &MembershipState,
    org: &OrgId,
) -> Result<Vec<OrgId>, StoreError> {
    let mut out = Vec::new();
    for c in membership.known() {
        if c.role == Role::Cso
            && c.org_id != *org
            && membership.current(&c.org_id).is_some()
            && works_with(store, &c.org_id, org)?
        {
            out.push(c.org_id);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl Core {
    /// Records (signs, stores and sends) one activity of this organisation's plan.
    pub(super) async fn record_activity(
        &mut self,
        input: ActivityInput,
    ) -> Result<SignedRecord, CoreError> {
        let role = self.membership.current(&self.me).map(|c| c.role);
        if !matches!(role, Some(Role::Supplier | Role::Agency)) {
            return Err(CoreError::refused(
                "only a current supplier or agency member keeps an improvement plan",
            ));
        }
        // A new version must be later than the one it replaces, even within one second.
        let mut recorded_at = now();
        let id = match input.id {
            Some(id) => {
                let held = activity(&self.store, &self.me, &id)?
                    .ok_or_else(|| CoreError::refused("no such activity in this plan"))?;
                let held: ImprovementActivity =
                    serde_json::from_slice(&held.body).map_err(CoreError::refused)?;
                if held.withdrawn {
                    return Err(CoreError::refused(
                        "this activity was withdrawn from the plan: record a new one",
                    ));
                }
                recorded_at = recorded_at.max(held.recorded_at.plus_secs(1));
                id
            }
            None if input.withdraw => {
                return Err(CoreError::refused("withdraw: name the activity"));
            }
            None => ActivityId(ilm_protocol::identity::random_bytes().map_err(CoreError::refused)?),
        };
        let body = ImprovementActivity {
            network_id: self.membership.network_id(),
            org: self.me,
            id,
            kind: input.kind,
            title: input.title.trim().to_string(),
            description: input.description,
            planned_for: input.planned_for,
            completed_at: input.completed_at,
            recorded_at,
            withdrawn: input.withdraw,
        };
        body.check_well_formed().map_err(CoreError::refused)?;
        let rec = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        let mut batch = WriteBatch::new();
        batch.put(
            &schema::IMPROVEMENTS,
            &schema::improvement_id(&self.me, &id),
            &rec,
        )?;
        // An agency does not know the brands its suppliers sell to: its suppliers relay its
        // plan to them.
        let mut recipients = brands_of(&self.store, &self.me)?;
        recipients.extend(suppliers_of(&self.store, &self.me)?);
        recipients.extend(csos_working_with(&self.store, &self.membership, &self.me)?);
        recipients.retain(|o| self.membership.current(o).is_some());
        recipients.sort();
        recipients.dedup();
        let payload = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        // One envelope per recipient: a supplier does not learn who else recruits through an
        // agency, nor a brand who else buys from a supplier.
        self.commit_apart(
            batch,
            MessageKind::ImprovementActivity,
            &recipients,
            &payload,
        )
        .await?;
        Ok(rec)
    }

    /// An activity delivered by `sender`: kept when the receiver buys from or works with
    /// the sender and it is newer than the version held.
    pub(super) fn receive_activity(
        &mut self,
        sender: &OrgId,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), receive::Declined> {
        let (rec, body) =
            self.delivered::<ImprovementActivity>(payload, "improvement activity", |b| {
                b.network_id
            })?;
        body.check_well_formed().map_err(|e| e.to_string())?;
        let retry = |e: StoreError| receive::Declined::Retry(e.to_string());
        let me = self.me;
        // A link completed by an earlier message of this batch counts: the supplier sends its
        // plan right after the link, and both may arrive together.
        let linked = |kind, up: &OrgId, down: &OrgId| -> Result<bool, receive::Declined> {
            if linked_in_batch(batch, kind, up, down) {
                return Ok(true);
            }
            let held = match kind {
                LinkKind::BrandSupplier => brands_of(&self.store, down),
                LinkKind::SupplierAgency => suppliers_of(&self.store, down),
            };
            Ok(held.map_err(retry)?.contains(up))
        };
        let role = self.membership.current(&me).map(|c| c.role);
        let related = match role {
            // Directly from a supplier it buys from, or relayed by one from an agency the
            // supplier recruits through.
            Some(Role::Brand) => {
                linked(LinkKind::BrandSupplier, &me, sender)?
                    && (*sender == body.org || linked(LinkKind::SupplierAgency, sender, &body.org)?)
            }
            Some(Role::Supplier) => linked(LinkKind::SupplierAgency, &me, &body.org)?,
            Some(Role::Cso) => works_with(&self.store, &me, &body.org).map_err(retry)?,
            _ => false,
        };
        self.may_deliver(
            sender,
            &Delivery::ImprovementActivity {
                org: body.org,
                related,
            },
        )?;
        let id = schema::improvement_id(&body.org, &body.id);
        let held = self.held_in(batch, &schema::IMPROVEMENTS, &id)?;
        let newer = match held {
            None => true,
            Some(h) => serde_json::from_slice::<ImprovementActivity>(&h.body)
                .map(|h| body.replaces(&h))
                .unwrap_or(true),
        };
        if newer {
            if role == Some(Role::Supplier) {
                self.relay_to_brands(MessageKind::ImprovementActivity, &rec, batch)?;
            }
            batch
                .put(&schema::IMPROVEMENTS, &id, &rec)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl Core {
    /// Sends this organisation's whole plan (the latest version of each activity) to `org`,
    /// a brand that just linked to it or a CSO that just escalated to it, once per version
    /// and run: a plan recorded before they met would otherwise never reach them.
    pub(super) async fn share_plan_with(&mut self, org: OrgId) {
        let plan: Vec<SignedRecord> =
            match self.store.scan(&schema::IMPROVEMENTS, self.me.as_bytes()) {
                Ok(p) => p,
                Err(e) => return warn!("cannot read the improvement plan: {e}"),
            };
        self.share_once(org, MessageKind::ImprovementActivity, plan)
            .await;
    }

    /// At a supplier, when a brand linked to it is admitted: what it must know of our
    /// agencies (links made before it linked are sent when it links; this also covers links
    /// made before a release that relays them, and anything its node lost).
    pub(super) async fn share_agencies_on_admission(&mut self, org: OrgId) {
        if self.membership.current(&self.me).map(|c| c.role) != Some(Role::Supplier) {
            return;
        }
        match brands_of(&self.store, &self.me) {
            Ok(brands) if brands.contains(&org) => self.share_agencies_with(org).await,
            Ok(_) => {}
            Err(e) => warn!("cannot read links: {e}"),
        }
    }

    /// Tells `brand`, which just linked to this supplier, which agencies it recruits through
    /// (their links) and sends it the plans of those agencies held here, once per version
    /// and run.
    pub(super) async fn share_agencies_with(&mut self, brand: OrgId) {
        let read = || -> Result<(Vec<SignedRecord>, Vec<SignedRecord>), StoreError> {
            let mut links = Vec::new();
            let mut plans = Vec::new();
            for l in self.store.scan(&schema::LINKS, &[])? {
                let agency = serde_json::from_slice::<SupplyChainLink>(&l.record.body)
                    .ok()
                    .filter(|b| {
                        l.complete && b.kind == LinkKind::SupplierAgency && b.upstream == self.me
                    })
                    .map(|b| b.downstream);
                if let Some(agency) = agency {
                    plans.extend(self.store.scan(&schema::IMPROVEMENTS, agency.as_bytes())?);
                    links.push(l.record);
                }
            }
            Ok((links, plans))
        };
        match read() {
            Ok((links, plans)) => {
                self.share_once(brand, MessageKind::SupplyChainLink, links)
                    .await;
                self.share_once(brand, MessageKind::ImprovementActivity, plans)
                    .await;
            }
            Err(e) => warn!("cannot read the agencies' links and plans: {e}"),
        }
    }
}
