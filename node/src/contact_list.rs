//! The CSO's contact list: search, repeat-caller detection and paging over recorded
//! contacts. Identities are opened in memory only to match and search; an operator who may
//! not see identities gets the same groups and counts, never the fields they come from.

use crate::intake::{Contact, ContactId, SealedContact};
use crate::schema;
use crate::store::{Store, StoreError};
use crate::vault::Vault;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What the contact list shows.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ContactQuery {
    /// Words that must all appear (identity and notes only for operators who may see them).
    pub q: String,
    /// Only workers who got in touch more than once.
    pub repeat: bool,
    /// Only the contacts of the same worker as this contact.
    pub same_as: String,
    /// Page number, from 1.
    pub page: usize,
    /// Rows per page, as for the case list ([`crate::worklist::page_size`]).
    pub per_page: usize,
}

/// One contact in the list.
#[derive(Debug, Clone, Serialize)]
pub struct ContactRow {
    /// The contact, without its sealed part.
    #[serde(flatten)]
    pub contact: ContactSummary,
    /// How many contacts this worker made (1 for a first-time caller).
    pub contacts_by_worker: usize,
    /// The worker's name, only for operators who may see identities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The non-personal fields of a contact.
#[derive(Debug, Clone, Serialize)]
pub struct ContactSummary {
    /// Id.
    pub id: ContactId,
    /// When received.
    pub received_at: ilm_protocol::Timestamp,
    /// Channel code.
    pub channel: crate::intake::Channel,
    /// Language code.
    pub language: String,
    /// Nationality.
    pub nationality: ilm_protocol::Country,
    /// Sector.
    pub sector: String,
    /// Origin country.
    pub origin: ilm_protocol::Country,
    /// Destination country.
    pub destination: ilm_protocol::Country,
    /// The case it belongs to.
    pub case_ref: Option<ilm_protocol::CaseRef>,
}

/// A page of the contact list.
#[derive(Debug, Clone, Serialize)]
pub struct ContactPage {
    /// Rows of this page, newest first.
    pub contacts: Vec<ContactRow>,
    /// Matching contacts on every page.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Pages (at least 1).
    pub pages: usize,
}

/// Why the list cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum ContactListError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `same_as` is not a contact id.
    #[error("same_as: a contact id (32 hex digits)")]
    BadContact,
    /// A page size out of range.
    #[error("per_page: 1 to 10000")]
    BadPageSize,
}

/// The digits of a phone number that identify it whatever the format: the last nine, so
/// "+66 81 234 5678" and "081-234-5678" match. Too short to be a number: no key.
fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 7).then(|| digits[digits.len().saturating_sub(9)..].to_string())
}

/// A messenger id without case, spaces or a leading `@`; placeholders ("-", "none", "n/a")
/// and ids of fewer than three letters or digits are not ids, so they match nobody.
fn messenger_key(id: &str) -> Option<String> {
    let k = id.trim().trim_start_matches('@').to_lowercase();
    let alnum = k.chars().filter(|c| c.is_alphanumeric()).count();
    let placeholder = matches!(k.as_str(), "none" | "n/a" | "na" | "nil" | "unknown" | "no");
    (alnum >= 3 && !placeholder).then_some(k)
}

/// Union-find root.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Groups contacts by worker: two contacts are the same worker when they share a phone
/// number or a messenger id (transitively). Returns each contact's group index.
pub fn group_by_worker(identities: &[Option<SealedContact>]) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..identities.len()).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, s) in identities.iter().enumerate() {
        let Some(s) = s else { continue };
        let keys = [
            phone_key(&s.identity.phone).map(|k| format!("p:{k}")),
            messenger_key(&s.identity.messenger_id).map(|k| format!("m:{k}")),
        ];
        for k in keys.into_iter().flatten() {
            match seen.get(&k) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    seen.insert(k, i);
                }
            }
        }
    }
    (0..identities.len())
        .map(|i| root(&mut parent, i))
        .collect()
}

