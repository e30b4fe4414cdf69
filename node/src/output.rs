//! What a command prints: the same result as text for people and as JSON for scripts.

use serde_json::Value;

/// A command's result.
#[derive(Debug, Clone)]
pub struct Output {
    /// Machine-readable form (`--json`).
    pub json: Value,
    /// Human-readable form.
    pub text: String,
    /// Exit status (0 unless a command defines others, like `ilm verify`).
    pub exit: u8,
}

impl Output {
    /// A result with both forms.
    pub fn new(json: Value, text: impl Into<String>) -> Output {
        Output {
            json,
            text: text.into(),
            exit: 0,
        }
    }

    /// The same result with another exit status.
    pub fn with_exit(mut self, exit: u8) -> Output {
        self.exit = exit;
        self
    }

    /// Prints the form asked for. A reader that went away (`ilm case list | head`) is not an
    /// error: the output simply ends.
    pub fn print(&self, json: bool) -> std::io::Result<()> {
        let text = if json {
            serde_json::to_string_pretty(&self.json).unwrap_or_else(|_| "null".into())
        } else {
            self.text.clone()
        };
        if text.is_empty() {
            return Ok(());
        }
        write_stdout(&text)
    }
}

/// Writes one line to standard output, treating a closed pipe as the end of the output.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints a line for people from a long-running command (`ilm run`, `ilm demo`): a closed
/// standard output (a pipe into `head` that ended) must not stop the node, so write errors
/// are ignored.
pub fn say(text: &str) {
    let _ = write_stdout(text);
}

/// A verification that ran and found the input invalid (exit status 1, not a usage error).
#[derive(Debug, thiserror::Error)]
#[error("INVALID: {0}")]
pub struct Invalid(pub String);
