//! # stackdesk-e2e
//!
//! What the end-to-end tests drive: the UI in a real engine, through WebDriver.
//!
//! # Layout
//! - [`Binaries`]: the built `stackdesk` CLI, desktop app and UI (paths set by `cargo xtask test`).
//! - [`Display`]: an Xvfb display of our own for the desktop app.
//! - [`UiServer`]: `stackdesk ui` on free ports (the browser mode), and its link with the token.
//! - [`Driver`]: chromedriver (headless Chromium) or tauri-driver (WebKitWebDriver and the app).
//! - [`Page`]: a WebDriver session with waits on conditions (never sleeps) and screenshots.
//! - [`wine`]: a Wine prefix of a test's own, for the Windows build and its installer.

pub mod wine;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use test_support::redis::free_port;
use test_support::wait;

/// The end-to-end tests take this in turn: each runs a whole stack and a browser engine (or Wine),
/// and two at once on two cores would race for ports and time.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a UI condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The built programs under test.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The `stackdesk` CLI.
    pub stackdesk: PathBuf,
    /// The built UI (`ui/dist`).
    pub ui_dir: PathBuf,
    /// The desktop app, when built.
    pub app: Option<PathBuf>,
    /// Where screenshots go.
    pub artifacts: PathBuf,
}

impl Binaries {
    /// From `STACKDESK_BIN`, `STACKDESK_UI_DIR`, `STACKDESK_APP` and `STACKDESK_ARTIFACTS`, which
    /// `cargo xtask test` sets after building them.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let stackdesk = var("STACKDESK_BIN")
            .context("STACKDESK_BIN is not set: run the end-to-end tests with `cargo xtask test`")?;
        let ui_dir = var("STACKDESK_UI_DIR").context("STACKDESK_UI_DIR is not set: run with `cargo xtask test`")?;
        let artifacts = var("STACKDESK_ARTIFACTS").unwrap_or_else(|| std::env::temp_dir().join("stackdesk-e2e"));
        std::fs::create_dir_all(&artifacts)?;
        Ok(Self { stackdesk, ui_dir, app: var("STACKDESK_APP"), artifacts })
    }
}

/// A child process killed and waited for when dropped, with every process it started (it leads
/// its own process group: tauri-driver's WebKitWebDriver, chromedriver's Chromium).
#[derive(Debug)]
pub struct Owned(pub Child, bool);

impl Owned {
    /// Owns `child` (only the child itself is killed at the end).
    pub fn new(child: Child) -> Self {
        Self(child, false)
    }

