//! The case list's search index: for each case, one id per term it can be found by (its
//! status, each category, each pair of organisations it links, each word of its site,
//! requested remedy and description), kept with the aggregates in the batch that stores the
//! case's state. An id is the term, a zero byte, then the case's [`opened::key`], so the
//! cases of one term (or of every term starting with a word) come newest first from one
//! prefix read, and a search costs what it finds, not what the node holds.
//!
//! Words match from their start ("fact" finds "factory"). Scripts written without spaces
//! between words (Thai, Lao, Burmese, Khmer, Japanese and Chinese) are indexed from each of
//! the first [`MAX_RUN_STARTS`] letters of a run, so a word inside a run is found too.

use super::lists::Lists;
use super::opened;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{CaseRef, CaseState, IssueCategory, OrgId};

/// The search terms' lists of case keys, in blocks; each list named by a term and a zero
/// byte.
pub const LISTS: Lists<{ opened::KEY_LEN }> = Lists::new(&schema::TERMS);

/// Longest term kept, in characters: a longer word is indexed by its start, and a search
/// for it checks each case found.
pub const MAX_TERM_CHARS: usize = 32;

/// Most positions of one run without spaces that are indexed (a search finds a word that
/// starts within them).
pub const MAX_RUN_STARTS: usize = 64;

/// The term of a status.
pub fn status(code: &str) -> Vec<u8> {
    format!("s:{code}").into_bytes()
}

/// The prefix every status term starts with (so every case holds exactly one id under it).
pub const ANY_STATUS: &[u8] = b"s:";

/// The term of an issue category.
pub fn category(c: IssueCategory) -> Vec<u8> {
    format!("c:{}", c.code()).into_bytes()
}

/// The prefix every pair term starts with.
const PAIRS: &[u8] = b"x:";

/// The term of a case between an owner and a party escalated to.
pub fn pair(owner: &OrgId, party: &OrgId) -> Vec<u8> {
    [PAIRS, owner.as_bytes(), party.as_bytes()].concat()
}

/// The term prefix of a word (every indexed word starting with it).
pub fn word(w: &str) -> Vec<u8> {
    let short: String = w.chars().take(MAX_TERM_CHARS).collect();
    format!("w:{short}").into_bytes()
}

/// Whether a character is of a script written without spaces between words.
fn unspaced(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}' // Thai, Lao
        | '\u{1000}'..='\u{109F}' | '\u{A9E0}'..='\u{A9FF}' | '\u{AA60}'..='\u{AA7F}' // Myanmar
        | '\u{1780}'..='\u{17FF}' | '\u{19E0}'..='\u{19FF}' // Khmer
        | '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' | '\u{FF65}'..='\u{FF9F}' // kana
        | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}') // CJK
}

/// Whether a character separates words.
fn separates(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{2010}'..='\u{205E}' // general punctuation: dashes, quotes, ellipsis...
            | '\u{3000}'..='\u{303F}' // CJK punctuation
            | '\u{104A}' | '\u{104B}' // Myanmar section marks
            | '\u{0E2F}' | '\u{0E5A}' | '\u{0E5B}' // Thai abbreviation and paragraph marks
            | '\u{17D4}'..='\u{17DA}' // Khmer punctuation
            | '\u{00A1}'..='\u{00BF}' // Latin-1 punctuation and symbols
        )
}

/// The words of a text, lowercased, in order (what a search query is split into).
pub fn words(text: &str) -> Vec<String> {
    text.split(separates)
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// What a text is found by: each word, and in a run of a script without spaces, the run
/// from each of its first [`MAX_RUN_STARTS`] letters; each cut to [`MAX_TERM_CHARS`].
pub fn indexed_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in words(text) {
        let starts: Vec<usize> = if w.chars().any(unspaced) {
            w.char_indices()
                .map(|(i, _)| i)
                .take(MAX_RUN_STARTS)
                .collect()
        } else {
            vec![0]
        };
        for s in starts {
            out.push(w[s..].chars().take(MAX_TERM_CHARS).collect());
        }
    }
    out
}

/// Whether indexed words (of [`indexed_words`]) include one starting with the query word
/// `w` (compared on its first [`MAX_TERM_CHARS`] characters, as the index holds them).
pub fn found_in(indexed: &[String], w: &str) -> bool {
    let w: String = w.chars().take(MAX_TERM_CHARS).collect();
    indexed.iter().any(|t| t.starts_with(&w))
}

