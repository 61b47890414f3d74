//! The static assets' pipeline (`web/`): what pages need, small and compressed. Generated from the
//! repository and committed: the Bootstrap Italia stylesheet purged of the rules no template can
//! use, with `@font-face` rules for the subset fonts (`vendor/subset-fonts.sh`), and a brotli and a
//! gzip twin of every text asset. `MYPAY_WRITE_ASSETS=1 cargo test --test it assets::` writes them;
//! without it these tests check that the committed files are what the sources give, that every
//! class of the rendered pages (portal, back office, simulator) has a rule, that every text asset
//! is served compressed when asked and is the same once decompressed, and that a first visit to a
//! page needs at most 250 KB.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::portal::Browser;
use crate::support::{Server, data_dir};

/// The purged stylesheet, the one the layout links.
const CSS: &str = "bootstrap-italia/css/bootstrap-italia.used.css";
/// Bootstrap Italia's whole stylesheet, as the npm package ships it: the purge's input.
const VENDOR_CSS: &str = "vendor/bootstrap-italia/css/bootstrap-italia.min.css";
/// The `@font-face` rules of the vendored fonts, pointing at the unsubset files.
const VENDOR_FONTS: &str = "vendor/bootstrap-italia/fonts.css";
/// Where the templates are: every class a page can carry is written in a string literal here. The
/// simulator's pages (`src/nodesim`) have a stylesheet of their own, not these assets.
const TEMPLATE_DIRS: [&str; 1] = ["src/web"];
/// The most a first visit to a page may need, compressed: HTML, CSS, JavaScript and fonts.
const FIRST_VISIT_BUDGET: usize = 250 * 1024;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn writing() -> bool {
    std::env::var_os("MYPAY_WRITE_ASSETS").is_some()
}

const HOW_TO_WRITE: &str = "run `MYPAY_WRITE_ASSETS=1 cargo test --test it assets::` and commit web/";

// ---------------------------------------------------------------------------------------------
// The classes the templates can use.

/// The words of the templates' string literals: a class is used when it is one of them, or a
/// word ending in `-` followed by another (`"alert-" (kind)` with `kind` one of "success", ...).
struct Used {
    words: BTreeSet<String>,
    prefixes: Vec<String>,
}

impl Used {
    fn of_templates() -> Used {
        let mut words = BTreeSet::new();
        for dir in TEMPLATE_DIRS {
            for file in files_under(&root().join(dir)) {
                if file.extension().is_some_and(|e| e == "rs") {
                    let source = std::fs::read_to_string(&file).unwrap();
                    for literal in string_literals(&source) {
                        words.extend(
                            literal
                                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                                .filter(|w| !w.is_empty())
                                .map(str::to_owned),
                        );
                    }
                }
            }
        }
        let prefixes = words.iter().filter(|w| w.ends_with('-')).cloned().collect();
        Used { words, prefixes }
    }

    fn has(&self, class: &str) -> bool {
        self.words.contains(class)
            || self
                .prefixes
                .iter()
                .any(|p| class.strip_prefix(p.as_str()).is_some_and(|rest| self.words.contains(rest)))
    }
}

/// The contents of the string literals of Rust source (comments skipped; raw strings read as
/// plain ones, which is enough for words).
fn string_literals(source: &str) -> Vec<String> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            // A char literal ('"', '\'', 'x'), not a lifetime.
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 3,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                out.push(String::from_utf8_lossy(&bytes[start..i.min(bytes.len())]).into_owned());
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { stack.push(path) } else { out.push(path) }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// A CSS reader just big enough for a minified stylesheet: rules, nested at-rules, strings.

enum Node {
    /// `selectors { declarations }`.
    Rule(String, String),
    /// `@media ... { nodes }`, `@supports`, `@container`, `@layer`.
    Group(String, Vec<Node>),
    /// Any other at-rule, kept whole (`@keyframes name {...}`, `@font-face {...}`, `@charset ...;`).
    Other(String),
}