    /// Spawns `command` as the leader of a new process group (the whole group is killed at the end).
    pub fn spawn(command: &mut Command) -> std::io::Result<Self> {
        std::os::unix::process::CommandExt::process_group(command, 0);
        command.spawn().map(|child| Self(child, true))
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // Only while the leader is unreaped is its pid sure to still name our group.
        let running = matches!(self.0.try_wait(), Ok(None));
        if self.1
            && running
            && let Ok(pid) = i32::try_from(self.0.id())
        {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Asks a child to stop politely (SIGTERM), then waits up to `deadline`, then kills it.
pub fn stop_politely(child: &mut Child, deadline: Duration) -> anyhow::Result<std::process::ExitStatus> {
    if child.try_wait()?.is_none() {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id())?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
    }
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if start.elapsed() > deadline {
            child.kill()?;
            bail!("did not stop within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An Xvfb display of our own.
#[derive(Debug)]
pub struct Display {
    /// `:N`.
    pub name: String,
    _xvfb: Owned,
}

impl Display {
    /// Starts Xvfb on the first free display number from 90, 1280×860.
    pub fn start() -> anyhow::Result<Self> {
        Self::with_size(1280, 860)
    }

    /// Starts Xvfb on the first free display number from 90, `width`×`height` (a projector's
    /// 1280×720: a full-screen window is then exactly that).
    pub fn with_size(width: u32, height: u32) -> anyhow::Result<Self> {
        for n in 90..200 {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let name = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([&name, "-screen", "0", &format!("{width}x{height}x24"), "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting Xvfb (apt install xvfb)")?;
            let xvfb = Owned::new(child);
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            wait::until_blocking("Xvfb's socket", Duration::from_secs(10), || socket.exists().then_some(()));
            return Ok(Self { name, _xvfb: xvfb });
        }
        bail!("no free X display number")
    }
}

/// `stackdesk ui` on free ports, with its own Redis port, API port, settings and data.
#[derive(Debug)]
pub struct UiServer {
    /// The link with the token.
    pub url: String,
    /// The API's base URL.
    pub api: String,
    /// The task monitor's base URL.
    pub monitor: String,
    /// The port of the Redis the stack starts.
    pub redis_port: u16,
    /// The process.
    pub child: Owned,
    _dirs: tempfile::TempDir,
}

/// The ports of a test stack's API and monitor.
#[derive(Debug, Clone, Copy)]
pub struct StackPorts {
    /// `API_PORT`.
    pub api: u16,
    /// `MONITOR_PORT`.
    pub monitor: u16,
}

impl StackPorts {
    /// The API's base URL.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api)
    }

    /// The monitor's base URL.
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor)
    }
}

/// The environment a test stack runs with: its own ports, a fast simulated send, and
/// `extra` on top.
pub fn stack_env(dirs: &Path, extra: &[(&str, &str)]) -> (Vec<(String, String)>, StackPorts) {
    let ports = StackPorts { api: free_port(), monitor: free_port() };
    let mut env: Vec<(String, String)> = vec![
        ("REDIS_URL".into(), format!("redis://127.0.0.1:{}/0", free_port())),
        ("API_PORT".into(), ports.api.to_string()),
        ("MONITOR_PORT".into(), ports.monitor.to_string()),
        // Long enough for a task to be seen mid-way (STARTED) on a diagram.
        ("NOTIFY_SIMULATED_SECS".into(), "2".into()),
        ("TASK_RETRY_COUNTDOWN_SECS".into(), "0".into()),
        ("STACKDESK_DATA_DIR".into(), dirs.join("data").display().to_string()),
        ("TELEGRAM_BOT_TOKEN".into(), String::new()),
        ("TELEGRAM_CHAT_ID".into(), String::new()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    (env, ports)
}

/// The port in the `REDIS_URL` of a stack's environment.
pub fn redis_port_of(env: &[(String, String)]) -> Option<u16> {
    let url = &env.iter().find(|(k, _)| k == "REDIS_URL")?.1;
    url.rsplit(':').next()?.split('/').next()?.parse().ok()
}

impl UiServer {
    /// Starts `stackdesk ui` and reads its link.
    pub fn start(binaries: &Binaries, extra: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dirs = tempfile::tempdir()?;
        let (env, ports) = stack_env(dirs.path(), extra);
        let redis_port = redis_port_of(&env).context("no Redis port in the stack's environment")?;
        let mut child = Command::new(&binaries.stackdesk)
            .arg("ui")
            .arg("--dir")
            .arg(&binaries.ui_dir)
            .arg("--config-dir")
            .arg(dirs.path().join("config"))
            .envs(env)
            .current_dir(dirs.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting stackdesk ui")?;
        let stdout = child.stdout.take().context("stdout")?;
        let child = Owned::new(child);
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().context("stackdesk ui printed nothing")??;
        let url = first.strip_prefix("Stackdesk UI: ").context("no link in the first line")?.trim().to_string();
        // Keep reading so the pipe never fills.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Ok(Self { url, api: ports.api_url(), monitor: ports.monitor_url(), redis_port, child, _dirs: dirs })
    }
}

/// A WebDriver server.
#[derive(Debug)]
pub struct Driver {
    /// Its URL.
    pub url: String,
    capabilities: serde_json::Map<String, Value>,
    _process: Owned,
    /// Chromium's profile (tauri-driver needs none).
    _profile: Option<tempfile::TempDir>,
}

async fn wait_for_driver(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let status = format!("{url}/status");
    wait::until("the WebDriver server", Duration::from_secs(30), || {
        let request = client.get(&status).send();
        async move { request.await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
    })
    .await;
    Ok(())
}

impl Driver {
    /// chromedriver with headless Chromium (Debian's `chromium` and `chromium-driver`).
    pub async fn chromium() -> anyhow::Result<Self> {
        let dirs = tempfile::tempdir()?;
        let port = free_port();
        let process = Owned::spawn(
            Command::new("chromedriver").arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()),
        )
        .context("starting chromedriver (apt install chromium-driver)")?;
        let url = format!("http://127.0.0.1:{port}");
        wait_for_driver(&url).await?;
        let profile = dirs.path().join("profile").display().to_string();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,860", format!("--user-data-dir={profile}")],
            },
        });
        let capabilities = capabilities.as_object().cloned().unwrap_or_default();
        Ok(Self { url, capabilities, _process: process, _profile: Some(dirs) })
    }

    /// tauri-driver (with Debian's WebKitWebDriver) launching `app` on `display`, with `env`
    /// for the app (which inherits tauri-driver's environment).
    /// Its own log and the app's go to `log`.
    pub async fn tauri(
        app: &Path,
        display: &Display,
        env: &[(String, String)],
        home: &Path,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let log = std::fs::File::create(log)?;
        let port = free_port();
        let native = free_port();
        let driver = std::env::var_os("TAURI_DRIVER").map_or_else(|| PathBuf::from("tauri-driver"), PathBuf::from);
        let process = Owned::spawn(
            Command::new(&driver)
                .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
                .env("DISPLAY", &display.name)
                .env("XDG_CONFIG_HOME", home.join("config"))
                .env("XDG_DATA_HOME", home.join("data"))
                .env("XDG_CACHE_HOME", home.join("cache"))
                .envs(env.iter().cloned())
                .stdout(log.try_clone()?)
                .stderr(log),
        )
        .with_context(|| format!("starting {} (cargo install tauri-driver)", driver.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        wait_for_driver(&url).await?;
        let capabilities = json!({"browserName": "wry", "tauri:options": {"application": app}});
        let capabilities = capabilities.as_object().cloned().unwrap_or_default();
        Ok(Self { url, capabilities, _process: process, _profile: None })
    }

    /// A new session.
    pub async fn session(&self, artifacts: &Path, prefix: &str) -> anyhow::Result<Page> {
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(self.capabilities.clone())
            .connect(&self.url)
            .await
            .context("opening a WebDriver session")?;
        Ok(Page { client, artifacts: artifacts.to_path_buf(), prefix: prefix.to_string(), step: 0 })
    }
}

/// The in-page measurement of the shown diagram (an expression).
const DIAGRAM_CHECK: &str = include_str!("diagram_check.js");

/// What a viewer sees of the shown diagram, as `diagram_check.js` measures it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DiagramReport {
    /// The diagram's id.
    pub diagram: String,
    /// The smallest text on the drawing, in screen pixels.
    #[serde(rename = "minPx")]
    pub min_px: f64,
    /// That text.
    pub smallest: String,
    /// Labels not inside their node's shape.
    pub outside: Vec<Value>,
    /// Pairs of labels that intersect.
    pub overlaps: Vec<Value>,
    /// Label lines that start or end inside a word of the source.
    pub broken: Vec<Value>,
    /// Texts and controls under 4.5:1.
    pub contrast: Vec<Value>,
    /// The live lines by name.
    pub live: std::collections::BTreeMap<String, String>,
    /// Each node's lines, by node id.
    pub nodes: std::collections::BTreeMap<String, Vec<String>>,
    /// The viewport, CSS pixels.
    pub viewport: (u32, u32),
}

impl DiagramReport {
    /// The problems a viewer would see, one line each (empty when the drawing is clean).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, list) in [
            ("outside its shape", &self.outside),
            ("overlapping", &self.overlaps),
            ("broken inside a word", &self.broken),
            ("under 4.5:1", &self.contrast),
        ] {
            out.extend(list.iter().map(|item| format!("{}: {what}: {item}", self.diagram)));
        }
        out
    }
}

/// A WebDriver session on the UI.
pub struct Page {
    /// The session.
    pub client: Client,
    artifacts: PathBuf,
    prefix: String,
    step: u32,
}

impl Page {
    /// Runs `script` in the page and returns its value (`arguments` are not used).
    pub async fn js(&self, script: &str) -> anyhow::Result<Value> {
        Ok(self.client.execute(script, Vec::new()).await?)
    }

    /// Waits until `script` returns something other than `null`/`false`, and returns it.
    pub async fn wait_js(&self, what: &str, script: &str) -> Value {
        wait::until(what, DEADLINE, || async {
            match self.js(script).await {
                Ok(Value::Null | Value::Bool(false)) | Err(_) => None,
                Ok(value) => Some(value),
            }
        })
        .await
    }

    /// Clicks the element matching `css`, once it exists and is enabled.
    pub async fn click(&self, css: &str) {
        wait::until(&format!("clicking {css}"), DEADLINE, || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            if !element.is_enabled().await.ok()? {
                return None;
            }
            element.click().await.ok()
        })
        .await;
    }

    /// Types `text` into the field matching `css` (cleared first).
    pub async fn type_into(&self, css: &str, text: &str) {
        wait::until(&format!("typing into {css}"), DEADLINE, || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            element.clear().await.ok()?;
            element.send_keys(text).await.ok()
        })
        .await;
    }