/// The text a case is searched by: its site, and each party's requested remedy and
/// description.
pub fn text(state: &CaseState) -> String {
    let mut t = vec![
        state
            .parties
            .first()
            .map(|p| p.escalation.site.clone())
            .unwrap_or_default(),
    ];
    for p in &state.parties {
        t.push(p.escalation.requested_remedy.clone());
        t.push(p.escalation.description.clone());
    }
    t.join("\n")
}

/// The terms a case state is found by, each with its zero byte, sorted, once each.
pub fn of(state: &CaseState) -> Vec<Vec<u8>> {
    let mut terms = vec![status(state.status().code())];
    terms.extend(state.categories().into_iter().map(category));
    terms.extend(state.responders().map(|p| pair(&state.owner, &p)));
    terms.extend(indexed_words(&text(state)).iter().map(|w| word(w)));
    for t in &mut terms {
        t.push(0);
    }
    terms.sort();
    terms.dedup();
    terms
}

/// A case state's entries in [`LISTS`]: each of its terms (with its zero byte), with the
/// case's key.
pub fn entries(state: &CaseState) -> Vec<(Vec<u8>, opened::Key)> {
    let key = opened::key(state.opened_at, &state.case_ref);
    of(state).into_iter().map(|t| (t, key)).collect()
}

/// The keys of the cases holding a term that starts with `prefix`, sorted and without
/// repeats; None when more than `max` ids start with it.
pub fn keys(
    store: &Store,
    prefix: &[u8],
    max: usize,
) -> Result<Option<Vec<[u8; opened::KEY_LEN]>>, StoreError> {
    let Some(ids) = LISTS.ids_prefixed(store, prefix, max)? else {
        return Ok(None);
    };
    let mut keys: Vec<_> = ids.iter().filter_map(|id| opened::key_of(id)).collect();
    keys.sort_unstable();
    keys.dedup();
    Ok(Some(keys))
}

/// The distinct text terms (words, statuses, categories: never a byte below 2, unlike the
/// ids in pair terms) starting with `prefix`, without their zero byte and key, reading one
/// key per term; None when there are more than `max`.
pub fn distinct(
    store: &Store,
    prefix: &[u8],
    max: usize,
) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
    let mut out = Vec::new();
    let mut from = prefix.to_vec();
    while let Some(id) = store.first_id_from(&schema::TERMS, prefix, &from)? {
        let Some(end) = id.len().checked_sub(opened::KEY_LEN + 1) else {
            break;
        };
        if out.len() == max {
            return Ok(None);
        }
        let term = id[..end].to_vec();
        // Past every id of this term: its ids go on with a zero byte, and no term holds one.
        from = [term.as_slice(), &[1]].concat();
        out.push(term);
    }
    Ok(Some(out))
}

/// The cases `org` takes part in here, as owner or as a party escalated to, from the pair
/// terms alone (for the sync offered to an admitted member). Sorted by reference.
pub fn cases_with(store: &Store, org: &OrgId) -> Result<Vec<CaseRef>, StoreError> {
    let as_owner = [PAIRS, org.as_bytes()].concat();
    let mut found = keys(store, &as_owner, usize::MAX)?.unwrap_or_default();
    for term in escalated_to(store, org)? {
        found.extend(keys(store, &term, usize::MAX)?.unwrap_or_default());
    }
    let mut cases: Vec<CaseRef> = found.iter().map(opened::case_of).collect();
    // In the order the case records are stored: reading them one after another then walks
    // the records in order, where the index's order (by opening time) would jump about and
    // miss the engine's cache at nearly every read.
    cases.sort_unstable();
    cases.dedup();
    Ok(cases)
}

/// The lists (each a pair term and its zero byte) of the cases other owners here escalated
/// to `org`, one per owner. A case's state begins with its first escalation, so each case
/// has a pair term for each party; and the owners of a node's cases are few, so this reads
/// one id per owner (skipping the rest of its terms), not every case.
pub fn escalated_to(store: &Store, org: &OrgId) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    let mut from = PAIRS.to_vec();
    while let Some(id) = store.first_id_from(&schema::TERMS, PAIRS, &from)? {
        let Some(owner) = id
            .get(PAIRS.len()..PAIRS.len() + 32)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        else {
            return Err(StoreError::Corrupt(format!(
                "{}: a pair term of {} bytes",
                schema::TERMS.name(),
                id.len()
            )));
        };
        if owner != org.0 {
            let mut term = pair(&OrgId(owner), org);
            term.push(0);
            // Read one id to tell an owner that escalated to others only.
            if store.first_id_from(&schema::TERMS, &term, &term)?.is_some() {
                out.push(term);
            }
        }
        // Past every term of this owner: the next owner's first id, if there is one.
        let Some(next) = successor(owner) else {
            break;
        };
        from = [PAIRS, next.as_slice()].concat();
    }
    Ok(out)
}