/// The page of contacts `query` asks for. `visible` says which contacts the operator may
/// list; `identities` whether it may see (and search) names, numbers and notes.
pub fn select(
    store: &Store,
    vault: &Vault,
    query: &ContactQuery,
    visible: &dyn Fn(&Contact) -> bool,
    identities: bool,
    labels: &dyn Fn(&ContactSummary) -> String,
) -> Result<ContactPage, ContactListError> {
    let per_page =
        crate::worklist::page_size(query.per_page).ok_or(ContactListError::BadPageSize)?;
    let same_as: Option<ContactId> = match query.same_as.trim() {
        "" => None,
        s => Some(s.parse().map_err(|_| ContactListError::BadContact)?),
    };
    // Groups span every contact of the node, so a repeat caller is found even when another
    // intake operator took the earlier call.
    let all: Vec<Contact> = store.scan(&schema::CONTACTS, &[])?;
    let sealed: Vec<Option<SealedContact>> = all
        .iter()
        .map(
            |c| match vault.open_json::<SealedContact>(&c.id.0, &c.sealed) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(contact = %c.id, "a sealed contact does not open: {e}");
                    None
                }
            },
        )
        .collect();
    let groups = group_by_worker(&sealed);
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for g in &groups {
        *sizes.entry(*g).or_default() += 1;
    }
    let wanted_group = same_as.and_then(|id| {
        all.iter()
            .position(|c| c.id == id && visible(c))
            .map(|i| groups[i])
    });
    if same_as.is_some() && wanted_group.is_none() {
        return Ok(ContactPage {
            contacts: Vec::new(),
            total: 0,
            page: 1,
            pages: 1,
        });
    }
    let words: Vec<String> = query
        .q
        .to_lowercase()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut rows: Vec<ContactRow> = Vec::new();
    for (i, c) in all.iter().enumerate() {
        let size = sizes.get(&groups[i]).copied().unwrap_or(1);
        if !visible(c) || (query.repeat && size < 2) || wanted_group.is_some_and(|g| g != groups[i])
        {
            continue;
        }
        let summary = ContactSummary {
            id: c.id,
            received_at: c.received_at,
            channel: c.channel,
            language: c.language.clone(),
            nationality: c.nationality.clone(),
            sector: c.sector.clone(),
            origin: c.origin.clone(),
            destination: c.destination.clone(),
            case_ref: c.case_ref,
        };
        if !words.is_empty() {
            // The values and their labels, never the field names.
            let mut text = [
                summary.language.clone(),
                summary.nationality.to_string(),
                summary.sector.clone(),
                summary.origin.to_string(),
                summary.destination.to_string(),
                labels(&summary),
            ]
            .join("\n");
            // Random ids match only from their start and with 8 digits or more, so a word
            // like "0004" in a name does not find every id that happens to contain it.
            let ids = [
                summary.id.to_string(),
                summary.case_ref.map(|c| c.to_hex()).unwrap_or_default(),
            ];
            let id_match = |w: &str| w.len() >= 8 && ids.iter().any(|id| id.starts_with(w));
            if identities && let Some(s) = &sealed[i] {
                text.push('\n');
                text.push_str(&s.identity.name);
                text.push('\n');
                text.push_str(&s.identity.phone);
                text.push('\n');
                text.push_str(&s.identity.messenger_id);
                text.push('\n');
                text.push_str(&s.identity.id_numbers.join("\n"));
                text.push('\n');
                text.push_str(&s.notes);
            }
            let text = text.to_lowercase();
            if !words
                .iter()
                .all(|w| text.contains(w.as_str()) || id_match(w))
            {
                continue;
            }
        }
        rows.push(ContactRow {
            contact: summary,
            contacts_by_worker: size,
            name: identities
                .then(|| sealed[i].as_ref().map(|s| s.identity.name.clone()))
                .flatten(),
        });
    }
    rows.sort_by(|a, b| {
        b.contact
            .received_at
            .cmp(&a.contact.received_at)
            .then(a.contact.id.cmp(&b.contact.id))
    });
    let (contacts, total, page, pages) = crate::worklist::paginate(rows, query.page, per_page);
    Ok(ContactPage {
        contacts,
        total,
        page,
        pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::WorkerIdentity;

    fn who(phone: &str, messenger: &str) -> Option<SealedContact> {
        Some(SealedContact {
            identity: WorkerIdentity {
                name: "x".into(),
                phone: phone.into(),
                messenger_id: messenger.into(),
                id_numbers: vec![],
            },
            notes: String::new(),
        })
    }

    #[test]
    fn the_same_number_or_messenger_id_in_any_format_is_one_worker() {
        let g = group_by_worker(&[
            who("+66 81 234 5678", ""),
            who("081-234-5678", "@Aye.Line"),
            who("", "aye.line"),
            who("+66 81 999 0000", ""),
            who("12", ""),
            who("12", ""),
            None,
            who("", "none"),
            who("", "None"),
            who("", "-"),
            who("", "-"),
        ]);
        assert_ne!(g[7], g[8], "a placeholder messenger id matches nobody");
        assert_ne!(g[9], g[10]);
        assert_eq!(g[0], g[1], "same number, other format");
        assert_eq!(g[1], g[2], "same messenger id through contact 1");
        assert_ne!(g[0], g[3], "another number");
        assert_ne!(g[4], g[5], "too short to be a number: not matched");
        assert_ne!(g[6], g[0]);
    }
}
