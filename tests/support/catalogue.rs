//! The UI's message catalogues, read the simple way the files are written (`key = value`,
//! one per line), for tests that check a page holds no untranslated text.

#![allow(dead_code)] // each test binary uses part of it

use std::collections::BTreeMap;

/// Every message of one language: key to text.
pub fn messages(lang: &str) -> BTreeMap<String, String> {
    let files = ilm_admin_ui::LOCALES
        .iter()
        .find(|(l, _)| *l == lang)
        .unwrap_or_else(|| panic!("no catalogue for {lang}"))
        .1;
    files
        .iter()
        .flat_map(|f| f.lines())
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// English texts that must not appear on a page in `lang`: those the language translates
/// differently, long enough not to be a word that data could hold by chance (two words or
/// more, or one of six letters or more).
pub fn english_left_out(lang: &str) -> Vec<String> {
    let en = messages("en");
    let other = messages(lang);
    let mut out: Vec<String> = en
        .iter()
        .filter(|(k, v)| other.get(*k).is_some_and(|o| o != *v))
        .map(|(_, v)| v.clone())
        .filter(|v| v.contains(' ') || v.chars().filter(char::is_ascii_alphabetic).count() >= 6)
        .filter(|v| v.chars().any(|c| c.is_ascii_alphabetic()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The codes the catalogue labels (`status_escalated` gives `escalated`): none may show
/// raw on a translated page.
pub fn codes() -> Vec<String> {
    let prefixes = [
        "status_",
        "event_",
        "cat_",
        "verdict_",
        "owed_",
        "channel_",
        "gender_",
        "age_",
        "sector_",
        "role_",
        "oprole_",
        "delivery_",
    ];
    let mut out: Vec<String> = messages("en")
        .keys()
        .filter_map(|k| prefixes.iter().find_map(|p| k.strip_prefix(p)))
        .filter(|c| c.contains('_'))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}
