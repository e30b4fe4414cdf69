//! Server-rendered SVG charts (no JavaScript, no CDN): horizontal bars for categories and a
//! month series with axes, units and the current (partial) month marked. Every chart also
//! has a data table (rendered by the template) for screen readers and exact figures.

use serde::Serialize;

/// One labelled value of a chart.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The label, already translated.
    pub label: String,
    /// The count.
    pub value: u64,
    /// Whether the period is still running (the current month).
    pub partial: bool,
}

/// A chart ready to draw: translated title, unit and labels.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// Stable key (for tests and anchors).
    pub key: String,
    /// Title.
    pub title: String,
    /// What the values count ("contacts", "cases").
    pub unit: String,
    /// The values, in display order.
    pub rows: Vec<Row>,
    /// A month series (vertical bars over time) rather than categories.
    pub time: bool,
    /// The legend for a partial period, when one is shown.
    pub partial_note: String,
    /// Events drawn over a month series (improvement-plan activities), numbered from 1.
    pub markers: Vec<Marker>,
}

/// An event marked on a month series: a numbered line at its month.
#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    /// The row (month) it falls in.
    pub row: usize,
    /// Its number in the list shown with the chart.
    pub number: usize,
    /// What it was (another organisation's words, shown as written).
    pub label: String,
    /// Done (solid line) or only planned (dashed).
    pub done: bool,
}

