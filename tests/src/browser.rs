//! Headless Chromium through chromedriver.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use tempfile::TempDir;

use crate::{free_port, wait_for_port};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The profile's folder for downloads.
const DOWNLOADS: &str = "downloads";

pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: TempDir,
    /// One test at a time drives browsers (see [`Turn`]).
    _turn: Turn,
}

/// One end-to-end test at a time in a test process: the page tests measure
/// progress and latency, and two tests' etcds and Chromiums on 2 cores would
/// skew them. Every test takes its turn first thing ([`Turn::take`]), and a
/// browser takes one too. A lock here (not `--test-threads=1`) lets
/// `scripts/test.sh` build and run the workspace in one `cargo test`, with
/// one feature resolution. A test is its thread (libtest runs each on its
/// own, and `#[tokio::test]` drives the body there), so one test may hold
/// several turns (two browsers): they are counted per thread.
#[must_use = "the turn ends when this is dropped"]
pub struct Turn;

/// The thread whose turn it is, and how many browsers it holds.
static TURN: std::sync::Mutex<(Option<std::thread::ThreadId>, usize)> =
    std::sync::Mutex::new((None, 0));
static TURN_FREED: std::sync::Condvar = std::sync::Condvar::new();

impl Turn {
    /// Wait for this test's turn (at once if this thread has it already).
    pub fn take() -> Self {
        let me = std::thread::current().id();
        let mut turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        while turn.0.is_some_and(|owner| owner != me) {
            turn = TURN_FREED.wait(turn).unwrap_or_else(|e| e.into_inner());
        }
        *turn = (Some(me), turn.1 + 1);
        Turn
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        turn.1 -= 1;
        if turn.1 == 0 {
            turn.0 = None;
            TURN_FREED.notify_all();
        }
    }
}

/// Where `scripts/setup.sh` installs axe-core (override: `ETCD_LENS_AXE`).
pub fn axe_path() -> std::path::PathBuf {
    std::env::var_os("ETCD_LENS_AXE").map_or_else(
        || std::path::PathBuf::from("/opt/etcd-lens-tools/node_modules/axe-core/axe.min.js"),
        std::path::PathBuf::from,
    )
}

/// One accessibility rule broken on the page, as axe-core reports it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    /// CSS selectors of (at most five of) the elements that break it.
    pub nodes: Vec<String>,
}

impl Browser {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// A browser whose system theme is dark (`prefers-color-scheme: dark`).
    pub async fn start_dark() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(dark: bool) -> Self {
        let turn = Turn::take();
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so Drop can kill chromedriver and every browser process.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e} (run scripts/setup.sh)"));
        wait_for_port("chromedriver", port, Duration::from_secs(20));
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = serde_json::json!({
            // Chrome's performance log carries every network event: the tests count requests with it.
            // Its browser log carries the console: CSP violations fail the tests.
            "goog:loggingPrefs": { "performance": "ALL", "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-quic", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                    // Blink's preferred colour scheme: 0 dark, 1 light.
                    format!("--blink-settings=preferredColorScheme={}", if dark { 0 } else { 1 }),
                ],
                // Downloads land in the profile, not the user's folder, unasked.
                "prefs": {
                    "download.default_directory": profile.path().join(DOWNLOADS).display().to_string(),
                    "download.prompt_for_download": false,
                }
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a chromedriver session");
        Self {
            client,
            driver,
            profile,
            _turn: turn,
        }
    }

    /// Save what the window shows as `target/screenshots/{name}.png` (the
    /// product's pictures; the README shows some of them).
    pub async fn screenshot(&self, name: &str) {
        let dir = crate::workspace_root().join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("target/screenshots");
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("writing a screenshot");
    }

    /// Resize the window (CSS pixels of the viewport, near enough).
    pub async fn set_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resizing the window");
    }

