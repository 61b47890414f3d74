//! The one place that reads the clock. Everything else takes the time as a parameter, so rules are
//! testable at any date; clippy's `disallowed-methods` keeps it that way.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
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

/// The instant a Europe/Rome calendar day begins. A day on a DST change lasts 23 or 25 hours, so
/// the range of a day is from its start to the next day's start, never start + 24 h.
pub fn rome_day_start(day: Date) -> Result<Timestamp, jiff::Error> {
    Ok(day.to_zoned(rome())?.timestamp())
}

/// The instant the Europe/Rome day after `day` begins: the exclusive end of a range of days
/// ending on `day`.
pub fn rome_day_end(day: Date) -> Result<Timestamp, jiff::Error> {
    rome_day_start(day.tomorrow()?)
}

/// A time from pagoPA or the store as Italian local time: with an offset (or `Z`, as stored)
/// converted to Europe/Rome, without one already local (the Node's `paymentDateTime`); a bare
/// date is its midnight. So a payment at 23:30 UTC belongs to the next Italian day.
pub fn rome_local(text: &str) -> Option<DateTime> {
    let text = text.trim();
    text.parse::<Timestamp>()
        .map(|ts| ts.to_zoned(rome()).datetime())
        .or_else(|_| text.parse::<DateTime>())
        .or_else(|_| text.parse::<Date>().map(|d| d.to_datetime(Time::midnight())))
        .ok()
}

/// A timestamp as stored: UTC, ISO 8601, whole seconds (`2026-11-30T10:15:00Z`).
pub fn iso(now: Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn rome_days_start_at_local_midnight_and_last_23_or_25_hours_on_dst_changes() {
        let span = |day: &str| (iso(rome_day_start(date(day)).unwrap()), iso(rome_day_end(date(day)).unwrap()));
        assert_eq!(span("2026-01-15"), ("2026-01-14T23:00:00Z".to_owned(), "2026-01-15T23:00:00Z".to_owned()));
        assert_eq!(span("2026-03-29"), ("2026-03-28T23:00:00Z".to_owned(), "2026-03-29T22:00:00Z".to_owned()));
        assert_eq!(span("2026-07-01"), ("2026-06-30T22:00:00Z".to_owned(), "2026-07-01T22:00:00Z".to_owned()));
        assert_eq!(span("2026-10-25"), ("2026-10-24T22:00:00Z".to_owned(), "2026-10-25T23:00:00Z".to_owned()));
        assert!(rome_day_end(Date::MAX).is_err(), "no day after the last one");
    }

    #[test]
    fn times_with_an_offset_become_rome_local_and_local_ones_stay() {
        let local = |text: &str| rome_local(text).map(|dt| dt.to_string());
        assert_eq!(local("2026-03-28T23:30:00Z").as_deref(), Some("2026-03-29T00:30:00"));
        assert_eq!(local("2026-10-25T23:30:00Z").as_deref(), Some("2026-10-26T00:30:00"));
        assert_eq!(local("2026-07-01T08:00:00+00:00").as_deref(), Some("2026-07-01T10:00:00"));
        assert_eq!(local("2026-03-28T23:30:00").as_deref(), Some("2026-03-28T23:30:00"));
        assert_eq!(local("2026-03-28T23:30:00.250").as_deref(), Some("2026-03-28T23:30:00.25"));
        assert_eq!(local("2026-03-28").as_deref(), Some("2026-03-28T00:00:00"));
        assert_eq!(local("ieri"), None);
    }
}
