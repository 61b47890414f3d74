//! Headless Chromium screenshots of the portal's pages in the demo (phone width), saved under
//! `docs/screenshots/`. Skipped, with a printed notice, when Chromium is not installed.
//! Not yet done: driving the whole flow over the DevTools protocol and the axe-core scan.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{Server, data_dir};

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

#[test]
fn portal_pages_render_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("browser test skipped: chromium is not installed (.ci/run installs it)");
        return;
    };
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let pages = [
        ("home", "/"),
        ("ente", "/enti/c_esempio"),
        ("modulo-spontaneo", "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI"),
        ("paga-avviso", "/avviso"),
        ("carrello-vuoto", "/carrello"),
    ];
    for (name, path) in pages {
        let file = out.join(format!("{name}.png"));
        let profile = tmp.path().join(format!("chromium-{name}"));
        let status = Command::new(&browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
            .args(["--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=412,1400"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--screenshot={}", file.display()))
            .arg(server.url(path))
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        let png = std::fs::read(&file).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "{name}: no screenshot");
    }
}