    /// The text of the first element matching `css` (empty when there is none).
    pub async fn text(&self, css: &str) -> String {
        let script = format!("const e = document.querySelector({}); return e ? e.textContent : '';", json!(css));
        self.js(&script).await.ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    /// Waits until `css` matches an element.
    pub async fn wait_for(&self, css: &str) {
        let script = format!("return document.querySelector({}) !== null;", json!(css));
        self.wait_js(&format!("an element {css}"), &script).await;
    }

    /// Presses Start and waits until the three cards run; fails at once with the notice or the
    /// dialog the page shows when the stack could not start, and, when it only never gets there,
    /// with what the header and the cards said last (and a screenshot).
    pub async fn start_stack(&self) {
        self.click("#start-stop").await;
        let script = "const notice = document.querySelector('#notice').textContent;
             if (notice) return {end: 'notice: ' + notice};
             const dialog = document.querySelector('#dialog');
             if (dialog && !dialog.hidden) return {end: 'dialog: ' + dialog.textContent};
             const cards = [...document.querySelectorAll('.card')];
             if (cards.length === 3 && cards.every(c => c.dataset.state === 'running')) return {end: 'running'};
             const header = document.querySelector('#stack-state').textContent + ' | '
                 + document.querySelector('#start-stop').textContent;
             return {seen: header + ' | ' + cards.map(c => c.dataset.process + '=' + c.dataset.state).join(' ')};";
        let start = Instant::now();
        let mut seen = String::from("nothing");
        let end = loop {
            if let Ok(value) = self.js(script).await {
                if let Some(end) = value.get("end").and_then(Value::as_str) {
                    break end.to_string();
                }
                if let Some(now) = value.get("seen").and_then(Value::as_str) {
                    seen = now.to_string();
                }
            }
            if start.elapsed() > DEADLINE {
                let shot = self.screenshot_as("start-timeout").await.ok();
                panic!("the stack did not start in {DEADLINE:?}; the page said last: {seen} (screenshot {shot:?})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(end, "running");
    }

    /// Makes the page's viewport exactly `width`×`height` CSS pixels (the window around it is
    /// sized to fit, whatever the engine's frame). A resize lands when the engine gets round to
    /// it, so each try waits for the size to hold still before it corrects the window from it:
    /// correcting from a read taken before the resize applied would overshoot.
    pub async fn set_viewport(&self, width: u32, height: u32) -> anyhow::Result<()> {
        /// How long one window size may take to reach the page before the size it holds is
        /// taken as the engine's answer.
        const TAKE: Duration = Duration::from_secs(3);
        let (mut outer_w, mut outer_h) = (width, height);
        let mut seen = None;
        for _ in 0..4 {
            self.client.set_window_size(outer_w, outer_h).await?;
            let asked = Instant::now();
            let held = loop {
                let held = self.held_viewport().await?;
                if held == Some((width, height)) {
                    return Ok(());
                }
                if let Some(size) = held.filter(|_| asked.elapsed() > TAKE) {
                    break size;
                }
                if asked.elapsed() > DEADLINE {
                    bail!("the viewport never held still after a resize to {outer_w}×{outer_h} (last {seen:?})");
                }
                seen = held.or(seen);
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            seen = Some(held);
            outer_w = (outer_w + width).saturating_sub(held.0);
            outer_h = (outer_h + height).saturating_sub(held.1);
        }
        bail!("the viewport is {seen:?}, not {width}×{height}")
    }

    /// Waits until the viewport is `width`×`height` and holds it across two frames (a window
    /// manager or a full-screen switch resizes it on its own time).
    pub async fn wait_viewport(&self, width: u32, height: u32) -> anyhow::Result<()> {
        let start = Instant::now();
        let mut seen = None;
        loop {
            let held = self.held_viewport().await?;
            if held == Some((width, height)) {
                return Ok(());
            }
            seen = held.or(seen);
            if start.elapsed() > DEADLINE {
                bail!("the viewport is {seen:?} after {DEADLINE:?}, not {width}×{height}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The viewport's size when it is the same across two animation frames, `None` while it
    /// changes.
    async fn held_viewport(&self) -> anyhow::Result<Option<(u32, u32)>> {
        let value = self
            .js("const size = () => [innerWidth, innerHeight];
                 const first = size();
                 return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => {
                     const last = size();
                     done(first[0] === last[0] && first[1] === last[1] ? last : null);
                 })));")
            .await?;
        Ok(serde_json::from_value(value)?)
    }

    /// What a viewer sees of the shown diagram (see `diagram_check.js`): sizes, labels outside
    /// their shapes, overlaps, words broken inside, contrast, and the live lines.
    pub async fn check_diagram(&self) -> anyhow::Result<DiagramReport> {
        let report = self.js(&format!("return (\n{DIAGRAM_CHECK}\n);")).await?;
        serde_json::from_value(report.clone()).with_context(|| format!("reading the diagram check's report {report}"))
    }

    /// Presses and releases `key` as a keyboard (or a presentation clicker) does, on whatever
    /// has the focus.
    pub async fn press(&self, key: impl Into<char>) -> anyhow::Result<()> {
        use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
        let value = key.into();
        let actions = KeyActions::new("keyboard".into()).then(KeyAction::Down { value }).then(KeyAction::Up { value });
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// Saves a screenshot under exactly `name` (`.png` added), and returns its path.
    pub async fn screenshot_as(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = self.artifacts.join(format!("{}-{name}.png", self.prefix));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Saves a screenshot named after the step, and returns its path.
    pub async fn screenshot(&mut self, name: &str) -> anyhow::Result<PathBuf> {
        self.step += 1;
        let png = self.client.screenshot().await?;
        let path = self.artifacts.join(format!("{}-{:02}-{name}.png", self.prefix, self.step));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the session.
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await?;
        Ok(())
    }
}
