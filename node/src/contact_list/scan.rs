//! The contact list read from every contact, each sealed identity opened and grouped at each
//! request: how the list was made before its index (`groups`), kept as the baseline the
//! tests and the benchmark compare the index with.

use super::{
    ContactListError, ContactPage, ContactQuery, ContactRow, Seen, matches, messenger_key,
    phone_key, root, summary, words,
};
use crate::intake::{Contact, ContactId, SealedContact};
use crate::schema;
use crate::store::Store;
use crate::vault::Vault;
use std::collections::HashMap;

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

/// The page [`super::select`] gives, from every contact of the node read and opened.
pub fn select(
    store: &Store,
    vault: &Vault,
    query: &ContactQuery,
    seen: &Seen,
    identities: bool,
    labels: &dyn Fn(&super::ContactSummary) -> String,
) -> Result<ContactPage, ContactListError> {
    let (per_page, same_as) = super::parse(query)?;
    let all: Vec<Contact> = store.scan(&schema::CONTACTS, &[])?;
    let sealed: Vec<Option<SealedContact>> = all
        .iter()
        .map(|c| vault.open_json::<SealedContact>(&c.id.0, &c.sealed).ok())
        .collect();
    let groups = group_by_worker(&sealed);
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for g in &groups {
        *sizes.entry(*g).or_default() += 1;
    }
    let wanted_group = same_as.and_then(|id: ContactId| {
        all.iter()
            .position(|c| c.id == id && seen.allows(c))
            .map(|i| groups[i])
    });
    if same_as.is_some() && wanted_group.is_none() {
        return Ok(ContactPage::empty());
    }
    let words = words(&query.q);
    let mut rows: Vec<ContactRow> = Vec::new();
    for (i, c) in all.iter().enumerate() {
        let size = sizes.get(&groups[i]).copied().unwrap_or(1);
        if !seen.allows(c)
            || (query.repeat && size < 2)
            || wanted_group.is_some_and(|g| g != groups[i])
        {
            continue;
        }
        let opened = sealed[i].as_ref().filter(|_| identities);
        if !matches(&words, c, opened, labels) {
            continue;
        }
        rows.push(ContactRow {
            contact: summary(c),
            contacts_by_worker: size,
            name: opened.map(|s| s.identity.name.clone()),
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
        more: false,
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
