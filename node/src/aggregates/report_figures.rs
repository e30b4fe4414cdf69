//! At a brand, per supplier or agency and per facet (a category, a sector, a corridor), what
//! its scorecard counts of each of its reports that have the facet, packed in a few bytes
//! beside the report's key of its newest-first list (the escalation time inverted, then the
//! case): a copy of its list of the facet (`report_facets::list`, the same names) with
//! figures. A scorecard narrowed by some days and two or three facets joins these lists and
//! counts each report from the entry the join gives, reading neither its case (two thirds of
//! that read's time at a million reports, profiled: each case a seek of the engine's tree
//! and, mostly, a page read from its file) nor another list beside the join (one list of
//! every report of the party, read beside it, was 44 % of it at a million: every report of
//! the days read, one in 34 of them counted).
//!
//! A report's figures are the same on each of its lists (the join compares whole entries).
//! What is packed depends on the case's other reports (whether the case is closed, what
//! the report owes by when), so a report's entries are rewritten whenever its case changes:
//! one block of each of its facets' lists (one per category it names, its sector's, its
//! corridor's), with the others its case's change rewrites anyway.
//! An entry whose figures cannot be packed (two reports about the party in one case
//! escalated at once, which share a key; a category named twice; a corridor's code not of
//! two letters; a due day past what 32 bits count) says so, and its case is read.

use super::lists::Lists;
use super::report_facets::{self, Facet};
use super::reports::{self, KEY_LEN};
use super::{Cells, add, chain, report_days};
use crate::records::StatusReport;
use crate::schema;
use ilm_protocol::{IssueCategory, Month, Timestamp};
use std::collections::BTreeMap;

/// Bytes of packed figures after an entry's key.
pub const PACKED_LEN: usize = 1 + 4 + 2 + 2 + 4 + 4;

/// Bytes in an entry: a `reports::ListKey`, then its packed figures.
pub const ENTRY_LEN: usize = KEY_LEN + PACKED_LEN;

/// An entry: a report's key in its party's newest-first list, then its packed figures.
pub type Entry = [u8; ENTRY_LEN];

/// Per party and facet, a list of the figures of its reports that have the facet, newest
/// escalation first, named as its list of the facet's keys (`report_facets::list`).
pub const LISTS: Lists<ENTRY_LEN> = Lists::new(&schema::REPORT_FIGURES);

/// The figures are packed (else only this byte is set: read the case).
const PACKED: u8 = 0x80;
/// The case is not closed.
const OPEN: u8 = 0x01;
/// Remediation reported.
const REMEDIATED: u8 = 0x02;
/// Remediation reported and confirmed by workers.
const VERIFIED: u8 = 0x04;
/// Acknowledged (days to acknowledge follow).
const ACKNOWLEDGED: u8 = 0x08;
/// Owes something (the day of the earliest date follows).
const DUE: u8 = 0x10;
/// Has a corridor (its codes follow).
const CORRIDOR: u8 = 0x20;

/// A case's entries (`group`: its reports in id order), one per report and facet it has,
/// each in the list of its party and that facet (two reports about one party escalated at
/// once share their key, whose entries then hold no figures, on the lists of either's
/// facets: the same entries as its list of each facet holds the key).
pub(super) fn entries(group: &[StatusReport]) -> Vec<(Vec<u8>, Entry)> {
    let closed = chain::closed(group);
    group
        .iter()
        .zip(chain::owed_in(group))
        .flat_map(|(r, owed)| {
            let (_, key) = reports::newest_entry(r);
            let shared = group
                .iter()
                .filter(|o| o.supplier == r.supplier && o.escalated_at == r.escalated_at)
                .count()
                > 1;
            let due = owed.iter().map(|(_, due)| *due).min();
            let packed = if shared { None } else { pack(r, closed, due) };
            let mut entry = [0u8; ENTRY_LEN];
            entry[..KEY_LEN].copy_from_slice(&key);
            entry[KEY_LEN..].copy_from_slice(&packed.unwrap_or_default());
            Facet::of(r)
                .into_iter()
                .map(move |f| (report_facets::list(&r.supplier, &f), entry))
        })
        .collect()
}

/// The key an entry starts with (its report's in the newest-first list).
pub(super) fn key(entry: &Entry) -> reports::ListKey {
    let mut k = [0u8; KEY_LEN];
    k.copy_from_slice(&entry[..KEY_LEN]);
    k
}

