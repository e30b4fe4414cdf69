//! UI translations from the Fluent resource files in admin-ui/locales.

use fluent_bundle::{FluentBundle, FluentResource};
use std::collections::HashMap;

/// Languages the UI offers: code and own name.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("en", "English"),
    ("th", "ไทย"),
    ("my", "မြန်မာ"),
    ("ja", "日本語"),
];

/// Every message of every language, formatted once at start.
pub struct I18n {
    tables: HashMap<String, HashMap<String, String>>,
}

fn load(code: &str, source: &str) -> Result<HashMap<String, String>, String> {
    let resource = FluentResource::try_new(source.to_string())
        .map_err(|(_, errs)| format!("{code}.ftl: {} syntax error(s)", errs.len()))?;
    let lang: unic_langid::LanguageIdentifier = code
        .parse()
        .map_err(|_| format!("bad language code {code}"))?;
    let ids: Vec<String> = resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect();
    let mut bundle = FluentBundle::new(vec![lang]);
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .map_err(|e| format!("{code}.ftl: {} duplicate message(s)", e.len()))?;
    let mut out = HashMap::new();
    for id in ids {
        let Some(msg) = bundle.get_message(&id) else {
            continue;
        };
        let Some(pattern) = msg.value() else { continue };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, None, &mut errors);
        out.insert(id, text.into_owned());
    }
    Ok(out)
}

impl I18n {
    /// Loads the admin UI's embedded resources; missing messages fall back to English.
    pub fn load() -> Result<I18n, String> {
        I18n::load_from(ilm_admin_ui::LOCALES)
    }

    /// Loads a set of embedded resources (language code, files); missing messages fall back
    /// to English.
    pub fn load_from(locales: &[(&str, &[&str])]) -> Result<I18n, String> {
        let mut tables = HashMap::new();
        let en_src = locales
            .iter()
            .find(|(c, _)| *c == "en")
            .map(|(_, files)| files.join("\n"))
            .ok_or("no English translation")?;
        let en = load("en", &en_src)?;
        for (code, files) in locales {
            let mut table = en.clone();
            table.extend(load(code, &files.join("\n"))?);
            tables.insert(code.to_string(), table);
        }
        Ok(I18n { tables })
    }

    /// The messages of a language (English for unknown codes).
    pub fn table(&self, lang: &str) -> &HashMap<String, String> {
        self.tables
            .get(lang)
            .or_else(|| self.tables.get("en"))
            .unwrap_or_else(|| {
                // Unreachable: load() always inserts "en"; an empty table keeps pages rendering.
                static EMPTY: std::sync::OnceLock<HashMap<String, String>> =
                    std::sync::OnceLock::new();
                EMPTY.get_or_init(HashMap::new)
            })
    }

    /// Whether a language is offered.
    pub fn has(&self, lang: &str) -> bool {
        self.tables.contains_key(lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn code<T: Serialize>(v: T) -> String {
        serde_json::to_value(v)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn keys(code: &str) -> Vec<String> {
        let files = ilm_admin_ui::LOCALES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, f)| f.join("\n"))
            .unwrap_or_default();
        load(code, &files).expect("parses").into_keys().collect()
    }

    /// Every language has every message, so no page falls back to English.
    #[test]
    fn every_language_translates_every_message() {
        let en = keys("en");
        assert!(en.len() > 200, "only {} English messages", en.len());
        for (lang, _) in LANGUAGES {
            let have = keys(lang);
            let missing: Vec<&String> = en.iter().filter(|k| !have.contains(k)).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
    }

    /// Every portal language has every portal message and every label the portal's forms
    /// and status page show, itself (no English fallback). Control: English has them all
    /// and a made-up key is missing.
    #[test]
    fn every_portal_language_translates_every_portal_message() {
        use crate::portal::thread::WorkerStatus;
        let own = |code: &str| {
            let files = ilm_admin_ui::PORTAL_LOCALES
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, f)| f.join("\n"))
                .unwrap_or_else(|| panic!("no portal locale {code}"));
            load(code, &files).expect("parses")
        };
        let en_portal = ilm_admin_ui::PORTAL_LOCALES
            .iter()
            .find(|(c, _)| *c == "en")
            .map(|(_, f)| f[0])
            .expect("English portal messages");
        let mut wanted: Vec<String> = load("en", en_portal).expect("parses").into_keys().collect();
        assert!(wanted.len() > 80, "only {} portal messages", wanted.len());
        wanted.extend(WorkerStatus::ALL.iter().map(|s| s.key()));
        wanted.extend(crate::intake::SECTORS.iter().map(|s| format!("sector_{s}")));
        wanted.extend(
            crate::intake::COUNTRIES
                .iter()
                .map(|c| format!("country_{c}")),
        );
        for g in ["female", "male", "other", "undisclosed"] {
            wanted.push(format!("gender_{g}"));
        }
        for a in ["under_18", "18_24", "25_34", "35_44", "45_plus", "unknown"] {
            wanted.push(format!("age_{a}"));
        }
        for (lang, _) in crate::portal::LANGUAGES {
            let have = own(lang);
            let missing: Vec<&String> = wanted.iter().filter(|k| !have.contains_key(*k)).collect();
            assert!(missing.is_empty(), "portal {lang} lacks {missing:?}");
            // Control: the same check names a key the language does not have.
            let made_up = ["made_up_key".to_string()];
            assert_eq!(made_up.iter().filter(|k| !have.contains_key(*k)).count(), 1);
        }
        assert_eq!(
            crate::portal::LANGUAGES.len(),
            ilm_admin_ui::PORTAL_LOCALES.len()
        );
    }

