//! The one place that reads the clock, and Italian civil time. `Now::read` is the only clock read;
//! everything else takes a `Now` (or, in the domain and the store, the `Date`, `domain::Day` or
//! stored text made from one), so rules are testable at any date; clippy's `disallowed-methods`
//! keeps it that way.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

/// Italian civil time: due dates and "today" are calendar days in Europe/Rome.
pub fn rome() -> TimeZone {
    TimeZone::get("Europe/Rome").unwrap_or(TimeZone::UTC)
}

/// The current time of one operation (a request, a job, a command), read once and handed down, so
/// the time an operation stores and the Italian day its rules see are the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Now(Timestamp);

impl Now {
    /// Reads the clock.
    #[expect(clippy::disallowed_methods, reason = "the single clock read of the program")]
    pub fn read() -> Now {
        Now(Timestamp::now())
    }

    /// A given instant, for tests and for replaying an operation at a known time.
    pub fn at(instant: Timestamp) -> Now {
        Now(instant)
    }

    /// The instant itself, for arithmetic (expiries, leases, retries).
    pub fn instant(self) -> Timestamp {
        self.0
    }

    /// The time as stored: see [`iso`].
    pub fn iso(self) -> String {
        iso(self.0)
    }

    /// The Europe/Rome calendar day: see [`today_rome`].
    pub fn today(self) -> Date {
        today_rome(self.0)
    }

    /// The Europe/Rome wall-clock time.
    pub fn rome(self) -> DateTime {
        self.0.to_zoned(rome()).datetime()
    }
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

    fn at(text: &str) -> Now {
        Now::at(text.parse().unwrap())
    }

    #[test]
    fn now_is_stored_as_whole_utc_seconds() {
        assert_eq!(at("2026-11-30T10:15:00Z").iso(), "2026-11-30T10:15:00Z");
        assert_eq!(at("2026-11-30T10:15:59.999Z").iso(), "2026-11-30T10:15:59Z");
        assert_eq!(at("2026-07-01T08:00:00+02:00").iso(), "2026-07-01T06:00:00Z");
        let instant: Timestamp = "2026-11-30T03:15:00.123Z".parse().unwrap();
        assert_eq!(Now::at(instant).instant(), instant, "the instant keeps its fraction");
    }

    #[test]
    fn now_gives_the_rome_day_across_midnight_and_dst_changes() {
        let day = |text: &str| at(text).today().to_string();
        // Winter (UTC+1): the Rome day changes at 23:00 UTC.
        assert_eq!(day("2026-01-15T22:59:59Z"), "2026-01-15");
        assert_eq!(day("2026-01-15T23:30:00Z"), "2026-01-16");
        // The night clocks go forward (2026-03-29): still UTC+1 at 23:30 UTC the day before.
        assert_eq!(day("2026-03-28T22:59:59Z"), "2026-03-28");
        assert_eq!(day("2026-03-28T23:30:00Z"), "2026-03-29");
        assert_eq!(at("2026-03-28T23:30:00Z").iso(), "2026-03-28T23:30:00Z", "stored in UTC, not Rome");
        // Summer (UTC+2): the Rome day changes at 22:00 UTC.
        assert_eq!(day("2026-07-01T21:59:59Z"), "2026-07-01");
        assert_eq!(day("2026-07-01T22:30:00Z"), "2026-07-02");
        // The night clocks go back (2026-10-25): UTC+2 until 01:00 UTC, then UTC+1.
        assert_eq!(day("2026-10-24T22:30:00Z"), "2026-10-25");
        assert_eq!(day("2026-10-25T22:30:00Z"), "2026-10-25");
        assert_eq!(day("2026-10-25T23:30:00Z"), "2026-10-26");
    }

    #[test]
    fn now_gives_the_rome_wall_clock_time() {
        let local = |text: &str| at(text).rome().to_string();
        assert_eq!(local("2026-03-28T23:30:00Z"), "2026-03-29T00:30:00");
        assert_eq!(local("2026-03-29T01:30:00Z"), "2026-03-29T03:30:00");
        assert_eq!(local("2026-10-25T00:30:00Z"), "2026-10-25T02:30:00");
        assert_eq!(local("2026-10-25T01:30:00Z"), "2026-10-25T02:30:00");
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
