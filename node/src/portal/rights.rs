//! Know-your-rights pages: what a worker on one migration corridor should know (fees the
//! law allows, documents the employer may not keep, where to get help), written by the CSO
//! per corridor and language and shown on the portal.

use crate::schema;
use crate::store::{Store, StoreError, WriteBatch};
use ilm_protocol::{Country, Timestamp};
use serde::{Deserialize, Serialize};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;

/// One page as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightsPage {
    /// Country of origin.
    pub origin: Country,
    /// Country of work.
    pub destination: Country,
    /// Language (ISO 639 code).
    pub language: String,
    /// Title.
    pub title: String,
    /// Text; paragraphs are separated by blank lines.
    pub body: String,
    /// When it was last saved.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// The operator who saved it.
    #[serde(default)]
    pub updated_by: Option<String>,
}

/// Why a page was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPage(pub String);

impl RightsPage {
    /// Checks the fields an operator wrote.
    pub fn validate(&self) -> Result<(), InvalidPage> {
        super::check_writing(
            &self.language,
            &self.title,
            MAX_TITLE_CHARS,
            &self.body,
            MAX_BODY_CHARS,
        )
        .map_err(InvalidPage)
    }

    /// The corridor as the portal names it in links: `MM-TH`.
    pub fn corridor(&self) -> String {
        corridor(&self.origin, &self.destination)
    }

    /// The body's paragraphs (blank-line separated), trimmed.
    pub fn paragraphs(&self) -> Vec<String> {
        super::paragraphs(&self.body)
    }
}

/// A corridor's name in links: origin and destination codes joined by a dash.
pub fn corridor(origin: &Country, destination: &Country) -> String {
    format!("{origin}-{destination}")
}

/// Reads a corridor name (`MM-TH`).
pub fn parse_corridor(s: &str) -> Option<(Country, Country)> {
    let (o, d) = s.split_once('-')?;
    Some((o.parse().ok()?, d.parse().ok()?))
}

fn id(origin: &Country, destination: &Country, language: &str) -> Vec<u8> {
    [
        corridor(origin, destination).as_bytes(),
        &[0],
        language.as_bytes(),
    ]
    .concat()
}

/// Saves a page (replacing the corridor's page in that language).
pub fn save(store: &Store, page: &RightsPage) -> Result<(), StoreError> {
    let mut batch = WriteBatch::new();
    batch.put(
        &schema::RIGHTS_PAGES,
        &id(&page.origin, &page.destination, &page.language),
        page,
    )?;
    store.commit(batch)
}

/// Deletes a page; false when there was none.
pub fn delete(
    store: &Store,
    origin: &Country,
    destination: &Country,
    language: &str,
) -> Result<bool, StoreError> {
    let key = id(origin, destination, language);
    if store
        .get::<RightsPage>(&schema::RIGHTS_PAGES, &key)?
        .is_none()
    {
        return Ok(false);
    }
    let mut batch = WriteBatch::new();
    batch.remove(&schema::RIGHTS_PAGES, &key);
    store.commit(batch)?;
    Ok(true)
}

/// Every page, by corridor then language.
pub fn all(store: &Store) -> Result<Vec<RightsPage>, StoreError> {
    store.scan(&schema::RIGHTS_PAGES, &[])
}

/// The page of a corridor in `language`, else in English, else in any language.
pub fn find(
    store: &Store,
    origin: &Country,
    destination: &Country,
    language: &str,
) -> Result<Option<RightsPage>, StoreError> {
    let prefix = [corridor(origin, destination).as_bytes(), &[0]].concat();
    let pages: Vec<RightsPage> = store.scan(&schema::RIGHTS_PAGES, &prefix)?;
    let pick = |lang: &str| pages.iter().find(|p| p.language == lang).cloned();
    Ok(pick(language)
        .or_else(|| pick("en"))
        .or_else(|| pages.first().cloned()))
}

/// One entry per corridor, in `language` where a page exists in it (else as [`find`]).
pub fn per_corridor(store: &Store, language: &str) -> Result<Vec<RightsPage>, StoreError> {
    let mut out: Vec<RightsPage> = Vec::new();
    for p in all(store)? {
        match out.last_mut() {
            Some(last) if last.corridor() == p.corridor() => {
                let better =
                    p.language == language || (p.language == "en" && last.language != language);
                if better {
                    *last = p;
                }
            }
            _ => out.push(p),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lang: &str, title: &str) -> RightsPage {
        RightsPage {
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            language: lang.into(),
            title: title.into(),
            body: "First.\n\nSecond.".into(),
            updated_at: None,
            updated_by: None,
        }
    }

    #[test]
    fn a_corridor_is_shown_in_the_asked_language_else_english() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::schema::open(&dir.path().join("db")).expect("store");
        save(&store, &page("en", "Your rights")).expect("save");
        save(&store, &page("my", "သင့်အခွင့်အရေး")).expect("save");
        let (mm, th): (Country, Country) = ("MM".parse().expect("c"), "TH".parse().expect("c"));
        assert_eq!(
            find(&store, &mm, &th, "my").expect("find").map(|p| p.title),
            Some("သင့်အခွင့်အရေး".to_string())
        );
        assert_eq!(
            find(&store, &mm, &th, "km").expect("find").map(|p| p.title),
            Some("Your rights".to_string())
        );
        let list = per_corridor(&store, "my").expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].language, "my");
        assert_eq!(page("en", "x").paragraphs(), vec!["First.", "Second."]);
        assert!(delete(&store, &mm, &th, "my").expect("delete"));
        assert!(!delete(&store, &mm, &th, "my").expect("delete"));
        assert_eq!(per_corridor(&store, "my").expect("list")[0].language, "en");
    }

    #[test]
    fn bad_pages_are_refused() {
        assert!(page("en", "ok").validate().is_ok());
        assert!(page("xx", "ok").validate().is_err());
        assert!(page("en", " ").validate().is_err());
        assert!(page("en", "a\u{7}b").validate().is_err());
        let mut long = page("en", "ok");
        long.body = "x".repeat(MAX_BODY_CHARS + 1);
        assert!(long.validate().is_err());
    }
}
