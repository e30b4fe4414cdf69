//! The words a contact's coded values are searched by: their labels in English and in the
//! operator's language. A search asks once per set of values it meets
//! ([`super::search::Search`]), not once per contact.

use super::ContactSummary;
use std::collections::HashMap;

/// A label table: message key to text.
type Table = HashMap<String, String>;

/// The labels of `c`'s values (channel, language, nationality, origin, destination, sector)
/// in both tables, one per line.
pub fn labelled(en: &Table, own: &Table, c: &ContactSummary) -> String {
    let channel = serde_json::to_value(c.channel)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let keys = [
        format!("channel_{channel}"),
        format!("lang_{}", c.language),
        format!("country_{}", c.nationality),
        format!("country_{}", c.origin),
        format!("country_{}", c.destination),
        format!("sector_{}", c.sector),
    ];
    keys.iter()
        .flat_map(|k| [en.get(k), own.get(k)])
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::Channel;

    #[test]
    fn values_are_labelled_in_english_and_the_operators_language() {
        let i18n = crate::i18n::I18n::load().expect("locales");
        let c = ContactSummary {
            id: crate::intake::ContactId([1; 16]),
            received_at: ilm_protocol::Timestamp(1),
            channel: Channel::Line,
            language: "my".into(),
            nationality: "MM".parse().expect("country"),
            sector: "seafood".into(),
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            case_ref: None,
        };
        let text = labelled(i18n.table("en"), i18n.table("th"), &c);
        for label in [
            "LINE",
            "Burmese",
            "Myanmar",
            "Seafood processing",
            "เมียนมา",
            "พม่า",
        ] {
            assert!(text.contains(label), "{label} in {text}");
        }
    }
}
