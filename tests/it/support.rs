//! Test fixtures: a temporary data directory, the real binary started on 127.0.0.1:0, and a
//! blocking HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `mypay org add` for the second org several tests need: Comune di Milano (`c_f205`), in service
/// with every channel (adhesion mode `ente`).
pub const ADD_MILANO: &[&str] = &[
    "org",
    "add",
    "--mode",
    "ente",
    "c_f205",
    "--fiscal-code",
    "01199250158",
    "--name",
    "Comune di Milano",
    "--segregation-code",
    "02",
    "--iban",
    "IT60X0542811101000000123456",
    "--state",
    "ESERCIZIO",
];

/// Adds Comune di Milano ([`ADD_MILANO`]); the test fails if the CLI refuses.
pub fn add_milano(data_dir: &Path) {
    let out = run(data_dir, ADD_MILANO, None);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mypay")
}

/// Runs `mypay` with `args` on `data_dir`, feeding `stdin`, and returns its output.
pub fn run(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("--data-dir").arg(data_dir).args(args);
    cmd.env_remove("MYPAY_CONFIG").env_remove("MYPAY_DATA_DIR");
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running server; killed on drop if the test did not stop it.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// Everything the server printed on stdout up to and including the listening line and the
    /// demo lines that follow it.
    pub banner: Vec<String>,
    pub started: Instant,
    /// What the server wrote on stderr, drained by a thread: a server that logs a lot (a long
    /// test at the info level) would otherwise block, and stop answering, on a full pipe.
    log: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `mypay <args> --listen 127.0.0.1:0` on `data_dir` and waits for its listening line.
    pub fn start(data_dir: &Path, args: &[&str]) -> Server {
        Server::start_with_env(data_dir, args, &[])
    }

    /// [`Server::start`] with these `MYPAY_*` variables set.
    pub fn start_with_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let started = Instant::now();
        let mut child = Command::new(bin())
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("MYPAY_CONFIG")
            .env_remove("MYPAY_DATA_DIR")
            .env("MYPAY_LOG_LEVEL", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("server printed nothing").unwrap();
        let base = first.rsplit(' ').next().unwrap().to_owned();
        assert!(base.starts_with("http://127.0.0.1:") || base.starts_with("https://127.0.0.1:"), "{first}");
        let mut banner = vec![first];
        // The demo prints its data summary right after, ending with the portal line.
        if args.contains(&"demo") || args.contains(&"--demo") {
            for line in lines.by_ref() {
                let line = line.unwrap();
                let done = line.contains("operator login") || line.contains("already present");
                banner.push(line);
                if done {
                    break;
                }
            }
        }
        // Keep draining stdout and stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut err = child.stderr.take().unwrap();
        let kept = std::sync::Arc::clone(&log);
        let log_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                kept.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Server { child, base, banner, started, log, log_reader: Some(log_reader) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for the exit; returns (success, stderr).
    pub fn terminate(mut self) -> (bool, String) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.success(), self.log_after_exit());
            }
            assert!(Instant::now() < deadline, "server did not stop within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Server {
    /// The address of the demo's pagoPA simulator, from the banner's line naming it.
    pub fn simulator_url(&self) -> String {
        let line = self.banner.iter().find(|l| l.contains("pagoPA simulator")).expect("the demo starts the simulator");
        line.rsplit(' ').next().unwrap().trim_end_matches('/').to_owned()
    }

    /// Everything the server wrote on stderr, once it has exited (its stderr closed).
    pub fn log_after_exit(&mut self) -> String {
        if let Some(reader) = self.log_reader.take() {
            reader.join().unwrap();
        }
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP response.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

pub fn get(url: &str) -> Reply {
    get_with(url, &[])
}

pub fn get_with(url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = agent().get(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    reply(req.call().unwrap())
}

pub fn post(url: &str, content_type: &str, body: &[u8]) -> Reply {
    post_with(url, content_type, body, &[])
}

pub fn post_with(url: &str, content_type: &str, body: &[u8], headers: &[(&str, &str)]) -> Reply {
    let mut req = agent().post(url).header("Content-Type", content_type);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    reply(req.send(body).unwrap())
}

fn reply(mut res: ureq::http::Response<ureq::Body>) -> Reply {
    let status = res.status().as_u16();
    let headers =
        res.headers().iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect();
    let body = res.body_mut().with_config().limit(64 * 1024 * 1024).read_to_string().unwrap_or_default();
    Reply { status, headers, body }
}

/// A fresh temporary data directory.
pub fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    (dir, path)
}

/// What a client that reads while it sends got from a POST the server may answer early.
#[derive(Debug)]
pub struct Pushed {
    pub status: u16,
    /// The response's head and body.
    pub response: String,
    /// How many body bytes the client could send before the server stopped taking them.
    pub sent: u64,
}

/// POSTs `length` bytes of `x` to `path` of the server at `base` (an `http://` address), with
/// `headers` (`Name: value` lines), pushing the body from a thread while the response is read, as
/// a careful client does: a server may answer, and close, before the body is over.
pub fn push_post(base: &str, path: &str, headers: &[&str], length: u64) -> Pushed {
    use std::io::Write;
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n{extra}\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let (done, sent) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let mut total = 0u64;
        while total < length {
            let n = usize::try_from((length - total).min(chunk.len() as u64)).unwrap();
            match writer.write(&chunk[..n]) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n as u64,
            }
        }
        let _ = done.send(total);
    });
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => data.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&data).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = stream.read_exact(&mut body);
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    // The server closes a connection whose body it refused; one it took ends with the body.
    let sent = sent.recv_timeout(Duration::from_secs(60)).expect("the body neither went out nor was refused");
    Pushed { status, response: head + &String::from_utf8_lossy(&body), sent }
}

/// The server process's resident memory now and at its peak (`VmRSS`, `VmHWM`), in KiB.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One request a [`fake_http`] server received: its request line, SOAPAction (empty when none)
/// and body.
pub struct FakeRequest {
    pub request_line: String,
    pub soap_action: String,
    pub body: Vec<u8>,
}

/// A throwaway HTTP/1.1 server on loopback (one request per connection) that answers each request
/// with `answer`'s status and body: a stand-in for the pagoPA Node in client tests. Returns its
/// base URL.
pub fn fake_http(answer: impl Fn(&FakeRequest) -> (u16, String) + Send + 'static) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let (mut length, mut soap_action) = (0usize, String::new());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if lower.starts_with("soapaction:") {
                    soap_action = line["soapaction:".len()..].trim().trim_matches('"').to_owned();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, text) = answer(&FakeRequest { request_line, soap_action, body });
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    format!("http://{addr}")
}
