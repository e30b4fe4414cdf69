//! What templates use to show values to people: translated labels for codes, dates, money,
//! member names and short hashes. Registered on the template environment, so no page prints a
//! raw code or a timestamp.

use minijinja::value::Value;
use minijinja::{Environment, State};

/// Adds the helpers to a template environment.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("label", label);
    env.add_function("name", name);
    env.add_filter("day", day);
    env.add_filter("money", money);
    env.add_filter("short", short);
}

/// The translation of `prefix_code` in the page's language (`t`), or the code itself when the
/// catalogue has none (a test walks every page for raw codes).
fn label(state: &State, prefix: &str, code: &Value) -> String {
    let code = code
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string());
    let key = format!("{prefix}_{code}");
    state
        .lookup("t")
        .and_then(|t| t.get_attr(&key).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or(code)
}

/// A member's name from the page's `names` map (org id to name), or the start of the id.
fn name(state: &State, org: &Value) -> String {
    let id = org.as_str().unwrap_or_default().to_string();
    state
        .lookup("names")
        .and_then(|n| n.get_attr(&id).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{}…", id.chars().take(12).collect::<String>()))
}

/// A timestamp (seconds) as a day, YYYY-MM-DD; empty for none.
fn day(ts: Value) -> String {
    match ts.as_i64() {
        Some(s) if s >= 0 => crate::clock::fmt_day(ilm_protocol::Timestamp(s as u64)),
        _ => String::new(),
    }
}

/// ISO 4217 exponents other than 2 (the same table as the page script's `parseMoney`).
fn exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "PYG" | "XOF" | "XAF" => 0,
        "KWD" | "BHD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        _ => 2,
    }
}

/// An amount `{minor_units, currency}` as "1,500.00 THB".
fn money(m: Value) -> String {
    let minor = m
        .get_attr("minor_units")
        .ok()
        .and_then(|v| v.as_i64())
        .unwrap_or(0)
        .max(0) as u64;
    let currency = m
        .get_attr("currency")
        .ok()
        .map(|v| v.to_string())
        .unwrap_or_default();
    format_money(minor, &currency)
}

/// Formats an amount in minor units with thousands separators.
pub fn format_money(minor: u64, currency: &str) -> String {
    let group = |n: u64| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    match exponent(currency) {
        0 => format!("{} {currency}", group(minor)),
        e => {
            let unit = 10u64.pow(e);
            format!(
                "{}.{:0width$} {currency}",
                group(minor / unit),
                minor % unit,
                width = e as usize
            )
        }
    }
}

/// The first 12 characters of a hash or id.
fn short(s: Value) -> String {
    let s = s
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| s.to_string());
    s.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_like_money() {
        assert_eq!(format_money(150_000, "THB"), "1,500.00 THB");
        assert_eq!(format_money(5, "USD"), "0.05 USD");
        assert_eq!(format_money(1_234_567, "JPY"), "1,234,567 JPY");
        assert_eq!(format_money(1_500_250, "KWD"), "1,500.250 KWD");
    }

    #[test]
    fn templates_translate_codes_and_fall_back_to_them() {
        let mut env = Environment::new();
        register(&mut env);
        env.add_template(
            "t",
            "{{ label('status', s) }}|{{ label('status', 'nope') }}|{{ name(o) }}|{{ ts | day }}",
        )
        .expect("template");
        let out = env
            .get_template("t")
            .expect("get")
            .render(minijinja::context! {
                t => minijinja::context! { status_escalated => "ส่งต่อแล้ว" },
                names => minijinja::context! { abc => "Garment Factory" },
                s => "escalated", o => "abc", ts => 86_400,
            })
            .expect("render");
        assert_eq!(out, "ส่งต่อแล้ว|nope|Garment Factory|1970-01-02");
    }
}
