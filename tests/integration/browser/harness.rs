//! Starting chromedriver and a headless Chromium for one test, and small polling helpers around fantoccini.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

/// One browser at a time in the whole test process.
static ONE_BROWSER: Mutex<()> = Mutex::const_new(());

/// How long any polled condition may take.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// A headless Chromium session. Dropping it kills chromedriver and the browser (its process group).
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

/// Where an executable is: an environment override, then `PATH`, then `/usr/bin`.
fn find_program(override_var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(override_var) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    for name in names {
        for dir in dirs.iter().chain([PathBuf::from("/usr/bin")].iter()) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a probe port")
        .local_addr()
        .expect("probe address")
        .port()
}

impl Browser {
    /// Starts a browser, or returns `None` (after saying so loudly) when none is installed and the environment
    /// does not require one.
    pub async fn start() -> Option<Browser> {
        Self::start_with(&[]).await
    }

    /// Like [`Browser::start`], with extra Chromium arguments (`--force-dark-mode`, say).
    pub async fn start_with(extra_args: &[&str]) -> Option<Browser> {
        let required = std::env::var("HOOKSCOPE_REQUIRE_BROWSER").is_ok_and(|value| value == "1");
        let chromium = find_program("HOOKSCOPE_CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]);
        let chromedriver = find_program("HOOKSCOPE_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
            let message = "\n\n*** BROWSER TEST SKIPPED: chromium and chromedriver are not installed ***\n\
                           *** install them (apt-get install chromium chromium-driver) to run the inspector \
                           page tests; set HOOKSCOPE_REQUIRE_BROWSER=1 to make this a failure ***\n";
            if required {
                panic!("{message}");
            }
            eprintln!("{message}");
            return None;
        };
        let turn = ONE_BROWSER.lock().await;
        let profile = tempfile::tempdir().expect("browser profile directory");
        let port = free_port();
        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        {
            use std::os::unix::process::CommandExt;
            // Its own process group, so dropping the browser can end chromedriver and Chromium together.
            command.process_group(0);
        }
        let driver = command.spawn().expect("chromedriver starts");
        let mut browser_args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        browser_args.extend(extra_args.iter().map(|arg| (*arg).to_owned()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium.to_string_lossy(), "args": browser_args },
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities);
        // chromedriver needs a moment to listen; the session itself may take a few seconds on a busy machine.
        let started = tokio::time::Instant::now();
        let client = loop {
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(error) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!(
                    "cannot start a Chromium session through {}: {error}",
                    chromedriver.display()
                ),
            }
        };
        Some(Browser {
            client,
            driver,
            _profile: profile,
            _turn: turn,
        })
    }

    /// Ends the session cleanly (the browser closes), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Drop kills what is left.
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Polls `expression` (a JavaScript expression) until it is truthy; returns its value.
    pub async fn wait_for(&self, what: &str, expression: &str) -> Value {
        let script = format!("return ({expression});");
        let deadline = tokio::time::Instant::now() + DEADLINE;
        let mut last;
        loop {
            match self.client.execute(&script, vec![]).await {
                Ok(value) if truthy(&value) => return value,
                Ok(value) => last = value,
                Err(error) => last = Value::String(format!("error: {error}")),
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}: `{expression}` was {last}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page is live (its event stream connected).
    pub async fn wait_live(&self) {
        self.wait_for(
            "the live stream to connect",
            "document.getElementById('conn').classList.contains('conn-live')",
        )
        .await;
    }

    /// The request ids in the list, top to bottom.
    pub async fn list_ids(&self) -> Vec<i64> {
        let value = self
            .js(
                "return [...document.querySelectorAll('#list > li')].map(li => Number(li.dataset.id));",
                vec![],
            )
            .await;
        serde_json::from_value(value).expect("ids")
    }

    /// Waits until the list shows exactly `expected` (top to bottom).
    pub async fn wait_list(&self, expected: &[i64]) {
        let wanted = serde_json::to_string(expected).expect("ids JSON");
        let expression = format!(
            "JSON.stringify([...document.querySelectorAll('#list > li')].map(li => Number(li.dataset.id))) === '{wanted}'"
        );
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if truthy(&self.js(&format!("return {expression};"), vec![]).await) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "the list never showed {expected:?}; it shows {:?}",
                    self.list_ids().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self
            .client
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no element {css}: {error}"));
        element
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
    }

    /// Types keys into whatever has the focus (`\u{E007}` is Enter).
    pub async fn keys(&self, text: &str) {
        let active = self.client.active_element().await.expect("an active element");
        active.send_keys(text).await.expect("send keys");
    }

    /// The text of the first element matching `css`, or `None`.
    pub async fn text(&self, css: &str) -> Option<String> {
        let value = self
            .js(
                "const n = document.querySelector(arguments[0]); return n ? n.textContent : null;",
                vec![json!(css)],
            )
            .await;
        value.as_str().map(str::to_owned)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole process group: chromedriver and the Chromium it started.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
