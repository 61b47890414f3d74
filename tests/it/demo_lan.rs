//! The demo as the Docker image runs it, opened from another machine of the LAN: the command and
//! the environment are read from the `Dockerfile` (`ENV`, `CMD`), listening on all interfaces,
//! with the public address the README's `docker run` gives, here 127.0.0.2 (loopback on Linux, but
//! not the address mypay and its simulator use between themselves). A browser there follows only
//! the addresses the demo printed: the portal, Checkout at the simulator and back, a receipt.
//! Then the IT staff's commands against that demo: `config show --demo`, `reporting fetch --demo`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::portal::{Browser, checkout, verify_email};
use crate::station::open_debts;
use crate::support::{bin, post};

/// The address other machines reach the demo at.
const LAN_HOST: &str = "127.0.0.2";

/// The `ENV` variables and the `CMD` of the Dockerfile.
fn dockerfile() -> (Vec<(String, String)>, Vec<String>) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap();
    // Continuation lines joined, comments dropped: one instruction a line.
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        match line.trim_end().strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    let mut env = Vec::new();
    let mut cmd = Vec::new();
    for instruction in instructions {
        if let Some(rest) = instruction.strip_prefix("ENV ") {
            for pair in rest.split_whitespace() {
                let (key, value) = pair.split_once('=').unwrap();
                env.push((key.to_owned(), value.to_owned()));
            }
        } else if let Some(rest) = instruction.strip_prefix("CMD ") {
            cmd = serde_json::from_str(rest.trim()).unwrap();
        }
    }
    (env, cmd)
}

/// A port free on all interfaces whose next one is free too (the simulator's).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let first = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("0.0.0.0", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two free ports in a row");
}

/// The URL at the end of the banner line containing `label`.
fn printed(banner: &[String], label: &str) -> String {
    let line = banner.iter().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no {label:?} in {banner:?}"));
    line.rsplit(' ').next().unwrap().trim_end_matches('/').to_owned()
}

#[test]
fn the_docker_demo_is_paid_from_another_machine_through_the_printed_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (image_env, cmd) = dockerfile();
    assert_eq!(cmd, ["demo"], "the image's default command");
    let listen = image_env.iter().find(|(k, _)| k == "MYPAY_SERVER_LISTEN").map(|(_, v)| v.as_str());
    assert_eq!(listen, Some("0.0.0.0:8080"), "the image listens on all interfaces");
    // The image's environment with this test's data directory and ports; the public address as
    // the README's `docker run -e MYPAY_SERVER_PUBLIC_URL=...` gives it.
    let port = free_port_pair();
    let listen = format!("0.0.0.0:{port}");
    let public = format!("http://{LAN_HOST}:{port}");
    let env: Vec<(String, String)> = image_env
        .iter()
        .map(|(k, v)| match k.as_str() {
            "MYPAY_DATA_DIR" => (k.clone(), data.display().to_string()),
            "MYPAY_SERVER_LISTEN" => (k.clone(), listen.clone()),
            _ => (k.clone(), v.clone()),
        })
        .chain([("MYPAY_SERVER_PUBLIC_URL".to_owned(), public.clone())])
        .collect();
    let started = Instant::now();
    let mut child = Command::new(bin())
        .args(&cmd)
        .current_dir(&data)
        .env_remove("MYPAY_CONFIG")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _child = Kill(child);
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("operator login");
        banner.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    assert_eq!(banner[0], format!("mypay {} listening on {listen} (http, all interfaces)", env!("CARGO_PKG_VERSION")));
    assert!(banner.iter().all(|l| !l.contains("http://0.0.0.0")), "{banner:?}");
    let portal = printed(&banner, "citizen portal: ");
    let operators = printed(&banner, "operator area: ");
    let sim = printed(&banner, "pagoPA simulator (Node, Checkout, PSPs; demo only): ");
    assert_eq!(portal, public);
    assert_eq!(operators, format!("{public}/operatore"));
    assert_eq!(sim, format!("http://{LAN_HOST}:{}", port + 1), "the simulator on the next port, same host");

    // The browser on the LAN: a notice looked up, paid at the simulator, and its receipt.
    let debts = open_debts(&data);
    let mut b = Browser::new(&portal);
    assert_eq!(b.get("/operatore/accedi").status, 200);
    let found = b.submit("/avviso", "/avviso", &[("ente", "01234567897"), ("avviso", &debts[0].1)]);
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", &debts[0].1)]).status,
        303
    );
    verify_email(&mut b, "mario@example.it");
    let back = checkout(&mut b, &sim, "OK");
    assert!(back.starts_with(&format!("{portal}/carrello/esito/")), "{back}");
    let outcome = b.get(&back);
    assert!(outcome.body.contains("Pagamento eseguito"), "{}", outcome.body);
    let start = outcome.body.find("href=\"/ricevute/").unwrap() + "href=\"".len();
    let receipt = outcome.body[start..].split('"').next().unwrap().to_owned();
    assert_eq!(b.get(&receipt).status, 200);
    // The simulator's page is its own, under the demo banner.
    let index = Browser::new(&sim).get("/");
    assert!(index.body.contains("Simulatore pagoPA — solo demo"), "{}", index.body);

    // IT staff, on the same machine and environment (`docker exec`): the demo's settings and its
    // reporting flows, with no other variable.
    let mypay = |args: &[&str]| {
        let out = Command::new(bin())
            .args(args)
            .current_dir(&data)
            .env_remove("MYPAY_CONFIG")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let shown: serde_json::Value = serde_json::from_str(&mypay(&["config", "show", "--demo", "--json"])).unwrap();
    assert_eq!(shown["station"]["broker_id"], "99999000013");
    assert_eq!(shown["station"]["station_id"], "99999000013_01");
    assert_eq!(shown["server"]["public_url"], public.as_str());
    assert_eq!(shown["node"]["base_url"], format!("http://127.0.0.1:{}", port + 1));
    let plain = mypay(&["config", "show"]);
    assert!(
        plain.contains(
            "# station.broker_id and station.station_id are not set: `mypay demo` uses 99999000013 and \
             99999000013_01 (see `mypay config show --demo`)\n"
        ),
        "{plain}"
    );
    let generated = post(&format!("{sim}/sim/fdr/generate"), "application/json", b"{}");
    assert!(generated.body.contains("\"fdr\""), "{}", generated.body);
    let fetched: serde_json::Value = serde_json::from_str(&mypay(&["reporting", "fetch", "--demo", "--json"])).unwrap();
    assert_eq!(
        (fetched["stored"].as_u64(), fetched["failures"].as_array().map(Vec::len)),
        (Some(1), Some(0)),
        "{fetched}"
    );
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}
