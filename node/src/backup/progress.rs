//! A progress bar on the terminal for long commands (backup, restore, reindex); silent when
//! standard error is not a terminal, so logs and scripts get one summary line instead.

use std::io::{IsTerminal, Write};

/// Draws `label: [####......]  42%  12.3 of 29.0 MB` on standard error.
pub struct Progress {
    label: &'static str,
    total: u64,
    shown: Option<u64>,
    draw: bool,
    /// Counts records rather than bytes.
    records: bool,
}

impl Progress {
    /// A bar for `total` bytes (0 if unknown).
    pub fn new(label: &'static str, total: u64) -> Progress {
        Progress {
            label,
            total,
            shown: None,
            draw: std::io::stderr().is_terminal(),
            records: false,
        }
    }

    /// A bar for `total` records.
    pub fn records(label: &'static str, total: u64) -> Progress {
        Progress {
            records: true,
            ..Progress::new(label, total)
        }
    }

    fn amount(&self, n: u64) -> String {
        if self.records {
            format!("{n} records")
        } else {
            mb(n)
        }
    }

    /// Shows that `done` bytes are done (redrawn at most once per percent).
    pub fn set(&mut self, done: u64) {
        if !self.draw {
            return;
        }
        let percent = (done.saturating_mul(100))
            .checked_div(self.total)
            .unwrap_or(0)
            .min(100);
        let step = match (self.total, self.records) {
            (0, true) => done / 1000,
            (0, false) => done >> 20,
            _ => percent,
        };
        if self.shown == Some(step) {
            return;
        }
        self.shown = Some(step);
        let filled = (percent / 5) as usize;
        let mut err = std::io::stderr().lock();
        let _ = if self.total == 0 {
            write!(err, "\r{}: {}", self.label, self.amount(done))
        } else {
            write!(
                err,
                "\r{}: [{}{}] {percent:>3}%  {} of {}",
                self.label,
                "#".repeat(filled),
                ".".repeat(20 - filled),
                self.amount(done),
                self.amount(self.total)
            )
        };
        let _ = err.flush();
    }

    /// Ends the bar's line.
    pub fn finish(&mut self) {
        if self.draw && self.shown.is_some() {
            eprintln!();
        }
    }
}

/// Bytes as megabytes with one decimal.
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