/// The smallest id greater than every id starting with `id`, as many bytes long (None when
/// `id` is all 0xff).
fn successor(mut id: [u8; 32]) -> Option<[u8; 32]> {
    for b in id.iter_mut().rev() {
        if *b == 0xff {
            *b = 0;
        } else {
            *b += 1;
            return Some(id);
        }
    }
    None
}

/// Every case's status term with its key (for sorting by status).
pub fn statuses(store: &Store) -> Result<Vec<(String, [u8; opened::KEY_LEN])>, StoreError> {
    let Some(ids) = LISTS.ids_prefixed(store, ANY_STATUS, usize::MAX)? else {
        return Ok(Vec::new());
    };
    Ok(ids
        .iter()
        .filter_map(|id| {
            let key = opened::key_of(id)?;
            let term = id.get(ANY_STATUS.len()..id.len() - opened::KEY_LEN - 1)?;
            Some((String::from_utf8_lossy(term).into_owned(), key))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_has(text: &str, w: &str) -> bool {
        found_in(&indexed_words(text), w)
    }

    #[test]
    fn words_split_on_spaces_and_punctuation_and_unspaced_runs_are_found_inside() {
        assert_eq!(
            words("Site-12, Factory (B)"),
            ["site", "12", "factory", "b"]
        );
        // A Thai run: "ค่าจ้าง" (wages) inside "ไม่ได้รับค่าจ้าง" (not paid wages).
        let thai = "ไม่ได้รับค่าจ้าง";
        assert!(text_has(thai, "ค่าจ้าง"));
        assert!(text_has(thai, "ไม่ได้"));
        // Latin words match only from their start.
        assert!(text_has("the factory", "fact"));
        assert!(!text_has("the factory", "actory"));
        // Japanese: "賃金" (wages) inside "技能実習生の賃金未払い".
        assert!(text_has("技能実習生の賃金未払い", "賃金"));
        assert!(text_has("技能実習生の賃金未払い", "未払い"));
        // Control: a word that is not there.
        assert!(!text_has(thai, "passport"));
        let long = "a".repeat(50);
        assert!(
            text_has(&long, &"a".repeat(40)),
            "cut to the indexed length"
        );
    }

    /// The cases found for each organisation, from the pair terms, are those it takes part
    /// in, whatever the owners' ids (one all 0xff, one that carries when counted past).
    #[test]
    fn the_cases_an_organisation_takes_part_in_come_from_the_pair_terms() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::schema::open(&dir.path().join("db")).expect("store");
        let base = crate::aggregates::tests::states_of_one_case(2).remove(1);
        let org = |b: u8| OrgId([b; 32]);
        let mut carry = [0x20; 32];
        carry[31] = 0xff;
        let (o1, o2, o3, p, q) = (org(0x10), org(0xff), OrgId(carry), org(0x30), org(0x00));
        let shapes: [(OrgId, &[OrgId]); 6] = [
            (o1, &[p]),
            (o2, &[p]),
            (o3, &[q]),
            (o1, &[p, q]),
            (p, &[o1]),
            (OrgId([0x20; 32]), &[q]),
        ];
        let mut states = Vec::new();
        let mut pending = crate::aggregates::Pending::new();
        for (i, (owner, parties)) in shapes.iter().enumerate() {
            let mut s = base.clone();
            s.case_ref = CaseRef([i as u8 + 1; 16]);
            s.owner = *owner;
            let party = s.parties[0].clone();
            s.parties = parties
                .iter()
                .map(|o| {
                    let mut ps = party.clone();
                    ps.party = *o;
                    ps
                })
                .collect();
            pending.case(None, &s);
            states.push(s);
        }
        let mut batch = crate::store::WriteBatch::new();
        pending.stage(&store, &mut batch).expect("stage");
        store.commit(batch).expect("commit");
        for who in [o1, o2, o3, p, q, org(0x77)] {
            let mut want: Vec<CaseRef> = states
                .iter()
                .filter(|s| s.is_participant(&who))
                .map(|s| s.case_ref)
                .collect();
            want.sort();
            let mut got = cases_with(&store, &who).expect("read");
            got.sort();
            assert_eq!(got, want, "{who}");
        }
        assert_eq!(cases_with(&store, &q).expect("read").len(), 3, "control");
        assert_eq!(successor([0xff; 32]), None);
        assert_eq!(
            successor(carry),
            Some({
                let mut n = [0x20; 32];
                n[30] = 0x21;
                n[31] = 0;
                n
            })
        );
    }
}