/// A report's figures packed (`closed`: its case is; `due`: the earliest date it owes
/// something by), or None when they cannot be.
fn pack(r: &StatusReport, closed: bool, due: Option<Timestamp>) -> Option<[u8; PACKED_LEN]> {
    let mut out = [0u8; PACKED_LEN];
    let mut flags = PACKED;
    if !closed {
        flags |= OPEN;
    }
    if r.remediated_at.is_some() {
        flags |= REMEDIATED;
        if r.verified_at.is_some() {
            flags |= VERIFIED;
        }
    }
    let mut categories = 0u32;
    for c in &r.categories {
        let bit = 1u32.checked_shl(u32::try_from(category_index(*c)?).ok()?)?;
        if categories & bit != 0 {
            // Named twice: counted twice (as the cells count), which bits cannot say.
            return None;
        }
        categories |= bit;
    }
    out[1..5].copy_from_slice(&categories.to_be_bytes());
    if let Some(a) = r.acknowledged_at {
        flags |= ACKNOWLEDGED;
        let d = u16::try_from(super::days_between(r.escalated_at, a)).ok()?;
        out[5..7].copy_from_slice(&d.to_be_bytes());
    }
    if let Some(m) = r.remediated_at {
        let d = u16::try_from(super::days_between(r.escalated_at, m)).ok()?;
        out[7..9].copy_from_slice(&d.to_be_bytes());
    }
    if let Some(due) = due {
        flags |= DUE;
        let day = u32::try_from(report_days::day_of(due)).ok()?;
        out[9..13].copy_from_slice(&day.to_be_bytes());
    }
    if let Some((o, w)) = &r.corridor {
        let (o, w) = (o.as_str().as_bytes(), w.as_str().as_bytes());
        let letters = |c: &[u8]| c.len() == 2 && c.iter().all(u8::is_ascii_uppercase);
        if !letters(o) || !letters(w) {
            return None;
        }
        flags |= CORRIDOR;
        out[13..15].copy_from_slice(o);
        out[15..17].copy_from_slice(w);
    }
    out[0] = flags;
    Some(out)
}

/// A category's place in the codebook (its bit in a packed entry: the order is stored, and
/// pinned by a test).
fn category_index(c: IssueCategory) -> Option<usize> {
    IssueCategory::ALL.iter().position(|k| *k == c)
}

/// What the reports of packed entries count, gathered by value: each cell is named once
/// when the count is done ([`Counted::add_to`]), not once per report (naming cells was a
/// tenth of a narrowed scorecard's time, profiled, mostly the allocator's).
#[derive(Debug, Default)]
pub(super) struct Counted {
    cases: i64,
    remediated: i64,
    verified: i64,
    open: i64,
    /// Per category, by its place in the codebook.
    categories: [i64; 32],
    ack: BTreeMap<u16, i64>,
    rem: BTreeMap<u16, i64>,
    corridors: BTreeMap<[u8; 4], i64>,
    months: BTreeMap<Month, i64>,
    due: BTreeMap<u32, i64>,
}

impl Counted {
    /// Counts the report of `entry`; false (nothing counted) when its figures are not
    /// packed.
    pub(super) fn add(&mut self, entry: &Entry) -> bool {
        let p = &entry[KEY_LEN..];
        let flags = p[0];
        if flags & PACKED == 0 {
            return false;
        }
        let u16_at = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
        let u32_at = |i: usize| u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
        self.cases += 1;
        if flags & REMEDIATED != 0 {
            self.remediated += 1;
            if flags & VERIFIED != 0 {
                self.verified += 1;
            }
            *self.rem.entry(u16_at(7)).or_default() += 1;
        }
        let categories = u32_at(1);
        for (i, n) in self.categories.iter_mut().enumerate() {
            if (categories >> i) & 1 == 1 {
                *n += 1;
            }
        }
        if flags & ACKNOWLEDGED != 0 {
            *self.ack.entry(u16_at(5)).or_default() += 1;
        }
        if flags & CORRIDOR != 0 {
            let mut codes = [0u8; 4];
            codes.copy_from_slice(&p[13..17]);
            *self.corridors.entry(codes).or_default() += 1;
        }
        let month = Month::of(reports::escalated_of(&key(entry)));
        *self.months.entry(month).or_default() += 1;
        if flags & OPEN != 0 {
            self.open += 1;
        }
        if flags & DUE != 0 {
            *self.due.entry(u32_at(9)).or_default() += 1;
        }
        true
    }

    /// Adds to `c` what was counted, named as `report_facets::add_at` names its cells after
    /// their prefix.
    pub(super) fn add_to(&self, c: &mut Cells) {
        let mut named = |name: String, n: i64| {
            if n != 0 {
                add(c, name, n);
            }
        };
        named("cases".into(), self.cases);
        named("remediated".into(), self.remediated);
        named("verified".into(), self.verified);
        named("open".into(), self.open);
        for (cat, n) in IssueCategory::ALL.iter().zip(self.categories) {
            named(format!("category.{}", cat.code()), n);
        }
        for (d, n) in &self.ack {
            named(format!("ack.{d:03}"), *n);
        }
        for (d, n) in &self.rem {
            named(format!("rem.{d:03}"), *n);
        }
        for (codes, n) in &self.corridors {
            let code = |i: usize| char::from(codes[i]);
            let corridor: String = [code(0), code(1), '-', code(2), code(3)].iter().collect();
            named(format!("corridor.{corridor}"), *n);
        }
        for (m, n) in &self.months {
            named(format!("month.{m}"), *n);
        }
        for (day, n) in &self.due {
            named(format!("due.{day:015}"), *n);
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
