//! The dashboard's chart of amounts per day, drawn on the server as inline SVG: no script, no
//! external asset, readable without colours (each bar has its value in a `<title>`, and the
//! figure has a text description). Days are written the Italian way (`07/12/2026`), never ISO.

use maud::{Markup, html};

use crate::domain::Cents;
use crate::store::dashboard::DayTotal;
use crate::web::ui::format::day_it;

const WIDTH: i64 = 720;
const HEIGHT: i64 = 220;
const LEFT: i64 = 8;
const BOTTOM: i64 = 24;
const TOP: i64 = 20;

/// A bar chart of `days` (one bar a day), titled `title`.
pub fn amounts_per_day(title: &str, days: &[DayTotal]) -> Markup {
    let max = days.iter().map(|d| d.cents.get()).max().unwrap_or(0).max(1);
    let n = i64::try_from(days.len()).unwrap_or(1).max(1);
    let slot = (WIDTH - LEFT) / n.max(28);
    let bar = (slot * 3 / 4).max(2);
    let plot = HEIGHT - BOTTOM - TOP;
    let total: i64 = days.iter().map(|d| d.cents.get()).sum();
    let best = days.iter().filter(|d| d.cents.is_positive()).max_by_key(|d| d.cents);
    let description = match best {
        Some(b) => format!(
            "Totale {}. Giorno con l'importo più alto: {} con {}.",
            Cents::new(total).format_eur(),
            day_it(b.day),
            b.cents.format_eur()
        ),
        None => "Nessun pagamento nel periodo.".to_owned(),
    };
    html! {
        figure class="mb-4" {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width="100%" role="img" aria-labelledby="grafico-titolo grafico-descrizione" {
                title id="grafico-titolo" { (title) }
                desc id="grafico-descrizione" { (description) }
                text x=(LEFT) y="14" font-size="12" fill="#1a1a1a" { "max " (Cents::new(max).format_eur()) }
                line x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) stroke="#5c6f82" stroke-width="1" {}
                @for (i, d) in days.iter().enumerate() {
                    @let i = i64::try_from(i).unwrap_or(0);
                    @let h = d.cents.get().saturating_mul(plot) / max;
                    @let x = LEFT + i * slot;
                    rect x=(x) y=(HEIGHT - BOTTOM - h) width=(bar) height=(h) fill="#0066cc" {
                        title { (day_it(d.day)) ": " (d.cents.format_eur()) " (" (d.count) " pagamenti)" }
                    }
                    @if i % 5 == 0 || i == n - 1 {
                        text x=(x + bar / 2) y=(HEIGHT - 6) font-size="11" text-anchor="middle" fill="#1a1a1a" {
                            (format!("{:02}", d.day.date().day()))
                        }
                    }
                }
            }
            figcaption class="visually-hidden" { (description) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_the_italian_way() {
        let day = |d| crate::domain::Day::from(jiff::civil::date(2026, 12, d));
        let days = [
            DayTotal { day: day(6), count: 0, cents: Cents::new(0) },
            DayTotal { day: day(7), count: 2, cents: Cents::new(3050) },
        ];
        let svg = amounts_per_day("Importi", &days).into_string();
        assert!(svg.contains("Giorno con l'importo più alto: 07/12/2026 con € 30,50."), "{svg}");
        assert!(svg.contains("<title>07/12/2026: € 30,50 (2 pagamenti)</title>"), "{svg}");
        assert!(!svg.contains("2026-12-0"), "{svg}");
    }
}
