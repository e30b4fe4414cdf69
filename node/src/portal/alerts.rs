//! Broker alerts: the CSO's warnings about illegal brokers and fake job offers on a
//! migration corridor, written and reviewed by its caseworkers (never naming a worker) and
//! shown on its portal until they expire.

use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{Country, Timestamp};
use serde::{Deserialize, Serialize};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest text, in characters.
pub const MAX_BODY_CHARS: usize = 4_000;
/// Longest an alert may stay up, in days (it can be written again).
pub const MAX_DAYS: u64 = 365;

/// One alert as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerAlert {
    /// Random id (hex), for deleting it.
    pub id: String,
    /// Country of origin of the corridor it warns about.
    pub origin: Country,
    /// Country of work.
    pub destination: Country,
    /// Language it is written in (a portal language).
    pub language: String,
    /// What to look out for, in a line ("Fake factory jobs offered on Facebook").
    pub title: String,
    /// Names, places and tricks used, and what to do instead.
    pub body: String,
    /// When it was published.
    pub published_at: Timestamp,
    /// When it stops being shown.
    pub expires_at: Timestamp,
    /// The operator who published it.
    pub by: String,
}

/// Why an alert was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAlert(pub String);

impl BrokerAlert {
    /// Checks what an operator wrote, at `now`.
    pub fn validate(&self, now: Timestamp) -> Result<(), InvalidAlert> {
        super::check_writing(
            &self.language,
            &self.title,
            MAX_TITLE_CHARS,
            &self.body,
            MAX_BODY_CHARS,
        )
        .map_err(InvalidAlert)?;
        if self.expires_at <= now || self.expires_at > now.plus_days(MAX_DAYS) {
            return Err(InvalidAlert(format!(
                "expiry: after today and within {MAX_DAYS} days"
            )));
        }
        Ok(())
    }

    /// Whether it is shown at `now`.
    pub fn current(&self, now: Timestamp) -> bool {
        self.published_at <= now && now < self.expires_at
    }

    /// The body's paragraphs (blank-line separated), trimmed.
    pub fn paragraphs(&self) -> Vec<String> {
        super::paragraphs(&self.body)
    }
}

/// Stores an alert.
pub fn publish(store: &Store, alert: &BrokerAlert) -> Result<(), StoreError> {
    let mut batch = WriteBatch::new();
    batch.put(&schema::ALERTS, alert.id.as_bytes(), alert)?;
    store.commit(batch)
}

/// Deletes an alert; false when there was none.
pub fn delete(store: &Store, id: &str) -> Result<bool, StoreError> {
    if store
        .get::<BrokerAlert>(&schema::ALERTS, id.as_bytes())?
        .is_none()
    {
        return Ok(false);
    }
    let mut batch = WriteBatch::new();
    batch.remove(&schema::ALERTS, id.as_bytes());
    store.commit(batch)?;
    Ok(true)
}

/// Every alert, newest first (expired ones too, for the CSO's page).
pub fn all(store: &Store) -> Result<Vec<BrokerAlert>, StoreError> {
    let mut out: Vec<BrokerAlert> = store.scan(&schema::ALERTS, &[])?;
    out.sort_by_key(|a| std::cmp::Reverse(a.published_at));
    Ok(out)
}

/// The alerts shown at `now`, those in `language` first, then newest first.
pub fn shown(
    store: &Store,
    now: Timestamp,
    language: &str,
) -> Result<Vec<BrokerAlert>, StoreError> {
    let mut out: Vec<BrokerAlert> = all(store)?.into_iter().filter(|a| a.current(now)).collect();
    out.sort_by_key(|a| (a.language != language, std::cmp::Reverse(a.published_at)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_767_225_600);

    fn alert(id: &str, lang: &str, days: u64) -> BrokerAlert {
        BrokerAlert {
            id: id.into(),
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            language: lang.into(),
            title: "Fake jobs on Facebook".into(),
            body: "A broker called U Aung asks 30,000 baht.\n\nDo not pay.".into(),
            published_at: T0,
            expires_at: T0.plus_days(days),
            by: "carla".into(),
        }
    }

    #[test]
    fn alerts_are_shown_until_they_expire_in_the_workers_language_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::schema::open(&dir.path().join("db")).expect("store");
        publish(&store, &alert("a1", "en", 10)).expect("publish");
        publish(&store, &alert("a2", "my", 30)).expect("publish");
        let ids = |now, lang| -> Vec<String> {
            shown(&store, now, lang)
                .expect("shown")
                .into_iter()
                .map(|a| a.id)
                .collect()
        };
        assert_eq!(ids(T0.plus_days(1), "my"), ["a2", "a1"]);
        assert_eq!(ids(T0.plus_days(1), "en"), ["a1", "a2"]);
        // The English one expired on day 10; the Burmese one stays until day 30.
        assert_eq!(ids(T0.plus_days(10), "en"), ["a2"]);
        assert!(ids(T0.plus_days(30), "en").is_empty());
        // The CSO still sees both.
        assert_eq!(all(&store).expect("all").len(), 2);
        assert!(delete(&store, "a1").expect("delete"));
        assert!(!delete(&store, "a1").expect("delete"));
    }

    #[test]
    fn bad_alerts_are_refused() {
        assert!(alert("a", "en", 10).validate(T0).is_ok());
        assert!(alert("a", "xx", 10).validate(T0).is_err());
        assert!(alert("a", "en", 0).validate(T0).is_err(), "already expired");
        assert!(alert("a", "en", MAX_DAYS + 1).validate(T0).is_err());
        let mut a = alert("a", "en", 10);
        a.title = " ".into();
        assert!(a.validate(T0).is_err());
        a.title = "ok".into();
        a.body = "x\u{7}".into();
        assert!(a.validate(T0).is_err());
        assert_eq!(alert("a", "en", 1).paragraphs().len(), 2);
    }
}
