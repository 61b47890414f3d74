//! The load generator the HTTP benchmarks share: N client threads, each with its own keep-alive
//! connection, and the latency figures they print.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Client threads, as the targets in the issues state them.
pub const CONCURRENCY: usize = 32;

pub struct Run {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    pub errors: usize,
}

impl Run {
    pub fn print(&mut self, what: &str, unit: &str) {
        self.latencies.sort();
        let pct = |p: f64| {
            self.latencies.get(((self.latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default()
        };
        let n = self.latencies.len();
        println!(
            "{what:<40} {n:>7} {unit} in {:>6.2} s = {:>8.0} {unit}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
            self.elapsed.as_secs_f64(),
            n as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            self.errors
        );
    }
}

/// Runs `per_thread` jobs on each of 32 threads; `job(thread, i, agent)` returns one latency per
/// unit of work, or None on an error.
pub fn load<F>(per_thread: usize, job: F) -> Run
where
    F: Fn(usize, usize, &ureq::Agent) -> Option<Duration> + Send + Sync + 'static,
{
    load_with(per_thread, || ureq::Agent::config_builder().http_status_as_error(false).build().into(), job)
}

/// [`load`] with agents from `agent` (for HTTPS: one trusting the server's certificate).
pub fn load_with<F>(per_thread: usize, agent: fn() -> ureq::Agent, job: F) -> Run
where
    F: Fn(usize, usize, &ureq::Agent) -> Option<Duration> + Send + Sync + 'static,
{
    let job = Arc::new(job);
    let started = Instant::now();
    let threads: Vec<_> = (0..CONCURRENCY)
        .map(|t| {
            let job = Arc::clone(&job);
            std::thread::spawn(move || {
                let agent = agent();
                let mut out = (Vec::with_capacity(per_thread), 0);
                for i in 0..per_thread {
                    match job(t, i, &agent) {
                        Some(d) => out.0.push(d),
                        None => out.1 += 1,
                    }
                }
                out
            })
        })
        .collect();
    let mut run = Run { latencies: Vec::new(), elapsed: Duration::ZERO, errors: 0 };
    for t in threads {
        let (lat, err) = t.join().unwrap();
        run.latencies.extend(lat);
        run.errors += err;
    }
    run.elapsed = started.elapsed();
    run
}

/// A `mypay demo` over a prepared data directory, on 127.0.0.1:0 with 32 workers and warnings-only
/// logs: the server's base URL and the in-process simulator's, from the first two lines it prints
/// (the rest of its output is drained).
pub struct Demo {
    child: std::process::Child,
    pub base: String,
    pub simulator: String,
}

impl Demo {
    pub fn start(data: &std::path::Path) -> Demo {
        Demo::start_with(data, &[])
    }

    /// [`Demo::start`] with global options (`--config <file>`) before the subcommand. Without the
    /// simulator (e.g. over HTTPS) `simulator` is empty.
    pub fn start_with(data: &std::path::Path, options: &[&str]) -> Demo {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mypay"))
            .arg("--data-dir")
            .arg(data)
            .args(options)
            .args(["demo", "--listen", "127.0.0.1:0"])
            .env("MYPAY_LOG_LEVEL", "warn")
            .env("MYPAY_SERVER_WORKERS", CONCURRENCY.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut line = || lines.next().unwrap().unwrap();
        let url_at_end = |line: String| line.rsplit(' ').next().unwrap().trim_end_matches('/').to_owned();
        let base = url_at_end(line());
        let second = line();
        let simulator = if second.contains("simulatore") { url_at_end(second) } else { String::new() };
        std::thread::spawn(move || for _ in lines {});
        Demo { child, base, simulator }
    }

    /// Stops it with SIGTERM, as systemd would, and waits.
    pub fn stop(mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}
