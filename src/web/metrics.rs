//! Prometheus metrics: requests by route, method and status, a latency histogram, the database
//! size and uptime, and in upstream mode the link with the regional node (pushes to confirm, per org
//! the outbox and the last poll), rendered as the text exposition format at `/metrics`.
//!
//! The page is not public ([`admits`], the route's guard): it answers loopback clients (a scraper
//! or an agent on the machine), the addresses of `metrics.allow`, and whoever presents
//! `metrics.token` as a bearer token. The client is the TCP peer, or behind
//! `server.trusted_proxies` the client the proxy names, so that a proxy on the machine does not
//! make the whole Internet loopback. Everyone else gets the 404 of a page that does not exist.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use super::router::Request;
use super::{AppState, Response, ui};
use crate::services::upstream::status::OrgGauges;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Counters shared by all workers. One mutex is plenty: the critical section is a few additions.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, String, u16), u64>,
    /// Cumulative counts per bucket, plus the total count and sum (in microseconds, to stay in
    /// integers).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_micros: u64,
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, route: &'static str, method: &str, status: u16, elapsed: Duration) {
        let mut inner = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *inner.requests.entry((route, method.to_owned(), status)).or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        for (bound, slot) in BUCKETS.iter().zip(inner.buckets.iter_mut()) {
            if seconds <= *bound {
                *slot += 1;
            }
        }
        inner.count += 1;
        inner.sum_micros = inner.sum_micros.saturating_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }
}

/// Whether `/metrics` answers this request (see the module documentation); 404 otherwise.
pub fn admits(state: &AppState, head: &Request<'_>) -> Result<(), Response> {
    let settings = &state.config.metrics;
    let by_address =
        head.peer.is_some_and(|ip| ip.to_canonical().is_loopback() || crate::net::any_contains(&settings.allow, ip));
    let by_token = settings.token.as_ref().is_some_and(|token| {
        let given = head.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).map(str::trim);
        given.is_some_and(|given| same(given.as_bytes(), token.expose().as_bytes()))
    });
    if by_address || by_token {
        return Ok(());
    }
    tracing::info!(target: "security", peer = ?head.peer, "metrics refused: not loopback, not allowed, no token");
    Err(ui::errors::not_found())
}

/// Upstream mode's gauges, only when it is on: the regional node's outcome pushes waiting for its
/// confirmation (in all), and per org linked to it (label `org`, its IPA code) the outbox's depth
/// (local changes waiting to reach the Region), the changes it refused, and the last successful
/// poll of receipts (Unix seconds, 0 when never, so that an alert on its age fires for an org that
/// never polled).
fn upstream_gauges(state: &AppState, out: &mut String) {
    if state.config.upstream.is_none() {
        return;
    }
    out.push_str(
        "# HELP mypay_upstream_push_hints_pending Outcome pushes of the regional node waiting for its confirmation.\n",
    );
    out.push_str("# TYPE mypay_upstream_push_hints_pending gauge\n");
    match crate::services::upstream::pushes::pending_count(&state.db) {
        Ok(n) => {
            let _ = writeln!(out, "mypay_upstream_push_hints_pending {n}");
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot count the pending upstream pushes"),
    }
    let orgs = match crate::services::upstream::status::gauges(&state.db) {
        Ok(orgs) => orgs,
        Err(err) => {
            tracing::warn!(error = %err, "metrics: cannot read the orgs' links with the regional node");
            return;
        }
    };
    let gauges: [Gauge; 3] = [
        ("mypay_upstream_outbox_depth", "Debt changes waiting to be sent to the regional node, by org.", |g| {
            g.outbox_depth
        }),
        ("mypay_upstream_outbox_refused", "Debt changes the regional node refused, by org.", |g| g.outbox_refused),
        (
            "mypay_upstream_last_poll_success_timestamp_seconds",
            "When receipts were last polled from the regional node, by org (0: never).",
            |g| g.last_poll_success.unwrap_or(0),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for g in &orgs {
            let _ = writeln!(out, "{name}{{org=\"{}\"}} {}", label(&g.ipa_code), value(g));
        }
    }
}

/// A per-org gauge: its name, its help text and its value for one org.
type Gauge = (&'static str, &'static str, fn(&OrgGauges) -> i64);

/// A label value in the exposition format: backslash, double quote and newline escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Compares two secrets in time that depends on their lengths only.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `/metrics` page.
pub fn render(state: &AppState) -> Response {
    let mut out = String::new();
    {
        let inner = match state.metrics.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        out.push_str("# HELP mypay_http_requests_total HTTP requests answered, by route, method and status.\n");
        out.push_str("# TYPE mypay_http_requests_total counter\n");
        for ((route, method, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "mypay_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP mypay_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE mypay_http_request_duration_seconds histogram\n");
        for (bound, n) in BUCKETS.iter().zip(inner.buckets.iter()) {
            let _ = writeln!(out, "mypay_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "mypay_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}", inner.count);
        let _ = writeln!(out, "mypay_http_request_duration_seconds_sum {}", inner.sum_micros as f64 / 1e6);
        let _ = writeln!(out, "mypay_http_request_duration_seconds_count {}", inner.count);
    }
    out.push_str("# HELP mypay_db_size_bytes Size of the SQLite database file (pages in use).\n");
    out.push_str("# TYPE mypay_db_size_bytes gauge\n");
    match state.db.size_bytes() {
        Ok(size) => {
            let _ = writeln!(out, "mypay_db_size_bytes {size}");
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot read the database size"),
    }
    out.push_str("# HELP mypay_anomalies_open Anomalies waiting for a person, by kind.\n");
    out.push_str("# TYPE mypay_anomalies_open gauge\n");
    match crate::services::payments::anomalies::open_by_kind(&state.db) {
        Ok(counts) => {
            for (kind, n) in counts {
                let _ = writeln!(out, "mypay_anomalies_open{{kind=\"{kind}\"}} {n}");
            }
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot count anomalies"),
    }
    upstream_gauges(state, &mut out);
    out.push_str("# HELP mypay_uptime_seconds Seconds since the server started.\n");
    out.push_str("# TYPE mypay_uptime_seconds gauge\n");
    let _ = writeln!(out, "mypay_uptime_seconds {}", state.started.elapsed().as_secs());
    Response::text(200, "text/plain; version=0.0.4; charset=utf-8", out)
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("c_esempio"), "c_esempio");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