    /// Every code a page can show has a label (the positive control: a made-up code has none).
    #[test]
    fn every_code_has_a_label() {
        use crate::intake::{AgeBand, Channel, Gender};
        use crate::records::{DeliveryState, OperatorRole};
        use ilm_protocol::*;
        let en = I18n::load().expect("load");
        let t = en.table("en");
        let mut wanted: Vec<String> = vec!["status_open".into()];
        wanted.extend(
            CaseStatus::ALL
                .iter()
                .map(|s| format!("status_{}", s.code())),
        );
        wanted.extend(EventKind::ALL.iter().map(|k| format!("event_{}", code(k))));
        wanted.extend(
            IssueCategory::ALL
                .iter()
                .map(|c| format!("cat_{}", code(c))),
        );
        wanted.extend(Role::ALL.iter().map(|r| format!("role_{}", code(r))));
        for v in [
            Verdict::Resolved,
            Verdict::PartlyResolved,
            Verdict::NotResolved,
        ] {
            wanted.push(format!("verdict_{}", code(v)));
        }
        for o in [Owed::Acknowledgement, Owed::Remediation] {
            wanted.push(format!("owed_{}", code(o)));
        }
        for r in [
            OperatorRole::Admin,
            OperatorRole::Caseworker,
            OperatorRole::Intake,
            OperatorRole::Readonly,
        ] {
            wanted.push(format!("oprole_{}", code(r)));
        }
        for c in [
            Channel::PhoneCall,
            Channel::Line,
            Channel::Facebook,
            Channel::Viber,
            Channel::WorkerApp,
            Channel::Portal,
            Channel::InPerson,
            Channel::Other,
        ] {
            wanted.push(format!("channel_{}", code(c)));
        }
        for g in [
            Gender::Female,
            Gender::Male,
            Gender::Other,
            Gender::Undisclosed,
        ] {
            wanted.push(format!("gender_{}", code(g)));
        }
        for a in [
            AgeBand::Under18,
            AgeBand::From18To24,
            AgeBand::From25To34,
            AgeBand::From35To44,
            AgeBand::From45,
            AgeBand::Unknown,
        ] {
            wanted.push(format!("age_{}", code(a)));
        }
        wanted.extend(
            crate::intake::COUNTRIES
                .iter()
                .map(|c| format!("country_{c}")),
        );
        wanted.extend(
            crate::intake::SPOKEN_LANGUAGES
                .iter()
                .map(|l| format!("lang_{l}")),
        );
        wanted.extend(crate::intake::SECTORS.iter().map(|s| format!("sector_{s}")));
        for d in [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Rejected,
        ] {
            wanted.push(format!("delivery_{}", code(d)));
        }
        for m in [
            MessageKind::CaseEvent,
            MessageKind::SupplyChainLink,
            MessageKind::Attestation,
            MessageKind::ConsentedDisclosure,
            MessageKind::HistorySync,
            MessageKind::StatusReport,
            MessageKind::PublishedStatistics,
            MessageKind::ImprovementActivity,
            MessageKind::JobListing,
            MessageKind::RatingSummary,
            MessageKind::RatingAnswer,
            MessageKind::BrokerAlert,
            MessageKind::AlertProposal,
        ] {
            wanted.push(format!("msg_{}", code(m)));
        }
        for a in ilm_protocol::ActivityKind::ALL {
            wanted.push(format!("act_{}", code(a)));
        }
        for l in [LinkKind::BrandSupplier, LinkKind::SupplierAgency] {
            wanted.push(format!("link_{}", code(l)));
        }
        let missing: Vec<&String> = wanted.iter().filter(|k| !t.contains_key(*k)).collect();
        assert!(missing.is_empty(), "no label for {missing:?}");
        assert!(!t.contains_key("status_made_up"));
    }
}