/// Reads nodes from `css[*i..]` up to the end or a closing `}` (consumed).
fn parse(css: &str, i: &mut usize) -> Vec<Node> {
    let b = css.as_bytes();
    let mut nodes = Vec::new();
    loop {
        while *i < b.len() && (b[*i].is_ascii_whitespace() || css[*i..].starts_with("/*")) {
            if css[*i..].starts_with("/*") {
                *i += css[*i..].find("*/").map_or(b.len() - *i, |end| end + 2);
            } else {
                *i += 1;
            }
        }
        if *i >= b.len() {
            return nodes;
        }
        if b[*i] == b'}' {
            *i += 1;
            return nodes;
        }
        let start = *i;
        let head_end = scan_to(css, *i, b"{;");
        let head = css[start..head_end].trim().to_owned();
        if b.get(head_end) == Some(&b';') {
            *i = head_end + 1;
            nodes.push(Node::Other(format!("{head};")));
            continue;
        }
        *i = head_end + 1;
        let is_group = ["@media", "@supports", "@container", "@layer"].iter().any(|g| head.starts_with(g));
        if is_group {
            let children = parse(css, i);
            nodes.push(Node::Group(head, children));
        } else {
            let body_start = *i;
            let body_end = block_end(css, body_start);
            *i = body_end + 1;
            if head.starts_with('@') {
                nodes.push(Node::Other(css[start..=body_end].to_owned()));
            } else {
                nodes.push(Node::Rule(head, css[body_start..body_end].to_owned()));
            }
        }
    }
}

/// The index of the first of `stops` at the top level (outside strings, parentheses, brackets).
fn scan_to(css: &str, mut i: usize, stops: &[u8]) -> usize {
    let b = css.as_bytes();
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\\' => i += 1,
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            c if depth == 0 && stops.contains(&c) => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The index of the `}` closing a block whose body starts at `i`.
fn block_end(css: &str, mut i: usize) -> usize {
    let mut depth = 0usize;
    loop {
        i = scan_to(css, i, b"{}");
        match css.as_bytes().get(i) {
            Some(b'{') => depth += 1,
            Some(b'}') if depth == 0 => return i,
            Some(b'}') => depth -= 1,
            _ => return i,
        }
        i += 1;
    }
}

/// A selector list split at its top-level commas.
fn selectors(list: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let comma = scan_to(list, start, b",");
        out.push(list[start..comma].trim());
        if comma >= list.len() {
            return out;
        }
        start = comma + 1;
    }
}

/// The classes a selector requires of the page: those outside parentheses (`:not(.x)` requires
/// nothing, `:is(.a, .b)` one of several) and outside attribute selectors; escapes decoded.
fn required_classes(selector: &str) -> Vec<String> {
    let chars: Vec<char> = selector.chars().collect();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            '\\' => i += 1,
            '.' if depth == 0 => {
                let mut name = String::new();
                i += 1;
                while i < chars.len() {
                    let c = chars[i];
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii() {
                        name.push(c);
                        i += 1;
                    } else if c == '\\' && i + 1 < chars.len() {
                        let hex: String = chars[i + 1..].iter().take(6).take_while(|c| c.is_ascii_hexdigit()).collect();
                        if hex.is_empty() {
                            name.push(chars[i + 1]);
                            i += 2;
                        } else {
                            name.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap_or('?'));
                            i += 1 + hex.len();
                            if chars.get(i) == Some(&' ') {
                                i += 1;
                            }
                        }
                    } else {
                        break;
                    }
                }
                out.push(name);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Keeps of `nodes` the rules with a selector whose classes the templates all use (that selector
/// only), the groups left with a rule, and the other at-rules whose name a kept rule names
/// (`@keyframes spin` when an `animation` says `spin`; `@font-face` of a family in use).
fn purge(nodes: &[Node], used: &Used) -> Vec<Node> {
    nodes
        .iter()
        .filter_map(|node| match node {
            Node::Rule(list, body) => {
                let kept: Vec<&str> = selectors(list)
                    .into_iter()
                    .filter(|s| required_classes(s).iter().all(|class| used.has(class)))
                    .collect();
                (!kept.is_empty()).then(|| Node::Rule(kept.join(","), body.clone()))
            }
            Node::Group(head, children) => {
                let kept = purge(children, used);
                (!kept.is_empty()).then(|| Node::Group(head.clone(), kept))
            }
            Node::Other(text) => Some(Node::Other(text.clone())),
        })
        .collect()
}

/// Drops the `@keyframes` and `@font-face` rules nothing kept refers to.
fn drop_unreferenced(nodes: Vec<Node>, kept_text: &str) -> Vec<Node> {
    nodes
        .into_iter()
        .filter_map(|node| match node {
            Node::Other(text) => {
                let name = if text.starts_with("@keyframes") || text.starts_with("@-webkit-keyframes") {
                    text.split_whitespace().nth(1).map(|n| n.trim_end_matches('{').to_owned())
                } else if text.starts_with("@font-face") {
                    text.split("font-family:")
                        .nth(1)
                        .and_then(|f| f.split([';', '}']).next())
                        .map(|f| f.trim().to_owned())
                } else {
                    None
                };
                match name {
                    Some(name) if !mentions(kept_text, &name) => None,
                    _ => Some(Node::Other(text)),
                }
            }
            Node::Group(head, children) => {
                let kept = drop_unreferenced(children, kept_text);
                (!kept.is_empty()).then_some(Node::Group(head, kept))
            }
            rule => Some(rule),
        })
        .collect()
}

/// Whether `name` occurs in `text` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(word) && !text[at + name.len()..].chars().next().is_some_and(word)
    })
}

