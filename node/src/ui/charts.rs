//! Dashboard figures and server-rendered SVG bar charts (no JavaScript, no CDN).

use crate::cases;
use crate::intake::{Contact, LocalCase};
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{Timestamp, Verdict};
use std::collections::BTreeMap;

/// Escapes text for SVG/HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of labelled counts.
pub fn bar_chart(title: &str, data: &[(String, u64)]) -> String {
    let max = data.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let row = 22;
    let height = (data.len().max(1) * row + 10) as u32;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 420 {height}" role="img" aria-label="{}">"#,
        esc(title)
    );
    if data.is_empty() {
        svg.push_str(r#"<text x="4" y="16">—</text>"#);
    }
    for (i, (label, n)) in data.iter().enumerate() {
        let y = i * row + 4;
        let w = (*n as f64 / max as f64 * 220.0).round() as u64;
        svg.push_str(&format!(
            r#"<text x="0" y="{}">{}</text><rect x="150" y="{}" width="{w}" height="15" rx="2"></rect><text x="{}" y="{}">{n}</text>"#,
            y + 12,
            esc(&label.chars().take(24).collect::<String>()),
            y,
            155 + w,
            y + 12
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The dashboard's numbers.
pub struct Figures {
    /// Contacts per month (YYYY-MM), oldest first.
    pub by_month: Vec<(String, u64)>,
    /// Issues by category.
    pub by_category: Vec<(String, u64)>,
    /// Contacts by corridor.
    pub by_corridor: Vec<(String, u64)>,
    /// Contacts by channel.
    pub by_channel: Vec<(String, u64)>,
    /// Contacts by language.
    pub by_language: Vec<(String, u64)>,
    /// Cases by status.
    pub by_status: Vec<(String, u64)>,
    /// Contacts in total.
    pub contacts: u64,
    /// Cases whose workers' latest verdict is resolved or partly resolved (closed or not).
    pub remediated: u64,
    /// Median days escalation → acknowledgement.
    pub median_ack_days: Option<f64>,
    /// Median days escalation → remediation reported.
    pub median_remediation_days: Option<f64>,
    /// Share of reported remediations the workers verified (resolved or partly), percent.
    pub verified_share: Option<u64>,
}

fn month_of(t: Timestamp) -> String {
    // Civil date from days since the epoch (proleptic Gregorian).
    let days = (t.0 / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}")
}

fn sorted(map: BTreeMap<String, u64>, top: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(top);
    v
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    })
}

/// Computes the dashboard figures from what this node holds.
pub fn figures(store: &Store, _now: Timestamp) -> Result<Figures, StoreError> {
    let contacts: Vec<Contact> = store.scan(&schema::CONTACTS, &[])?;
    let mut by_month = BTreeMap::new();
    let mut by_corridor = BTreeMap::new();
    let mut by_channel = BTreeMap::new();
    let mut by_language = BTreeMap::new();
    for c in &contacts {
        *by_month.entry(month_of(c.received_at)).or_insert(0) += 1;
        *by_corridor
            .entry(format!("{}→{}", c.origin, c.destination))
            .or_insert(0) += 1;
        *by_channel
            .entry(
                serde_json::to_value(c.channel)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
            )
            .or_insert(0) += 1;
        *by_language.entry(c.language.clone()).or_insert(0) += 1;
    }
    let mut by_category = BTreeMap::new();
    let local: Vec<LocalCase> = store.scan(&schema::LOCAL_CASES, &[])?;
    for l in &local {
        for i in &l.issues {
            *by_category
                .entry(i.category.label().to_string())
                .or_insert(0) += 1;
        }
    }
    let mut by_status = BTreeMap::new();
    let mut remediated = 0;
    let (mut ack_days, mut rem_days) = (Vec::new(), Vec::new());
    let (mut reported, mut verified) = (0u64, 0u64);
    for state in cases::states(store)? {
        let state = &state;
        let status = state.status();
        let confirmed = state
            .parties
            .iter()
            .any(|p| matches!(p.verdict, Some(Verdict::Resolved | Verdict::PartlyResolved)));
        if confirmed {
            remediated += 1;
        }
        *by_status.entry(status.code().to_string()).or_insert(0) += 1;
        if local.is_empty() {
            for c in state.categories() {
                *by_category.entry(c.label().to_string()).or_insert(0) += 1;
            }
        }
        for p in &state.parties {
            if let Some(a) = p.acknowledged_at {
                ack_days.push(a.0.saturating_sub(p.escalated_at.0) as f64 / 86_400.0);
            }
            if let Some(r) = p.reported_at {
                rem_days.push(r.0.saturating_sub(p.first_escalated_at.0) as f64 / 86_400.0);
            }
        }
        if state.parties.iter().any(|p| p.reported_at.is_some()) {
            reported += 1;
            let confirmed = state
                .parties
                .iter()
                .any(|p| matches!(p.verdict, Some(Verdict::Resolved | Verdict::PartlyResolved)));
            if confirmed {
                verified += 1;
            }
        }
    }
    Ok(Figures {
        by_month: by_month
            .into_iter()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
        by_category: sorted(by_category, 10),
        by_corridor: sorted(by_corridor, 8),
        by_channel: sorted(by_channel, 8),
        by_language: sorted(by_language, 8),
        by_status: sorted(by_status, 12),
        contacts: contacts.len() as u64,
        remediated,
        median_ack_days: median(ack_days),
        median_remediation_days: median(rem_days),
        verified_share: (reported > 0).then(|| verified.min(reported) * 100 / reported),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_charts() {
        assert_eq!(month_of(Timestamp(0)), "1970-01");
        assert_eq!(month_of(Timestamp(1_796_000_000)), "2026-11");
        let svg = bar_chart("T<", &[("a&b".into(), 3), ("c".into(), 1)]);
        assert!(svg.starts_with("<svg class=\"chart\""));
        assert!(svg.contains("a&amp;b") && svg.contains("T&lt;"));
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
    }
}
