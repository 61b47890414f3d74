//! A calendar day as records hold it: a debt's due date, the Italian day a receipt's payment
//! belongs to, the outcome date of a payment recorded outside pagoPA.
//!
//! Owns: [`Day`], a `jiff::civil::Date` with one text form, `YYYY-MM-DD` (ISO 8601), in which it
//! is stored, compared in SQL and written to files, and which [`Day::parse`] alone accepts back.
//! Timestamps (when something was stored or changed) are not days: they stay the UTC text of
//! `clock::Now::iso`.
//! Must never: parse the looser forms people type (that is `debt_row::parse_date`'s job where a
//! value enters), or panic on any input.

use std::fmt;

use jiff::civil::Date;

/// A calendar day (no time, no zone): Europe/Rome days where the rules say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Day(Date);

/// A text that is not a day in its stored form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("day {value:?}: must be a date written YYYY-MM-DD")]
pub struct DayError {
    /// The offending text (possibly cut).
    pub value: String,
}

impl Day {
    /// Parses the text [`Day`]'s `Display` writes, and nothing else: a stored day reads back as
    /// the same text, so SQL comparisons and files see what they always saw.
    pub fn parse(text: &str) -> Result<Day, DayError> {
        text.parse::<Date>()
            .ok()
            // jiff also reads other ISO 8601 forms (`20261231`, a date-time): only the canonical one
            // is a stored day.
            .filter(|date| date.to_string() == text)
            .map(Day)
            .ok_or_else(|| DayError { value: super::shown(text) })
    }

    /// The date, for calendar arithmetic and comparisons with today.
    pub fn date(self) -> Date {
        self.0
    }

    /// The stored text, `YYYY-MM-DD`, the same as `Display` writes; built digit by digit for years
    /// 0 to 9999 (an import stores a day per row, and the formatter costs more than the rest).
    pub fn text(self) -> String {
        let (year, month, day) = (self.0.year(), self.0.month(), self.0.day());
        let Ok(year) = u16::try_from(year) else { return self.to_string() };
        if year > 9999 {
            return self.to_string();
        }
        let mut text = String::with_capacity(10);
        for (value, width) in [(year, 4), (u16::try_from(month).unwrap_or(0), 2), (u16::try_from(day).unwrap_or(0), 2)]
        {
            if !text.is_empty() {
                text.push('-');
            }
            let mut divisor = 10_u16.pow(width - 1);
            while divisor > 0 {
                text.push(char::from(b'0' + u8::try_from(value / divisor % 10).unwrap_or(0)));
                divisor /= 10;
            }
        }
        text
    }
}

impl From<Date> for Day {
    fn from(date: Date) -> Day {
        Day(date)
    }
}

impl fmt::Display for Day {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn text_is_what_display_writes() {
        for text in ["0001-01-01", "0999-12-31", "2026-01-09", "2099-12-31", "9999-12-31"] {
            let day = Day::parse(text).unwrap();
            assert_eq!(day.text(), day.to_string());
            assert_eq!(day.text(), text);
        }
    }

    use super::*;

    #[test]
    fn a_day_reads_back_only_from_the_text_it_writes() {
        let day = Day::parse("2026-12-31").unwrap();
        assert_eq!(day.to_string(), "2026-12-31");
        assert_eq!(day.date(), jiff::civil::date(2026, 12, 31));
        assert_eq!(Day::from(jiff::civil::date(2026, 1, 5)).to_string(), "2026-01-05");
        for bad in ["", "2026-1-5", "20261231", "2026-12-31T00:00:00", "2026-02-30", " 2026-12-31", "31/12/2026"] {
            assert!(Day::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn days_order_as_dates() {
        assert!(Day::parse("2026-12-31").unwrap() > Day::parse("2026-02-01").unwrap());
    }
}
