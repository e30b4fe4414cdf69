//! Job listings: an agency or supplier signs each job it offers and sends it to every CSO,
//! whose portal shows it while it is open; receivers keep the latest version of each.

use super::*;
use crate::schema;
use ilm_protocol::{
    Country, Delivery, DocumentsKeeper, JobListing, ListingId, Money, Role, WagePeriod, WorkerCost,
};

/// What an agency or supplier states about one job.
#[derive(Debug, Clone)]
pub struct ListingInput {
    /// The listing to replace (None: a new one).
    pub id: Option<ListingId>,
    /// The employer's name.
    pub employer: String,
    /// Where the work is.
    pub site: String,
    /// The job's title.
    pub job: String,
    /// What the work is.
    pub description: String,
    /// Where workers are recruited from.
    pub origin: Country,
    /// Where the work is.
    pub destination: Country,
    /// How many workers are wanted.
    pub workers_wanted: u32,
    /// The wage.
    pub wage: Money,
    /// The period the wage is for.
    pub wage_period: WagePeriod,
    /// Normal hours per week.
    pub hours_per_week: u32,
    /// The contract's length in months.
    pub contract_months: u32,
    /// The contract's languages.
    pub contract_languages: Vec<String>,
    /// Every cost charged to the worker.
    pub costs: Vec<WorkerCost>,
    /// Who keeps the documents.
    pub documents_kept_by: DocumentsKeeper,
    /// For how many days from now the listing stays up.
    pub days: u32,
}

/// The latest version held of a listing.
pub fn listing(
    store: &Store,
    publisher: &OrgId,
    id: &ListingId,
) -> Result<Option<SignedRecord>, StoreError> {
    store.get(&schema::LISTINGS, &schema::listing_id(publisher, id))
}

/// The current CSO members other than this node: everyone a listing goes to.
fn current_csos(membership: &MembershipState, me: &OrgId) -> Vec<OrgId> {
    let mut out: Vec<OrgId> = membership
        .known()
        .into_iter()
        .filter(|c| c.org_id != *me && c.role == Role::Cso)
        .map(|c| c.org_id)
        .filter(|o| membership.current(o).is_some())
        .collect();
    out.sort();
    out
}

impl Core {
    fn publisher_role(&self) -> Result<(), CoreError> {
        match self.membership.current(&self.me).map(|c| c.role) {
            Some(Role::Supplier | Role::Agency) => Ok(()),
            _ => Err(CoreError::refused(
                "only a current supplier or agency member publishes job listings",
            )),
        }
    }

    /// The time for a new version of `id`: now, or a second after the version held (so the
    /// new one replaces it even within one second), with the version held.
    fn next_version(&self, id: &ListingId) -> Result<(Timestamp, JobListing), CoreError> {
        let held = listing(&self.store, &self.me, id)?
            .ok_or_else(|| CoreError::refused("no such listing of this organisation"))?;
        let held: JobListing = serde_json::from_slice(&held.body).map_err(CoreError::refused)?;
        Ok((now().max(held.published_at.plus_secs(1)), held))
    }

    /// Signs, stores and sends one listing (new or replacing one of ours).
    pub(super) async fn publish_listing(
        &mut self,
        input: ListingInput,
    ) -> Result<SignedRecord, CoreError> {
        self.publisher_role()?;
        let (published_at, first_published_at, id) = match input.id {
            Some(id) => {
                let (at, held) = self.next_version(&id)?;
                (at, held.first_published_at, id)
            }
            None => {
                let at = now();
                let id =
                    ListingId(ilm_protocol::identity::random_bytes().map_err(CoreError::refused)?);
                (at, at, id)
            }
        };
        let body = JobListing {
            network_id: self.membership.network_id(),
            publisher: self.me,
            id,
            employer: input.employer.trim().to_string(),
            site: input.site.trim().to_string(),
            job: input.job.trim().to_string(),
            description: input.description,
            origin: input.origin,
            destination: input.destination,
            workers_wanted: input.workers_wanted,
            wage: input.wage,
            wage_period: input.wage_period,
            hours_per_week: input.hours_per_week,
            contract_months: input.contract_months,
            contract_languages: input.contract_languages,
            costs: input.costs,
            documents_kept_by: input.documents_kept_by,
            first_published_at,
            published_at,
            expires_at: published_at.plus_secs(u64::from(input.days).saturating_mul(86_400)),
            withdrawn: false,
        };
        self.sign_and_send_listing(body).await
    }