fn render(nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Rule(list, body) => {
                out.push_str(list);
                out.push('{');
                out.push_str(body);
                out.push('}');
            }
            Node::Group(head, children) => {
                out.push_str(head);
                out.push('{');
                render(children, out);
                out.push('}');
            }
            Node::Other(text) => out.push_str(text),
        }
    }
}

/// The text of the rules (not of the at-rules kept whole), where keyframes and fonts are named.
fn rules_text(nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Rule(_, body) => out.push_str(body),
            Node::Group(_, children) => rules_text(children, out),
            Node::Other(_) => {}
        }
    }
}

/// A short content hash of a file, as `web::assets::version` computes it for the `?v=` of URLs.
fn version(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The vendored `@font-face` rules, pointing at the subset fonts in `web/` with their versions.
fn font_faces() -> String {
    let source = std::fs::read_to_string(root().join(VENDOR_FONTS)).unwrap();
    let mut out = String::new();
    for line in source.lines().filter(|l| l.starts_with("@font-face")) {
        let (before, rest) = line.split_once("url('../fonts/").unwrap();
        let (file, after) = rest.split_once('\'').unwrap();
        let subset = file.replace("latin-ext_latin", "it");
        let bytes = std::fs::read(root().join("web/bootstrap-italia/fonts").join(&subset))
            .unwrap_or_else(|e| panic!("web/bootstrap-italia/fonts/{subset}: {e} (vendor/subset-fonts.sh makes it)"));
        out.push_str(&format!("{before}url(../fonts/{subset}?v={}{after}\n", version(&bytes)));
    }
    out
}

/// The stylesheet the layout links: the subset fonts, then Bootstrap Italia's rules in use.
fn generated_css() -> String {
    let vendor = std::fs::read_to_string(root().join(VENDOR_CSS)).unwrap();
    let vendor = vendor.trim_start_matches('\u{feff}');
    let licence_end = vendor.find("*/").unwrap() + 2;
    let nodes = parse(vendor, &mut licence_end.clone());
    let kept = purge(&nodes, &Used::of_templates());
    let mut text = String::new();
    rules_text(&kept, &mut text);
    let kept = drop_unreferenced(kept, &text);
    let mut out = String::new();
    out.push_str(&vendor[..licence_end]);
    out.push_str(
        "\n/* Generated by tests/it/assets.rs (MYPAY_WRITE_ASSETS=1 cargo test --test it assets::) from\n   \
         vendor/bootstrap-italia: the @font-face rules of the subset fonts, then the rules whose classes\n   \
         the templates (src/web, src/nodesim) use. Do not edit. */\n",
    );
    out.push_str(&font_faces());
    render(&kept, &mut out);
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// Compression.

/// Whether `web/{path}` is text the server sends compressed when asked (fonts and images are
/// compressed already).
fn is_text(path: &Path) -> bool {
    !matches!(path.extension().and_then(|e| e.to_str()), Some("woff2" | "png" | "ico" | "br" | "gz"))
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).unwrap();
    out
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &data[..], &mut out).unwrap();
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A gzip member (RFC 1952) with no name and no time, so the same input gives the same bytes.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];
    out.extend(miniz_oxide::deflate::compress_to_vec(data, 10));
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