/// Escapes text for SVG/HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round axis maximum at or above `max` (1, 2 or 5 times a power of ten).
fn nice_max(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// The chart as SVG.
pub fn svg(c: &Chart) -> String {
    if c.time { months(c) } else { bars(c) }
}

/// Horizontal bars: each label on its own line above its bar (never cut), the count at the
/// bar's end, and a value axis with its unit.
fn bars(c: &Chart) -> String {
    let top = nice_max(c.rows.iter().map(|r| r.value).max().unwrap_or(0));
    let (left, width, row) = (4.0, 360.0, 34.0);
    let height = c.rows.len().max(1) as f64 * row + 34.0;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 440 {height}" role="img" aria-label="{}">"#,
        esc(&c.title)
    );
    if c.rows.is_empty() {
        s.push_str(r#"<text x="4" y="18">—</text>"#);
    }
    for (i, r) in c.rows.iter().enumerate() {
        let y = i as f64 * row;
        let w = (r.value as f64 / top as f64 * width).max(if r.value > 0 { 1.0 } else { 0.0 });
        s.push_str(&format!(
            r#"<text x="{left}" y="{}">{}</text><rect x="{left}" y="{}" width="{w:.1}" height="12" rx="2"></rect><text x="{:.1}" y="{}" class="value">{}</text>"#,
            y + 12.0,
            esc(&r.label),
            y + 16.0,
            left + w + 4.0,
            y + 26.0,
            r.value
        ));
    }
    let axis_y = c.rows.len().max(1) as f64 * row + 6.0;
    s.push_str(&format!(
        r#"<line x1="{left}" y1="{axis_y}" x2="{}" y2="{axis_y}" class="axis"></line><text x="{left}" y="{}" class="tick">0</text><text x="{}" y="{}" class="tick" text-anchor="end">{top} {}</text>"#,
        left + width,
        axis_y + 14.0,
        left + width,
        axis_y + 14.0,
        esc(&c.unit)
    ));
    s.push_str("</svg>");
    s
}

/// A month series: vertical bars, a value axis with ticks and unit, month labels, and the
/// partial month drawn lighter with a legend.
fn months(c: &Chart) -> String {
    let top = nice_max(c.rows.iter().map(|r| r.value).max().unwrap_or(0));
    let (left, plot_w, plot_h, base) = (40.0, 390.0, 150.0, 170.0);
    let n = c.rows.len().max(1) as f64;
    let slot = plot_w / n;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 440 230" role="img" aria-label="{}">"#,
        esc(&c.title)
    );
    for k in 0..=2u64 {
        let v = top * k / 2;
        let y = base - plot_h * k as f64 / 2.0;
        s.push_str(&format!(
            r#"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" class="grid"></line><text x="{}" y="{}" class="tick" text-anchor="end">{v}</text>"#,
            left + plot_w,
            left - 4.0,
            y + 4.0
        ));
    }
    s.push_str(&format!(
        r#"<text x="4" y="12" class="tick">{}</text>"#,
        esc(&c.unit)
    ));
    for (i, r) in c.rows.iter().enumerate() {
        let h = r.value as f64 / top as f64 * plot_h;
        let x = left + i as f64 * slot + slot * 0.15;
        let class = if r.partial { r#" class="partial""# } else { "" };
        s.push_str(&format!(
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"{class}><title>{}: {}</title></rect>"#,
            base - h,
            slot * 0.7,
            esc(&r.label),
            r.value
        ));
        // Every other month's label when there are many, so labels never overlap.
        if c.rows.len() <= 12 || i % 2 == 0 || i + 1 == c.rows.len() {
            s.push_str(&format!(
                r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}{}</text>"#,
                x + slot * 0.35,
                base + 14.0,
                esc(&r.label),
                if r.partial { "*" } else { "" }
            ));
        }
    }
    let mut in_month: std::collections::HashMap<usize, usize> = Default::default();
    for m in &c.markers {
        let Some(_) = c.rows.get(m.row) else { continue };
        // Markers of one month side by side, not on top of each other.
        let nth = in_month.entry(m.row).or_default();
        let x = left + (m.row as f64 + 0.5) * slot + *nth as f64 * 15.0;
        *nth += 1;
        let top_y = base - plot_h - 6.0;
        let class = if m.done { "marker" } else { "marker planned" };
        s.push_str(&format!(
            r#"<g class="{class}"><title translate="no">{n}. {label}</title><line x1="{x:.1}" y1="{top_y}" x2="{x:.1}" y2="{base}"></line><circle cx="{x:.1}" cy="{top_y}" r="7"></circle><text x="{x:.1}" y="{}" text-anchor="middle">{n}</text></g>"#,
            top_y + 3.5,
            n = m.number,
            label = esc(&m.label),
        ));
    }
    if c.rows.iter().any(|r| r.partial) {
        s.push_str(&format!(
            r#"<rect x="{left}" y="206" width="10" height="10" class="partial"></rect><text x="{}" y="215" class="tick">* {}</text>"#,
            left + 14.0,
            esc(&c.partial_note)
        ));
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(time: bool, rows: &[(&str, u64, bool)]) -> Chart {
        Chart {
            key: "k".into(),
            title: "T<".into(),
            unit: "contacts".into(),
            rows: rows
                .iter()
                .map(|(l, v, p)| Row {
                    label: l.to_string(),
                    value: *v,
                    partial: *p,
                })
                .collect(),
            time,
            partial_note: "month in progress".into(),
            markers: vec![],
        }
    }

    #[test]
    fn markers_are_numbered_lines_at_their_month() {
        let mut c = chart(true, &[("2026-10", 7, false), ("2026-11", 3, false)]);
        c.markers = vec![
            Marker {
                row: 1,
                number: 1,
                label: "Employer <Pays>".into(),
                done: true,
            },
            Marker {
                row: 9,
                number: 2,
                label: "out of range".into(),
                done: false,
            },
        ];
        let s = svg(&c);
        assert_eq!(s.matches("<g class=\"marker\">").count(), 1, "{s}");
        assert!(
            s.contains("<title translate=\"no\">1. Employer &lt;Pays&gt;</title>"),
            "{s}"
        );
        assert!(!s.contains("out of range"));
    }

    #[test]
    fn bars_keep_whole_labels_and_show_the_unit() {
        let long = "Abusive working and living conditions";
        let s = svg(&chart(
            false,
            &[(long, 3), ("a&b", 1)].map(|(l, v)| (l, v, false)),
        ));
        assert!(s.starts_with("<svg class=\"chart\"") && s.contains("T&lt;"));
        assert!(s.contains(long), "label cut");
        assert!(s.contains("a&amp;b"));
        assert!(
            s.contains(">5 contacts<"),
            "axis maximum with its unit: {s}"
        );
    }

    #[test]
    fn the_month_series_has_axes_and_marks_the_partial_month() {
        let s = svg(&chart(
            true,
            &[
                ("2026-10", 7, false),
                ("2026-11", 12, false),
                ("2026-12", 2, true),
            ],
        ));
        assert!(s.contains(">contacts<"), "unit");
        assert!(
            s.contains(">20<") && s.contains(">10<") && s.contains(">0<"),
            "ticks: {s}"
        );
        assert!(s.contains("2026-12*") && s.contains("month in progress"));
        assert_eq!(s.matches("class=\"partial\"").count(), 2, "bar and legend");
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(51), 100);
    }
}
