//! A real browser (headless Chromium through chromedriver's WebDriver protocol) uses the page as
//! a practitioner would: open `/`, type a query, submit, click a facet, see the narrowed results
//! and counts, open "why these tags", follow a page link. Screenshots are kept in
//! `target/browser-screenshots/`. Needs the Debian packages `chromium` and `chromium-driver`
//! (installed by `.ci/run`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::util::{self, s};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP/1.1 request with `Connection: close`; returns status and body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    // Read the head, then exactly the body (servers may keep the connection open).
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed before the response head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    let length =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = c.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16).unwrap_or(0);
            if size == 0 || rest.len() < nl + 2 + size {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
            rest = &rest[(nl + 4 + size).min(rest.len())..];
        }
        body = out;
    }
    (status, body)
}

struct Driver {
    port: u16,
    session: String,
}

impl Driver {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, raw) = http(self.port, method, &format!("/session/{}{path}", self.session), body.as_ref());
        let v: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        assert!(status == 200, "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }
    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }
    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, raw) = http(
                self.port,
                "POST",
                &format!("/session/{}/element", self.session),
                Some(&json!({"using": "css selector", "value": css})),
            );
            if status == 200 {
                let v: Value = serde_json::from_slice(&raw).unwrap();
                return v["value"][ELEMENT].as_str().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "no element {css:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    fn click(&self, el: &str) {
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }
    fn text(&self, el: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/text"), None).as_str().unwrap_or("").to_string()
    }
    fn attr(&self, el: &str, name: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/attribute/{name}"), None).as_str().unwrap_or("").to_string()
    }
    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_string()
    }
    fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        let dir = util::root().join("target/browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

fn wait_until(mut f: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn total_of(text: &str) -> u64 {
    text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no count in {text:?}"))
}

#[test]
fn a_practitioner_searches_drills_down_and_opens_a_page() {
    let test = "browser::a_practitioner_searches_drills_down_and_opens_a_page";
    let Some(driver_bin) =
        util::tool(test, "chromedriver", "Debian package chromium-driver", &["/usr/lib/chromium/chromedriver"])
    else {
        return;
    };
    if util::tool(test, "chromium", "Debian package chromium", &[]).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let port = util::free_port();
    let _server = util::Kill(
        util::command()
            .args(["serve", "--index", s(&tmp.path().join("idx")), "--addr", &format!("127.0.0.1:{port}")])
            .args(["--sample", s(&util::corpus())])
            .current_dir(util::root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until(
        || TcpStream::connect(("127.0.0.1", port)).is_ok() && http(port, "GET", "/api/health", None).0 == 200,
        "the server",
    );

    let dport = util::free_port();
    let _chromedriver = util::Kill(
        Command::new(driver_bin)
            .arg(format!("--port={dport}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until(|| TcpStream::connect(("127.0.0.1", dport)).is_ok(), "chromedriver");
    let profile = tmp.path().join("chrome-profile");
    let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"args": [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,1400", format!("--user-data-dir={}", profile.display())]}}}});
    let (status, raw) = http(dport, "POST", "/session", Some(&caps));
    let v: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(status, 200, "new session: {v}");
    let d = Driver { port: dport, session: v["value"]["sessionId"].as_str().unwrap().to_string() };

    // Open the page, type a query, submit.
    let base = format!("http://127.0.0.1:{port}");
    d.go(&format!("{base}/"));
    let q = d.find("#q");
    d.cmd("POST", &format!("/element/{q}/value"), Some(json!({"text": "spare parts for handpumps"})));
    d.click(&d.find("form.search button[type=submit]"));
    wait_until(|| d.url().contains("q=spare"), "the results page");
    let summary = d.text(&d.find("section.results > p"));
    let before = total_of(&summary);
    assert!(before > 0, "{summary}");
    d.screenshot("1-results");

    // The brief above the results: the causes the reports give, each a link to the results
    // filtered by it, with passages to read.
    let brief = d.find("details.brief.wide");
    let text = d.text(&brief);
    assert!(text.contains("Why it failed") && text.contains("best-matching"), "{text}");
    let cause = d.find("details.brief.wide ol.causes > li > a");
    let cause_href = d.attr(&cause, "href");
    assert!(cause_href.contains("filter=%2Ffailure_cause%2F"), "{cause_href}");
    assert!(!d.text(&d.find("details.brief.wide ol.causes q")).is_empty());

    // Click the first failure-cause facet: fewer or equal results, shown as an active filter.
    let facet = d.find("aside ul li a");
    let facet_label = d.text(&facet);
    let facet_count: u64 =
        d.text(&d.find("aside ul li .count")).trim_matches(|c| c == '(' || c == ')').parse().unwrap();
    d.click(&facet);
    wait_until(|| d.url().contains("filter="), "the filtered page");
    let after = total_of(&d.text(&d.find("section.results > p")));
    assert_eq!(after, facet_count, "the facet count ({facet_count}) announced the narrowed total");
    assert!(after <= before);
    let active = d.text(&d.find("aside .active"));
    assert!(active.contains(&facet_label), "{active:?} shows {facet_label:?}");
    d.screenshot("2-drilled-down");

    // Why these tags.
    let why = d.find("article.hit a[href*='#tags']");
    d.click(&why);
    wait_until(|| d.url().contains("/documents/"), "the document page");
    assert!(d.text(&d.find("#tags")).contains("Why these tags"));
    d.screenshot("3-why-these-tags");

    // On a phone-sized window the page still works: the search box is there and usable.
    d.cmd("POST", "/window/rect", Some(json!({"width": 390, "height": 844})));
    d.go(&format!("{base}/?q=latrine"));
    let q = d.find("#q");
    assert_eq!(d.attr(&q, "value"), "latrine");
    // The brief is there, collapsed: the results stay in view.
    let narrow = d.find("details.brief.narrow");
    let shown = d.cmd("GET", &format!("/element/{narrow}/displayed"), None);
    assert_eq!(shown, true, "the phone's brief is shown");
    let open = d.cmd("GET", &format!("/element/{narrow}/property/open"), None);
    assert_eq!(open, false, "and collapsed");
    d.screenshot("4-phone");
    d.cmd("POST", "/window/rect", Some(json!({"width": 1280, "height": 1400})));

    // Back to a query over PDFs and follow a page link to the original at that page.
    d.go(&format!("{base}/?q=handpump+mechanic&filter=%2Flanguage%2Fen"));
    let page_link = d.find("p.snippet a[href*='#page=']");
    let href = d.attr(&page_link, "href");
    assert!(href.contains("/api/documents/") && href.contains("/file#page="), "{href}");
    let path = href.trim_start_matches(&base).split('#').next().unwrap().to_string();
    let (status, bytes) = http(port, "GET", &path, None);
    assert_eq!(status, 200);
    assert!(bytes.starts_with(b"%PDF"), "the link opens the original PDF");
    d.click(&page_link);
    wait_until(|| d.url().contains("#page="), "the PDF at its page");
    let _ = http(dport, "DELETE", &format!("/session/{}", d.session), None);
}