/// The data of a gzip member as [`gzip`] writes them (no optional header fields), checked.
fn gunzip(data: &[u8]) -> Vec<u8> {
    assert!(data.len() > 18 && data[..4] == [0x1f, 0x8b, 8, 0], "not a plain gzip member");
    let out = miniz_oxide::inflate::decompress_to_vec(&data[10..data.len() - 8]).unwrap();
    let tail = &data[data.len() - 8..];
    assert_eq!(tail[..4], crc32(&out).to_le_bytes(), "gzip CRC");
    assert_eq!(tail[4..], (out.len() as u32).to_le_bytes(), "gzip size");
    out
}

fn text_assets() -> Vec<PathBuf> {
    files_under(&root().join("web")).into_iter().filter(|p| is_text(p)).collect()
}

fn twin(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap().display().to_string()
}

#[test]
fn the_committed_assets_are_what_the_sources_give() {
    let css_path = root().join("web").join(CSS);
    let css = generated_css();
    let committed = std::fs::read_to_string(&css_path).unwrap_or_default();
    if writing() {
        if committed != css {
            std::fs::create_dir_all(css_path.parent().unwrap()).unwrap();
            std::fs::write(&css_path, &css).unwrap();
        }
    } else {
        assert!(committed == css, "web/{CSS} is not what the templates and vendor/ give: {HOW_TO_WRITE}");
    }
    let mut stale = Vec::new();
    for path in text_assets() {
        let data = std::fs::read(&path).unwrap();
        for (ext, compress, decompress) in
            [("br", brotli as fn(&[u8]) -> Vec<u8>, unbrotli as fn(&[u8]) -> Vec<u8>), ("gz", gzip, gunzip)]
        {
            let file = twin(&path, ext);
            let fresh = std::fs::read(&file).is_ok_and(|packed| decompress(&packed) == data);
            if fresh {
                continue;
            }
            if writing() {
                std::fs::write(&file, compress(&data)).unwrap();
            } else {
                stale.push(relative(&file));
            }
        }
    }
    assert!(stale.is_empty(), "stale or missing compressed twins: {stale:?}: {HOW_TO_WRITE}");
    // No twin without its original (a renamed or deleted asset).
    for path in files_under(&root().join("web")) {
        if matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
            let original = path.with_extension("");
            if writing() && !original.exists() {
                std::fs::remove_file(&path).unwrap();
            } else {
                assert!(original.exists(), "{} has no original: {HOW_TO_WRITE}", relative(&path));
            }
        }
    }
    // The purge keeps what the layout needs and drops what no page has.
    for kept in [".it-header-wrapper", ".form-group label.active", ".btn-primary", ".alert-success", ".visually-hidden"]
    {
        assert!(css.contains(kept), "{kept} was purged");
    }
    for dropped in [".carousel", ".modal-dialog", ".megamenu", "VideoJS"] {
        assert!(!css.contains(dropped), "{dropped} was kept");
    }
}

