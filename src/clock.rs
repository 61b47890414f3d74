//! The one place that reads the clock. Everything else takes the time as a parameter, so rules are
//! testable at any date; clippy's `disallowed-methods` keeps it that way.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Italian civil time: due dates and "today" are calendar days in Europe/Rome.
pub fn rome() -> TimeZone {
    TimeZone::get("Europe/Rome").unwrap_or(TimeZone::UTC)
}

/// Now, in UTC.
#[expect(clippy::disallowed_methods, reason = "the single clock read of the program")]
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// Today's date in Europe/Rome.
pub fn today_rome(now: Timestamp) -> Date {
    now.to_zoned(rome()).date()
}

/// A timestamp as stored: UTC, ISO 8601, whole seconds (`2026-11-30T10:15:00Z`).
pub fn iso(now: Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
