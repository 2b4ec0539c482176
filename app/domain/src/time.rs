//! How times and durations read on every page: one formatter, so that a time never shows as
//! `2026-11-29T19:27:26.002380091+00:00` on one page and `19:27` on another.

use chrono::{DateTime, Utc};

/// The full time, to the second, in UTC: what a tooltip shows.
pub fn full(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `at` relative to `now`: "just now", "3 min ago", "in 2 h", "5 days ago".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    if secs.abs() < 10 {
        return "just now".into();
    }
    let words = duration_words(secs.unsigned_abs());
    if secs > 0 {
        format!("{words} ago")
    } else {
        format!("in {words}")
    }
}

/// A duration in words, to its two largest units: "45 s", "3 min 20 s", "2 h 5 min",
/// "3 days 4 h".
pub fn duration_words(secs: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big} {big_unit}")
        } else {
            format!("{big} {big_unit} {small} {small_unit}")
        }
    };
    match secs {
        s if s < MINUTE => format!("{s} s"),
        s if s < HOUR => two(s / MINUTE, "min", s % MINUTE, "s"),
        s if s < DAY => two(s / HOUR, "h", s % HOUR / MINUTE, "min"),
        s => {
            let days = s / DAY;
            two(days, if days == 1 { "day" } else { "days" }, s % DAY / HOUR, "h")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_read_as_words() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 19, 27, 26).unwrap();
        let ago = |secs: i64| relative(now - chrono::Duration::seconds(secs), now);
        assert_eq!(ago(3), "just now");
        assert_eq!(ago(45), "45 s ago");
        assert_eq!(ago(180), "3 min ago");
        assert_eq!(ago(200), "3 min 20 s ago");
        assert_eq!(ago(2 * 3600 + 300), "2 h 5 min ago");
        assert_eq!(ago(86_400), "1 day ago");
        assert_eq!(ago(3 * 86_400 + 4 * 3600), "3 days 4 h ago");
        assert_eq!(ago(-7200), "in 2 h");
        assert_eq!(full(now), "2026-11-29 19:27:26 UTC");
    }
}