    /// Takes one of our listings down: a new version, withdrawn, sent like the others.
    pub(super) async fn withdraw_listing(
        &mut self,
        id: ListingId,
    ) -> Result<SignedRecord, CoreError> {
        self.publisher_role()?;
        let (published_at, held) = self.next_version(&id)?;
        if held.withdrawn {
            return Err(CoreError::refused("this listing was already taken down"));
        }
        let body = JobListing {
            published_at,
            // A withdrawal must still pass the expiry rules; it ends at once anyway.
            expires_at: held.expires_at.max(published_at.plus_secs(1)),
            withdrawn: true,
            ..held
        };
        self.sign_and_send_listing(body).await
    }

    async fn sign_and_send_listing(&mut self, body: JobListing) -> Result<SignedRecord, CoreError> {
        body.check_well_formed().map_err(CoreError::refused)?;
        let rec = SignedRecord::sign(&body, &self.keys).map_err(CoreError::refused)?;
        let mut batch = WriteBatch::new();
        batch.put(
            &schema::LISTINGS,
            &schema::listing_id(&self.me, &body.id),
            &rec,
        )?;
        let payload = serde_json::to_vec(&rec).map_err(CoreError::refused)?;
        let recipients = current_csos(&self.membership, &self.me);
        self.commit_to_many(batch, MessageKind::JobListing, &recipients, &payload)
            .await?;
        Ok(rec)
    }

    /// A listing delivered by `sender`: verified against the publisher's keys, checked, and
    /// kept when it is newer than the version held.
    pub(super) fn receive_listing(
        &mut self,
        sender: &OrgId,
        payload: &[u8],
        batch: &mut WriteBatch,
    ) -> Result<(), receive::Declined> {
        let (rec, body) = self.delivered::<JobListing>(payload, "job listing", |b| b.network_id)?;
        body.check_well_formed().map_err(|e| e.to_string())?;
        self.may_deliver(
            sender,
            &Delivery::JobListing {
                publisher: body.publisher,
            },
        )?;
        let id = schema::listing_id(&body.publisher, &body.id);
        let held = self.held_in(batch, &schema::LISTINGS, &id)?;
        let newer = match held {
            None => true,
            Some(h) => serde_json::from_slice::<JobListing>(&h.body)
                .map(|h| body.replaces(&h))
                .unwrap_or(true),
        };
        if newer {
            batch
                .put(&schema::LISTINGS, &id, &rec)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Sends our listings that have not expired to `cso`, just admitted, once per version
    /// and run: a CSO that joined after a listing was published (or was away when it was
    /// taken down) would otherwise never hold the latest version.
    pub(super) async fn share_listings_with(&mut self, cso: OrgId) {
        if self.membership.current(&cso).map(|c| c.role) != Some(Role::Cso)
            || !matches!(
                self.membership.current(&self.me).map(|c| c.role),
                Some(Role::Supplier | Role::Agency)
            )
        {
            return;
        }
        let ours: Vec<SignedRecord> = match self.store.scan(&schema::LISTINGS, self.me.as_bytes()) {
            Ok(l) => l,
            Err(e) => return warn!("cannot read our job listings: {e}"),
        };
        let t = now();
        // Withdrawn versions too, until their date has passed: a CSO that missed the
        // withdrawal would otherwise show the listing until then.
        let current = ours.into_iter().filter(|r| {
            serde_json::from_slice::<JobListing>(&r.body).is_ok_and(|l| t < l.expires_at)
        });
        self.share_once(cso, MessageKind::JobListing, current).await;
    }
}
