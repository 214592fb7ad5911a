//! Headless Chromium through chromedriver: started with its own profile in a
//! process group of its own, driven by fantoccini, killed on drop; and the
//! wait for a started process's loopback port.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_lens_bench::free_port;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    pub(crate) async fn start() -> Self {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the memory sampler finds every browser
            // process by it, and the end kills exactly this group.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        wait_for_port("chromedriver", port, Duration::from_secs(20));
        let profile =
            std::env::temp_dir().join(format!("etcd-lens-bench-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let mut args: Vec<String> = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-quic", "--window-size=1280,900",
            // A reloaded page must not stay alive (with its worker's memory) in the bfcache.
            "--disable-features=BackForwardCache",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        // BENCH_CHROMIUM_LOG=FILE: Chromium's log, the page's and workers' console included.
        if let Ok(file) = std::env::var("BENCH_CHROMIUM_LOG") {
            args.push("--enable-logging".into());
            args.push(format!("--log-file={file}"));
        }
        let caps = json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
        });
        let Value::Object(caps) = caps else {
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
        }
    }

    pub(crate) fn pgid(&self) -> i32 {
        i32::try_from(self.driver.id()).unwrap()
    }

    pub(crate) async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Poll `script` (which returns a boolean) until true.
    pub(crate) async fn wait_js(&self, what: &str, script: &str, limit: Duration) {
        let t0 = Instant::now();
        while self.js(script).await != Value::Bool(true) {
            assert!(t0.elapsed() < limit, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Load the app at `url` afresh and wait for its worker.
    pub(crate) async fn load_app(&self, url: &str) {
        self.client.goto(url).await.expect("the app");
        self.wait_js(
            "the worker",
            r#"const e = document.querySelector('[data-testid="worker-ready"]'); return !!e && e.getAttribute("data-ready") === "true";"#,
            Duration::from_secs(60),
        )
        .await;
    }

    pub(crate) async fn pick(&self, css: &str, file: &Path) {
        let input = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        input
            .send_keys(file.to_str().expect("utf-8 path"))
            .await
            .expect("choosing the file");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver and the browsers it started: exactly our process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub(crate) fn wait_for_port(what: &str, port: u16, limit: Duration) {
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < limit, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
