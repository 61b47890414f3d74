//! Dates and times as an Italian reader expects them: `dd/mm/yyyy` and `dd/mm/yyyy HH:MM`, in
//! Europe/Rome. Stored times are UTC, so a time shown raw or a date cut out of one would put a
//! payment at 23:30 UTC on the wrong day for the municipality.

/// A date and time as `dd/mm/yyyy HH:MM`, Italian time: with an offset (or `Z`, as stored) it is
/// converted to Europe/Rome, without one (pagoPA's `paymentDateTime`) it already is Italian local
/// time. Anything unreadable is shown as received.
pub fn datetime_it(value: &str) -> String {
    in_rome(value, "%d/%m/%Y %H:%M")
}

/// A time as [`datetime_it`] with seconds (`29/03/2026 00:30:00`), for the audit journal, whose
/// entries a minute apart must still read in order.
pub fn datetime_seconds_it(value: &str) -> String {
    in_rome(value, "%d/%m/%Y %H:%M:%S")
}

/// A stored date `YYYY-MM-DD`, or the Europe/Rome day of a stored time, as `dd/mm/yyyy`.
pub fn date_it(value: &str) -> String {
    in_rome(value, "%d/%m/%Y")
}

/// A calendar day as `dd/mm/yyyy`.
pub fn day_it(day: crate::domain::Day) -> String {
    day.date().strftime("%d/%m/%Y").to_string()
}

/// A count with Italian thousands separators: `1.000.000`.
pub fn count_it(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", crate::domain::money::group_thousands(&n.unsigned_abs().to_string()))
}

/// `value` read by [`crate::clock::rome_local`], formatted; anything unreadable as received.
fn in_rome(value: &str, format: &str) -> String {
    crate::clock::rome_local(value).map_or_else(|| value.trim().to_owned(), |dt| dt.strftime(format).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_in_italian() {
        assert_eq!(count_it(0), "0");
        assert_eq!(count_it(420_000), "420.000");
        assert_eq!(count_it(1_000_000), "1.000.000");
        assert_eq!(count_it(-1234), "-1.234");
    }

    #[test]
    fn times_are_shown_in_italian_format_and_time() {
        assert_eq!(datetime_it("2026-11-30T10:15:00"), "30/11/2026 10:15");
        assert_eq!(datetime_it("2026-11-30T10:15:00.123"), "30/11/2026 10:15");
        // UTC converted to Rome: winter +1, summer +2.
        assert_eq!(datetime_it("2026-11-30T09:15:00Z"), "30/11/2026 10:15");
        assert_eq!(datetime_it("2026-07-01T22:30:00Z"), "02/07/2026 00:30");
        assert_eq!(datetime_it("2026-07-01T22:30:00+02:00"), "01/07/2026 22:30");
        // 23:30 UTC is the next Italian day, on both DST-change days.
        assert_eq!(datetime_it("2026-01-15T23:30:00Z"), "16/01/2026 00:30");
        assert_eq!(datetime_it("2026-03-28T23:30:00Z"), "29/03/2026 00:30");
        assert_eq!(datetime_it("2026-03-29T22:30:00Z"), "30/03/2026 00:30");
        assert_eq!(datetime_it("2026-10-25T23:30:00Z"), "26/10/2026 00:30");
        assert_eq!(datetime_it("ieri"), "ieri");
        assert_eq!(datetime_seconds_it("2026-03-28T23:30:05Z"), "29/03/2026 00:30:05");
        assert_eq!(datetime_seconds_it("ieri"), "ieri");
    }

    #[test]
    fn dates_are_italian_days() {
        assert_eq!(date_it("2026-01-05"), "05/01/2026");
        assert_eq!(date_it("2026-01-15T23:30:00Z"), "16/01/2026");
        assert_eq!(date_it("2026-03-28T23:30:00Z"), "29/03/2026");
        assert_eq!(date_it("2026-10-25T23:30:00Z"), "26/10/2026");
        assert_eq!(date_it("2026-10-25T22:59:59Z"), "25/10/2026");
        assert_eq!(date_it("2026-03-28T23:30:00"), "28/03/2026");
        assert_eq!(date_it("—"), "—");
        assert_eq!(day_it(crate::domain::Day::from(jiff::civil::date(2026, 1, 5))), "05/01/2026");
    }
}
