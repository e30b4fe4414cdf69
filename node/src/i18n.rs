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
    /// Loads the embedded resources; missing messages fall back to English.
    pub fn load() -> Result<I18n, String> {
        let mut tables = HashMap::new();
        let en_src = ilm_admin_ui::LOCALES
            .iter()
            .find(|(c, _)| *c == "en")
            .map(|(_, s)| *s)
            .ok_or("no English translation")?;
        let en = load("en", en_src)?;
        for (code, src) in ilm_admin_ui::LOCALES {
            let mut table = en.clone();
            table.extend(load(code, src)?);
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
