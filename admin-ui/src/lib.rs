//! The admin web UI's assets, embedded at build time so a node needs no separate install
//! and no network access to serve its UI.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Page templates (MiniJinja syntax, HTML auto-escaped), by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "dashboard.html",
        include_str!("../templates/dashboard.html"),
    ),
    ("cases.html", include_str!("../templates/cases.html")),
    ("case.html", include_str!("../templates/case.html")),
    ("intake.html", include_str!("../templates/intake.html")),
    ("contacts.html", include_str!("../templates/contacts.html")),
    ("members.html", include_str!("../templates/members.html")),
    (
        "report_case.html",
        include_str!("../templates/report_case.html"),
    ),
    ("_pager.html", include_str!("../templates/_pager.html")),
    (
        "_attestation.html",
        include_str!("../templates/_attestation.html"),
    ),
    ("inbox.html", include_str!("../templates/inbox.html")),
    (
        "supply_chain.html",
        include_str!("../templates/supply_chain.html"),
    ),
    ("network.html", include_str!("../templates/network.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "statistics.html",
        include_str!("../templates/statistics.html"),
    ),
    (
        "_statistics.html",
        include_str!("../templates/_statistics.html"),
    ),
    ("public.html", include_str!("../templates/public.html")),
    (
        "_benchmark.html",
        include_str!("../templates/_benchmark.html"),
    ),
    (
        "improvements.html",
        include_str!("../templates/improvements.html"),
    ),
    ("portal.html", include_str!("../templates/portal.html")),
    ("jobs.html", include_str!("../templates/jobs.html")),
    ("ratings.html", include_str!("../templates/ratings.html")),
];

/// Translations (Fluent), by language code: the UI's messages, then the labels of codes
/// (statuses, event types, categories, roles...).
pub const LOCALES: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            include_str!("../locales/en/ui.ftl"),
            include_str!("../locales/en/labels.ftl"),
        ],
    ),
    (
        "th",
        &[
            include_str!("../locales/th/ui.ftl"),
            include_str!("../locales/th/labels.ftl"),
        ],
    ),
    (
        "my",
        &[
            include_str!("../locales/my/ui.ftl"),
            include_str!("../locales/my/labels.ftl"),
        ],
    ),
    (
        "ja",
        &[
            include_str!("../locales/ja/ui.ftl"),
            include_str!("../locales/ja/labels.ftl"),
        ],
    ),
];

/// The style sheet.
pub const STYLE_CSS: &str = include_str!("../static/style.css");

/// Progressive enhancement: forms that talk to the JSON API.
pub const APP_JS: &str = include_str!("../static/app.js");

/// Fonts the UI and the workers' portal serve themselves (the Thai, Myanmar, Khmer, Lao and
/// Devanagari script subsets of Noto Sans, OFL 1.1), and their licences, by file name under
/// `/static/fonts/`.
pub const FONTS: &[(&str, &[u8])] = &[
    (
        "noto-sans-thai-400.woff2",
        include_bytes!("../static/fonts/noto-sans-thai-400.woff2"),
    ),
    (
        "noto-sans-thai-700.woff2",
        include_bytes!("../static/fonts/noto-sans-thai-700.woff2"),
    ),
    (
        "noto-sans-myanmar-400.woff2",
        include_bytes!("../static/fonts/noto-sans-myanmar-400.woff2"),
    ),
    (
        "noto-sans-myanmar-700.woff2",
        include_bytes!("../static/fonts/noto-sans-myanmar-700.woff2"),
    ),
    (
        "OFL-noto-sans-thai.txt",
        include_bytes!("../static/fonts/OFL-noto-sans-thai.txt"),
    ),
    (
        "OFL-noto-sans-myanmar.txt",
        include_bytes!("../static/fonts/OFL-noto-sans-myanmar.txt"),
    ),
    (
        "noto-sans-khmer-400.woff2",
        include_bytes!("../static/fonts/noto-sans-khmer-400.woff2"),
    ),
    (
        "noto-sans-khmer-700.woff2",
        include_bytes!("../static/fonts/noto-sans-khmer-700.woff2"),
    ),
    (
        "OFL-noto-sans-khmer.txt",
        include_bytes!("../static/fonts/OFL-noto-sans-khmer.txt"),
    ),
    (
        "noto-sans-lao-400.woff2",
        include_bytes!("../static/fonts/noto-sans-lao-400.woff2"),
    ),
    (
        "noto-sans-lao-700.woff2",
        include_bytes!("../static/fonts/noto-sans-lao-700.woff2"),
    ),
    (
        "OFL-noto-sans-lao.txt",
        include_bytes!("../static/fonts/OFL-noto-sans-lao.txt"),
    ),
    (
        "noto-sans-devanagari-400.woff2",
        include_bytes!("../static/fonts/noto-sans-devanagari-400.woff2"),
    ),
    (
        "noto-sans-devanagari-700.woff2",
        include_bytes!("../static/fonts/noto-sans-devanagari-700.woff2"),
    ),
    (
        "OFL-noto-sans-devanagari.txt",
        include_bytes!("../static/fonts/OFL-noto-sans-devanagari.txt"),
    ),
];

/// The workers' portal's page templates (MiniJinja, HTML auto-escaped), by name.
pub const PORTAL_TEMPLATES: &[(&str, &str)] = &[
    (
        "portal/jobs.html",
        include_str!("../templates/portal/jobs.html"),
    ),
    (
        "portal/job.html",
        include_str!("../templates/portal/job.html"),
    ),
    (
        "portal/ratings.html",
        include_str!("../templates/portal/ratings.html"),
    ),
    (
        "portal/base.html",
        include_str!("../templates/portal/base.html"),
    ),
    (
        "portal/home.html",
        include_str!("../templates/portal/home.html"),
    ),
    (
        "portal/report.html",
        include_str!("../templates/portal/report.html"),
    ),
    (
        "portal/receipt.html",
        include_str!("../templates/portal/receipt.html"),
    ),
    (
        "portal/check.html",
        include_str!("../templates/portal/check.html"),
    ),
    (
        "portal/status.html",
        include_str!("../templates/portal/status.html"),
    ),
    (
        "portal/rights.html",
        include_str!("../templates/portal/rights.html"),
    ),
    (
        "portal/right.html",
        include_str!("../templates/portal/right.html"),
    ),
    (
        "portal/problem.html",
        include_str!("../templates/portal/problem.html"),
    ),
    (
        "portal/alerts.html",
        include_str!("../templates/portal/alerts.html"),
    ),
];

/// The workers' portal's style sheet (no script: the portal works without JavaScript).
pub const PORTAL_CSS: &str = include_str!("../static/portal.css");

/// The workers' portal's translations (Fluent), by language code: its messages, then the
/// labels its forms show (sectors, countries, genders, age bands).
pub const PORTAL_LOCALES: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            include_str!("../locales/en/portal.ftl"),
            include_str!("../locales/en/labels.ftl"),
        ],
    ),
    (
        "my",
        &[
            include_str!("../locales/my/portal.ftl"),
            include_str!("../locales/my/labels.ftl"),
        ],
    ),
    ("km", &[include_str!("../locales/km/portal.ftl")]),
    ("lo", &[include_str!("../locales/lo/portal.ftl")]),
    ("ne", &[include_str!("../locales/ne/portal.ftl")]),
    (
        "th",
        &[
            include_str!("../locales/th/portal.ftl"),
            include_str!("../locales/th/labels.ftl"),
        ],
    ),
];