#[test]
fn string_literals_and_selectors_are_read_as_the_purge_needs() {
    let source = r#"// "commento"
        let c = '"'; let q = '\''; fn f<'a>(x: &'a str) {} html! { div class="a b-c" { "testo \"d\"" } }"#;
    assert_eq!(string_literals(source), ["a b-c", r#"testo \"d\""#]);
    assert_eq!(required_classes(".a .b:not(.c)>.d[title='.e']::before"), ["a", "b", "d"]);
    assert_eq!(required_classes(".col-md-6,.w-\\31 00"), ["col-md-6", "w-100"]);
    assert_eq!(selectors("a,.b:is(.c,.d),[x=\",\"]"), ["a", ".b:is(.c,.d)", "[x=\",\"]"]);
    let used = Used { words: ["alert", "success"].map(str::to_owned).into(), prefixes: vec!["alert-".to_owned()] };
    assert!(used.has("alert-success") && !used.has("alert-danger"));
    let css = "@media (min-width:1px){.alert{a:b}.modal{c:d}}.x,.alert .y{e:f}@keyframes spin{to{g:h}}";
    let mut out = String::new();
    render(&purge(&parse(css, &mut 0), &used), &mut out);
    assert_eq!(out, "@media (min-width:1px){.alert{a:b}}@keyframes spin{to{g:h}}");
    let kept = drop_unreferenced(parse(css, &mut 0), "animation:spinner");
    let mut out = String::new();
    render(&kept, &mut out);
    assert!(!out.contains("@keyframes"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// The pages, as a browser gets them.

/// One raw HTTP/1.1 GET, so that the body is the bytes on the wire (no client decompression).
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn raw_get(base: &str, path: &str, headers: &[(&str, &str)]) -> Raw {
    let authority = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    let mut body = answer[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Raw { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().split(';').next().unwrap(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
}

/// The values of `attr="..."` in `html`, `&amp;` decoded.
fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!(" {attr}=\"");
    html.split(&needle).skip(1).map(|part| part.split('"').next().unwrap().replace("&amp;", "&")).collect()
}

/// The portal, back office and simulator pages of a demo (the back office logged in), as
/// (name, HTML).
fn demo_pages(server: &Server) -> Vec<(String, String)> {
    let mut portal = Browser::new(&server.base);
    let mut pages = Vec::new();
    let mut take = |browser: &mut Browser, path: &str| {
        let page = browser.get(path);
        assert!(matches!(page.status, 200 | 404), "{path}: {}", page.status);
        pages.push((path.to_owned(), page.body));
    };
    for path in [
        "/",
        "/enti/c_esempio",
        "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI",
        "/avviso",
        "/carrello",
        "/accedi",
        "/privacy/cookie",
        "/accessibilita",
        "/nessuna-pagina",
        "/operatore/accedi",
    ] {
        take(&mut portal, path);
    }
    let mut operator = Browser::new(&server.base);
    assert_eq!(crate::backoffice::login(&mut operator, "demo", &crate::backoffice::demo_password(server)).status, 303);
    for path in [
        "/operatore",
        "/operatore/c_esempio",
        "/operatore/c_esempio/dovuti?cerca=1",
        "/operatore/c_esempio/dovuti/1",
        "/operatore/c_esempio/dovuti/nuovo",
        "/operatore/c_esempio/flussi",
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/anomalie",
        "/operatore/c_esempio/giornale",
        "/operatore/c_esempio/impostazioni",
        "/operatore/c_esempio/tipi",
        "/operatore/c_esempio/tipi/nuovo",
        "/operatore/c_esempio/operatori",
        "/operatore/password",
    ] {
        take(&mut operator, path);
    }
    let sim = server.simulator_url();
    take(&mut portal, &format!("{sim}/"));
    let notice = serde_json::json!({"noticeNumber": "301000000000000144", "fiscalCode": "01234567897", "amount": 3000,
        "companyName": "Comune di Esempio", "description": "TARI 2026"});
    let cart = serde_json::json!({"paymentNotices": [notice], "returnUrls": {"returnOkUrl": "http://127.0.0.1/ok",
        "returnCancelUrl": "http://127.0.0.1/no", "returnErrorUrl": "http://127.0.0.1/ko"}});
    // The simulator answers with a redirect to the cart's page, which the client follows.
    let cart_page =
        crate::support::post(&format!("{sim}/checkout/ec/v1/carts"), "application/json", cart.to_string().as_bytes());
    assert!(cart_page.body.contains("Riepilogo del pagamento"), "{}", cart_page.body);
    pages.push(("the simulator's cart".to_owned(), cart_page.body));
    pages
}

/// The classes of `html`'s elements.
fn classes_of(html: &str) -> BTreeSet<String> {
    attribute_values(html, "class")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// Every class a selector of `css` requires, in any rule.
fn classes_with_rules(css: &str) -> BTreeSet<String> {
    fn walk(nodes: &[Node], out: &mut BTreeSet<String>) {
        for node in nodes {
            match node {
                Node::Rule(list, _) => {
                    for selector in selectors(list) {
                        out.extend(required_classes(selector));
                    }
                }
                Node::Group(_, children) => walk(children, out),
                Node::Other(_) => {}
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&parse(css.trim_start_matches('\u{feff}'), &mut 0), &mut out);
    out
}

/// Classes of the pages that no stylesheet styles, on purpose: hooks for scripts or tests, or
/// Bootstrap Italia markup whose rules need more than the page has.
const HOOKS: &[&str] = &[
    // The layout's navigation bar: Bootstrap Italia styles it only around a `.megamenu`.
    "has-megamenu",
];

#[test]
fn every_class_of_the_pages_has_a_rule() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    // The simulator's pages are styled by its own stylesheet.
    let sim = crate::support::get(&format!("{}/simulatore.css", server.simulator_url()));
    assert_eq!(sim.status, 200);
    let served = std::fs::read_to_string(root().join("web").join(CSS)).unwrap()
        + &std::fs::read_to_string(root().join("web/mypay.css")).unwrap()
        + &sim.body;
    let styled = classes_with_rules(&served);
    let vendor = classes_with_rules(&std::fs::read_to_string(root().join(VENDOR_CSS)).unwrap());
    let mut purged = Vec::new();
    let mut unstyled = Vec::new();
    for (page, html) in demo_pages(&server) {
        for class in classes_of(&html) {
            if styled.contains(&class) || HOOKS.contains(&class.as_str()) {
                continue;
            }
            let entry = format!("{class} ({page})");
            if vendor.contains(&class) { purged.push(entry) } else { unstyled.push(entry) }
        }
    }
    assert!(purged.is_empty(), "classes whose rules the purge dropped: {purged:?}: {HOW_TO_WRITE}");
    assert!(
        unstyled.is_empty(),
        "classes no stylesheet has a rule for (a typo? else list them in HOOKS): {unstyled:?}"
    );
}

#[test]
fn every_text_asset_is_served_compressed_when_asked() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    for path in text_assets() {
        let name = path.strip_prefix(root().join("web")).unwrap().display().to_string();
        let url = format!("/static/{name}");
        let original = std::fs::read(&path).unwrap();
        let plain = raw_get(&server.base, &url, &[]);
        assert_eq!((plain.status, plain.header("content-encoding")), (200, None), "{name}");
        assert_eq!(plain.body, original, "{name}");
        assert_eq!(plain.header("vary"), Some("Accept-Encoding"), "{name}");
        let mut etags = vec![plain.header("etag").unwrap().to_owned()];
        for (accept, coding, decompress) in [
            ("gzip, deflate, br, zstd", "br", unbrotli as fn(&[u8]) -> Vec<u8>),
            ("gzip", "gzip", gunzip),
            ("br;q=0, gzip;q=0.5", "gzip", gunzip),
            ("*", "br", unbrotli),
        ] {
            let packed = raw_get(&server.base, &url, &[("Accept-Encoding", accept)]);
            assert_eq!(packed.status, 200, "{name}");
            assert_eq!(packed.header("content-encoding"), Some(coding), "{name} with {accept}");
            assert_eq!(packed.header("vary"), Some("Accept-Encoding"), "{name}");
            assert_eq!(packed.header("cache-control"), plain.header("cache-control"), "{name}");
            assert_eq!(packed.header("content-type"), plain.header("content-type"), "{name}");
            assert_eq!(decompress(&packed.body), original, "{name} with {accept}");
            let etag = packed.header("etag").unwrap().to_owned();
            let again = raw_get(&server.base, &url, &[("Accept-Encoding", accept), ("If-None-Match", &etag)]);
            assert_eq!((again.status, again.header("etag")), (304, Some(etag.as_str())), "{name} with {accept}");
            etags.push(etag);
        }
        etags.sort();
        etags.dedup();
        assert_eq!(etags.len(), 3, "one ETag per encoding: {etags:?}");
        for refused in ["identity", "br;q=0, gzip;q=0", "compress"] {
            let plain = raw_get(&server.base, &url, &[("Accept-Encoding", refused)]);
            assert_eq!(
                (plain.header("content-encoding"), plain.body.len()),
                (None, original.len()),
                "{name}: {refused}"
            );
        }
        assert_eq!(raw_get(&server.base, &format!("{url}.br"), &[]).status, 404, "the twins are not pages");
    }
}

#[test]
fn a_first_visit_to_each_page_needs_at_most_250_kb() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = server.simulator_url();
    let accept = [("Accept-Encoding", "gzip, deflate, br, zstd")];
    let pages = [
        (server.base.clone(), "/"),
        (server.base.clone(), "/enti/c_esempio"),
        (server.base.clone(), "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI"),
        (server.base.clone(), "/avviso"),
        (server.base.clone(), "/operatore/accedi"),
        (sim, "/"),
    ];
    let mut report = Vec::new();
    for (base, path) in pages {
        let page = raw_get(&base, path, &accept);
        assert_eq!(page.status, 200, "{path}");
        let html = String::from_utf8(page.body.clone()).unwrap();
        let mut total = page.body.len();
        let mut assets: Vec<String> = attribute_values(&html, "href")
            .into_iter()
            .chain(attribute_values(&html, "src"))
            .filter(|u| u.starts_with("/static/"))
            .collect();
        // The fonts the stylesheets declare, all of them: which a page draws depends on its text.
        let mut declared = Vec::new();
        let mut i = 0;
        while i < assets.len() {
            let asset = raw_get(&base, &assets[i], &accept);
            assert_eq!(asset.status, 200, "{}", assets[i]);
            total += asset.body.len();
            if assets[i].contains(".css") {
                let css = match asset.header("content-encoding") {
                    Some("br") => unbrotli(&asset.body),
                    Some("gzip") => gunzip(&asset.body),
                    _ => asset.body.clone(),
                };
                let css = String::from_utf8(css).unwrap();
                let dir = assets[i].split('?').next().unwrap().rsplit_once('/').unwrap().0.to_owned();
                for url in css.split("url(").skip(1).map(|u| u.split(')').next().unwrap().trim_matches(['\'', '"'])) {
                    if url.starts_with("data:") {
                        continue;
                    }
                    let absolute = resolve(&dir, url);
                    declared.push(absolute.clone());
                    if !assets.contains(&absolute) {
                        assets.push(absolute);
                    }
                }
            }
            i += 1;
        }
        // A preloaded font is the stylesheet's URL exactly (with its `?v=`), or it is fetched twice.
        // The simulator's pages use the system's fonts.
        let portal = base == server.base;
        assert!(!portal || html.contains("<link rel=\"preload\" href=\"/static/"), "{path} preloads no font");
        for preload in html.split("<link rel=\"preload\" href=\"").skip(1).map(|p| p.split('"').next().unwrap()) {
            assert!(declared.iter().any(|d| d == preload), "{path} preloads {preload}, which no @font-face names");
        }
        report.push(format!("{path} {} B in {} files", total, assets.len() + 1));
        assert!(total <= FIRST_VISIT_BUDGET, "{path} needs {total} B on a first visit: {assets:?}");
    }
    eprintln!("first visit, compressed (all declared fonts counted): {}", report.join("; "));
}

/// `url` (relative, as in a stylesheet) against the folder `dir` of the stylesheet's URL.
fn resolve(dir: &str, url: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').collect();
    for segment in url.split('/') {
        match segment {
            ".." => {
                parts.pop();
            }
            "." => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}
