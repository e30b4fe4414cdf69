//! Limits every record's text and times keep, shared by the rules of every record kind.

use crate::identity::Timestamp;

/// Latest time any record may claim: 9999-12-31T23:59:59Z. Later values are refused
/// everywhere, so that every date can be shown in the four-digit-year calendar.
pub const MAX_TIMESTAMP: Timestamp = Timestamp(253_402_300_799);

/// How much earlier than the latest of its ancestors an event may claim to be authored
/// (clock skew between organisations), in seconds.
pub const CLOCK_TOLERANCE_SECS: u64 = 600;

/// Checks one free-text field: at most `max` bytes, no control character but line feed and
/// tab (and none at all when `single_line`).
pub fn check_text(text: &str, max: usize, single_line: bool) -> Result<(), &'static str> {
    if text.len() > max {
        return Err("text field too long");
    }
    let allowed = |c: char| !single_line && (c == '\n' || c == '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("control character in text");
    }
    Ok(())
}

/// Checks that a timestamp is not past [`MAX_TIMESTAMP`].
pub fn check_time(t: Timestamp) -> Result<(), &'static str> {
    if t > MAX_TIMESTAMP {
        return Err("timestamp after the year 9999");
    }
    Ok(())
}
