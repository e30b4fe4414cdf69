//! Time for the node: the current time as a protocol timestamp, and dates for people that
//! cannot panic whatever a peer, a file or a user claims.

use ilm_protocol::Timestamp;
use ilm_protocol::rules::MAX_TIMESTAMP;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current time as a protocol timestamp.
pub fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// A timestamp as an RFC 3339 UTC date and time, for people; one past the year 9999 (which no
/// rule accepts, but a file or a peer may still claim) is shown as its raw number.
pub fn fmt_time(t: Timestamp) -> String {
    if t > MAX_TIMESTAMP {
        return format!("(invalid time {})", t.0);
    }
    match UNIX_EPOCH.checked_add(Duration::from_secs(t.0)) {
        Some(when) => humantime::format_rfc3339_seconds(when).to_string(),
        None => format!("(invalid time {})", t.0),
    }
}

/// The day of a timestamp (YYYY-MM-DD), for people.
pub fn fmt_day(t: Timestamp) -> String {
    let full = fmt_time(t);
    match full.get(..10) {
        Some(day) if !full.starts_with('(') => day.to_string(),
        _ => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_timestamp_makes_formatting_panic() {
        assert_eq!(fmt_time(Timestamp(0)), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(MAX_TIMESTAMP), "9999-12-31T23:59:59Z");
        assert_eq!(fmt_day(MAX_TIMESTAMP), "9999-12-31");
        for t in [MAX_TIMESTAMP.0 + 1, u64::MAX / 2, u64::MAX] {
            assert!(fmt_time(Timestamp(t)).starts_with("(invalid time"));
            assert!(fmt_day(Timestamp(t)).starts_with("(invalid time"));
        }
    }
}