    /// Run axe-core over the page as it is now (WCAG 2.1 A/AA and best
    /// practices) and return what it finds. axe-core is injected through
    /// WebDriver, so the page's CSP and markup stay as they ship.
    pub async fn axe(&self) -> Vec<Violation> {
        let path = axe_path();
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "reading axe-core at {} ({e}): run scripts/setup.sh",
                path.display()
            )
        });
        let loaded = self
            .client
            .execute(&format!("{source}\n;return typeof window.axe;"), vec![])
            .await
            .expect("injecting axe-core");
        assert_eq!(loaded, serde_json::json!("object"), "axe-core did not load");
        let out = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                window.axe.run(document, {
                    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
                    resultTypes: ['violations'],
                }).then(r => done(JSON.stringify(r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
                }))))).catch(e => done('error: ' + e));"#,
                vec![],
            )
            .await
            .expect("running axe-core");
        let text = out.as_str().unwrap_or_default();
        serde_json::from_str(text).unwrap_or_else(|e| panic!("axe-core said {text:?}: {e}"))
    }

    /// Fail on any serious or critical accessibility violation on the page now.
    pub async fn assert_accessible(&self, when: &str) {
        let bad: Vec<Violation> = self
            .axe()
            .await
            .into_iter()
            .filter(|v| matches!(v.impact.as_deref(), Some("serious" | "critical")))
            .collect();
        assert!(
            bad.is_empty(),
            "{when}: axe-core finds serious violations: {bad:#?}"
        );
    }

    /// Where the browser saves downloads.
    pub fn downloads_dir(&self) -> std::path::PathBuf {
        self.profile.path().join(DOWNLOADS)
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigating");
    }

    /// Load the page at `url`, open the snapshot at `path`, and wait until its
    /// SHA-256 trailer is verified (the passes then run on).
    pub async fn open_snapshot(&self, url: &str, path: &std::path::Path) {
        self.goto(url).await;
        self.pick_file(path).await;
        self.wait_attr("trailer-status", "data-state", |s| s == "verified")
            .await;
    }

    /// Give a file to the page's file input (waiting for the page to render it).
    pub async fn pick_file(&self, path: &std::path::Path) {
        self.pick_file_into("file-input", path).await;
    }

    /// Give a file to the file input `[data-testid=testid]`, once it exists.
    pub async fn pick_file_into(&self, testid: &str, path: &std::path::Path) {
        let path = path.canonicalize().expect("an existing file");
        let deadline = Instant::now() + Duration::from_secs(30);
        let css = format!("[data-testid={testid}]");
        let input = loop {
            match self.client.find(Locator::Css(&css)).await {
                Ok(el) => break el,
                Err(e) if Instant::now() > deadline => {
                    panic!("no file input {testid} on the page: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        input
            .send_keys(path.to_str().expect("utf-8 path"))
            .await
            .expect("choosing a file");
    }

    /// The file `name` in the downloads folder, once the browser has saved it whole.
    pub async fn downloaded(&self, name: &str) -> Vec<u8> {
        let saved = self.downloads_dir().join(name);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(bytes) = std::fs::read(&saved)
                && !bytes.is_empty()
            {
                return bytes;
            }
            assert!(Instant::now() < deadline, "{name} was not saved");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Text of the element with `data-testid`, once it exists.
    pub async fn text(&self, testid: &str) -> String {
        self.wait_text(testid, |_| true).await
    }

    /// Wait until `[data-testid=testid]` exists and its text satisfies `ok`; return the text.
    /// An element inside a closed `<details>` (the Overview's File details) is
    /// not rendered, so WebDriver gives no text for it: its text content is
    /// read instead.
    pub async fn wait_text(&self, testid: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_for(
            testid,
            "text",
            |el| async move {
                let shown = el.text().await.ok()?;
                if shown.is_empty() && !el.is_displayed().await.unwrap_or(true) {
                    el.prop("textContent").await.ok().flatten()
                } else {
                    Some(shown)
                }
            },
            ok,
        )
        .await
    }

    /// An attribute of `[data-testid=testid]` once it satisfies `ok`.
    pub async fn wait_attr(&self, testid: &str, attr: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_for(
            testid,
            attr,
            |el| async move { el.attr(attr).await.ok().flatten() },
            ok,
        )
        .await
    }

    /// The current value of the input `[data-testid=testid]` (its property, not
    /// its attribute) once it satisfies `ok`.
    pub async fn wait_value(&self, testid: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_prop(testid, "value", ok).await
    }

    /// A DOM property of `[data-testid=testid]` (`value`, `checked`, `disabled`:
    /// what the element is now, not what its markup said) once it satisfies `ok`.
    pub async fn wait_prop(&self, testid: &str, prop: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_for(
            testid,
            prop,
            |el| async move { el.prop(prop).await.ok().flatten() },
            ok,
        )
        .await
    }

    /// Poll `read` on `[data-testid=testid]` until its value satisfies `ok` (30 s at most).
    async fn wait_for<F, Fut>(
        &self,
        testid: &str,
        what: &str,
        read: F,
        ok: impl Fn(&str) -> bool,
    ) -> String
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Option<String>>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = None;
        loop {
            let css = format!("[data-testid=\"{testid}\"]");
            if let Ok(el) = self.client.find(Locator::Css(&css)).await
                && let Some(v) = read(el).await
            {
                if ok(&v) {
                    return v;
                }
                last = Some(v);
            }
            if Instant::now() > deadline {
                let body = self.body_text().await;
                panic!(
                    "timed out waiting for the {what} of {css}; last {last:?}; page says:\n{body}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Click `[data-testid=testid]`, once it exists.
    pub async fn click(&self, testid: &str) {
        let el = self.find(testid).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("clicking [data-testid={testid}]: {e}"));
    }

    /// Click the first element matching `css`, once there is one.
    pub async fn click_css(&self, css: &str) {
        self.wait_css(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Click the first element matching `css` whose text contains `text`, once there is one.
    pub async fn click_containing(&self, css: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for el in self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
            {
                if el.text().await.is_ok_and(|t| t.contains(text)) {
                    el.click()
                        .await
                        .unwrap_or_else(|e| panic!("clicking {css} with {text:?}: {e}"));
                    return;
                }
            }
            assert!(Instant::now() < deadline, "no {css} containing {text:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Replace the text of the input `[data-testid=testid]` with `text`, typed.
    pub async fn type_into(&self, testid: &str, text: &str) {
        let el = self.find(testid).await;
        el.clear().await.expect("clearing an input");
        el.send_keys(text).await.expect("typing");
    }

    /// The element `[data-testid=testid]`, once it exists (30 s at most).
    pub async fn find(&self, testid: &str) -> Element {
        self.wait_css(&format!("[data-testid=\"{testid}\"]")).await
    }

    /// The first element matching `css`, once there is one (30 s at most).
    pub async fn wait_css(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(el) => return el,
                Err(e) if Instant::now() > deadline => {
                    let body = self.body_text().await;
                    panic!("no {css} on the page: {e}; page says:\n{body}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Wait until no `[data-testid=testid]` is on the page (10 s at most),
    /// else fail with `why`: an absence is checked once the page has settled.
    pub async fn wait_gone(&self, testid: &str, why: &str) {
        let css = format!("[data-testid=\"{testid}\"]");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.client.find(Locator::Css(&css)).await.is_ok() {
            if Instant::now() > deadline {
                let body = self.body_text().await;
                panic!("{css} is still on the page: {why}; page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Turn the mouse wheel by `delta_y` pixels over the middle of `[data-testid=testid]`.
    pub async fn wheel(&self, testid: &str, delta_y: i64) {
        use fantoccini::actions::{WheelAction, WheelActions};
        self.find(testid).await;
        // Where its middle is in the window (the action's origin is the
        // viewport), once the page shows it, as a user would scroll to it first.
        let at = self
            .client
            .execute(
                &format!(
                    "const el = document.querySelector('[data-testid=\"{testid}\"]');
                     el.scrollIntoView({{ block: 'center' }});
                     const r = el.getBoundingClientRect();
                     return [r.x + r.width / 2, r.y + r.height / 2];"
                ),
                vec![],
            )
            .await
            .expect("the element's position");
        let (x, y) = (at[0].as_f64().unwrap_or(0.0), at[1].as_f64().unwrap_or(0.0));
        let mut wheel = WheelActions::new("wheel".into());
        wheel.push(WheelAction::Scroll {
            duration: None,
            x: x as i64,
            y: y as i64,
            delta_x: 0,
            delta_y,
        });
        self.client
            .perform_actions(wheel)
            .await
            .expect("turning the mouse wheel");
    }

    /// The page's whole text and markup (attributes included) and every
    /// export link's content, decoded: where a leaked value would show.
    pub async fn everything_shown(&self) -> String {
        self.client
            .execute(
                "const links = [...document.querySelectorAll('a[href^=\"data:\"]')].map(a => {
                   const h = a.getAttribute('href'); const i = h.indexOf(',');
                   try { return decodeURIComponent(h.slice(i + 1)); } catch (e) { return h; } });
                 return [document.body.innerText, document.documentElement.outerHTML, ...links].join('\\n');",
                vec![],
            )
            .await
            .expect("reading the page")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Fail on any Content-Security-Policy violation the console reported
    /// since the last call (the page's CSP must hold on every view).
    pub async fn assert_no_csp_violations(&self, when: &str) {
        let log = self
            .client
            .issue_cmd(ChromeCmd::BrowserLog)
            .await
            .expect("reading the browser log");
        let violations: Vec<String> = log
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str())
            .filter(|m| {
                m.contains("Content Security Policy") || m.contains("Content-Security-Policy")
            })
            .map(str::to_string)
            .collect();
        assert!(
            violations.is_empty(),
            "{when}: the console reports CSP violations: {violations:#?}"
        );
    }

    /// URLs of the requests the page (and its workers) started since the
    /// last call, from Chrome's performance log (`Network.requestWillBeSent`).
    pub async fn requests_since_last_call(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(ChromeCmd::PerformanceLog)
            .await
            .expect("reading the performance log");
        let mut urls = Vec::new();
        for entry in log.as_array().into_iter().flatten() {
            let Some(msg) = entry["message"].as_str() else {
                continue;
            };
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(msg) else {
                continue;
            };
            if msg["message"]["method"] == "Network.requestWillBeSent" {
                urls.push(
                    msg["message"]["params"]["request"]["url"]
                        .as_str()
                        .unwrap_or("?")
                        .to_string(),
                );
            }
        }
        urls
    }

    /// Cut the page off the network (Chrome's network emulation), or restore it.
    pub async fn set_offline(&self, offline: bool) {
        self.client
            .issue_cmd(ChromeCmd::NetworkConditions { offline })
            .await
            .expect("setting network conditions");
    }

    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(e) => format!("<no body: {e}>"),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // `kill -KILL -- -PGID`: chromedriver and the browsers it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

/// chromedriver's own endpoints, which fantoccini has no methods for.
#[derive(Debug)]
enum ChromeCmd {
    PerformanceLog,
    BrowserLog,
    NetworkConditions { offline: bool },
}

impl fantoccini::wd::WebDriverCompatibleCommand for ChromeCmd {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let path = match self {
            ChromeCmd::PerformanceLog | ChromeCmd::BrowserLog => "se/log",
            ChromeCmd::NetworkConditions { .. } => "chromium/network_conditions",
        };
        base_url.join(&format!(
            "session/{}/{path}",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = match self {
            ChromeCmd::PerformanceLog => serde_json::json!({ "type": "performance" }),
            ChromeCmd::BrowserLog => serde_json::json!({ "type": "browser" }),
            ChromeCmd::NetworkConditions { offline } => serde_json::json!({
                "network_conditions": {
                    "offline": offline, "latency": 0,
                    "download_throughput": -1, "upload_throughput": -1
                }
            }),
        };
        (http::Method::POST, Some(body.to_string()))
    }
}
