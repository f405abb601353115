//! The UI's figures, measured in real engines.
//!
//! `stackdesk-bench ui [--runs N] [--tasks N]`, in headless Chromium against `stackdesk ui`:
//! - **Start → all cards running**: from the click on Start to the moment the page shows three
//!   running cards (a `MutationObserver` in the page), N runs with Stop in between;
//! - **1,000 tasks streaming**: N products posted to the API while the task history is on screen;
//!   every animation frame's length is recorded in the page (a `requestAnimationFrame` loop) and
//!   the Long Animation Frames API lists frames over 50 ms; until the page shows N SUCCESS.
//!
//! `stackdesk-bench app-rss --app PATH`: the desktop app under Xvfb, stack started through its
//! control endpoint, then idle for 5 s: RSS of the app, its WebKit processes and the stack.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use e2e::{Binaries, Driver, UiServer};
use serde_json::{Value, json};

const START_AND_WAIT: &str = r"
const done = arguments[arguments.length - 1];
const ready = () => { const cards = [...document.querySelectorAll('.card')]; return cards.length === 3 && cards.every(c => c.dataset.state === 'running'); };
const t0 = performance.now();
const observer = new MutationObserver(() => { if (ready()) { observer.disconnect(); done(performance.now() - t0); } });
observer.observe(document.querySelector('#cards'), { subtree: true, attributes: true, childList: true });
document.querySelector('#start-stop').click();
";

const RECORD_FRAMES: &str = r"
window.__frames = []; window.__loaf = []; let last = performance.now();
const loop = (now) => { window.__frames.push(now - last); last = now; if (!window.__stopFrames) requestAnimationFrame(loop); };
requestAnimationFrame(loop);
try { new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__loaf.push(e.duration); }).observe({ type: 'long-animation-frame' }); } catch (e) { window.__loaf = null; }
return true;
";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Start timings and the streaming test in Chromium.
pub async fn run(runs: usize, tasks: usize, stackdesk: &Path, ui_dir: &Path) -> anyhow::Result<()> {
    let artifacts = std::env::temp_dir().join("stackdesk-bench-ui");
    std::fs::create_dir_all(&artifacts)?;
    let binaries = Binaries {
        stackdesk: stackdesk.to_path_buf(),
        ui_dir: ui_dir.to_path_buf(),
        app: None,
        artifacts: artifacts.clone(),
    };
    let server = UiServer::start(&binaries, &[("NOTIFY_SIMULATED_SECS", "0")])?;
    let driver = Driver::chromium().await?;
    let page = driver.session(&artifacts, "bench").await?;
    page.client.goto(&server.url).await?;
    page.wait_for("#start-stop").await;

    let mut starts = Vec::new();
    for run in 0..runs {
        let ms = page.client.execute_async(START_AND_WAIT, Vec::new()).await?.as_f64().context("a number")?;
        starts.push(ms);
        if run + 1 < runs {
            page.click("#start-stop").await;
            page.wait_js("all stopped", "return [...document.querySelectorAll('.card')].every(c => c.dataset.state === 'stopped') && document.querySelector('#start-stop').dataset.running === 'false' && !document.querySelector('#start-stop').disabled;").await;
        }
    }
    starts.sort_by(f64::total_cmp);

    // Streaming: the history on screen, N tasks through the API.
    page.click("nav button[data-tab=tasks]").await;
    page.js(RECORD_FRAMES).await?;
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut posts = tokio::task::JoinSet::new();
    for chunk in 0..8 {
        let client = client.clone();
        let api = server.api.clone();
        let count = tasks / 8 + usize::from(chunk < tasks % 8);
        posts.spawn(async move {
            for n in 0..count {
                let body = json!({"name": format!("bench {chunk}-{n}"), "price": 1});
                client.post(format!("{api}/products/")).json(&body).send().await?.error_for_status()?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = posts.join_next().await {
        done??;
    }
    let posted = started.elapsed();
    let script = format!(
        "return document.querySelector('#task-filters .chip[data-state=SUCCESS] .count')?.textContent === '{tasks}';"
    );
    test_support::wait::until("every task SUCCESS on the page", Duration::from_secs(300), || async {
        matches!(page.js(&script).await, Ok(Value::Bool(true))).then_some(())
    })
    .await;
    let shown = started.elapsed();
    let frames = page.js("window.__stopFrames = true; return window.__frames;").await?;
    let loaf = page.js("return window.__loaf;").await?;
    let mut frames: Vec<f64> =
        frames.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    frames.sort_by(f64::total_cmp);
    let loaf: Option<Vec<f64>> = loaf.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect());
    let longest_loaf = loaf.as_ref().map(|l| l.iter().copied().fold(0.0, f64::max));

    let mut out = std::io::stdout().lock();
    writeln!(out, "| UI figure (headless Chromium, `stackdesk ui`) | value |")?;
    writeln!(out, "|---|---|")?;
    writeln!(
        out,
        "| Start click → three cards running, median of {runs} | {:.0} ms (min {:.0}, max {:.0}) |",
        percentile(&starts, 0.5),
        starts.first().copied().unwrap_or(f64::NAN),
        starts.last().copied().unwrap_or(f64::NAN)
    )?;
    writeln!(
        out,
        "| {tasks} tasks: all posted / all SUCCESS on the page | {:.1} s / {:.1} s |",
        posted.as_secs_f64(),
        shown.as_secs_f64()
    )?;
    writeln!(
        out,
        "| animation frames while streaming: count, median, p99, longest | {}, {:.1} ms, {:.1} ms, {:.1} ms |",
        frames.len(),
        percentile(&frames, 0.5),
        percentile(&frames, 0.99),
        frames.last().copied().unwrap_or(f64::NAN)
    )?;
    match (&loaf, longest_loaf) {
        (Some(loaf), Some(longest)) => writeln!(
            out,
            "| long animation frames (> 50 ms): count, longest; over 100 ms | {}, {:.0} ms; {} |",
            loaf.len(),
            longest,
            loaf.iter().filter(|d| **d > 100.0).count()
        ),
        _ => writeln!(out, "| long animation frames | not supported by this browser |"),
    }?;
    drop(out);
    page.close().await?;
    Ok(())
}

/// RSS and PSS (shared pages divided among their users, so the sum is not inflated) in kB of
/// `pid` and everything below it, by process name.
fn tree_rss(pid: u32) -> Vec<(String, u32, u64, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![pid];
    while let Some(pid) = stack.pop() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_default().to_string()
        };
        let rss: u64 = field("VmRSS:").trim_end_matches(" kB").trim().parse().unwrap_or(0);
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let pss: u64 = rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0);
        if rss > 0 {
            out.push((field("Name:"), pid, rss, pss));
        }
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
                stack.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// The desktop app's first launch (a fresh home: no settings, no WebKit profile, no Redis data)
/// up to all ready, and its idle RSS with the stack running. Pass the installed app
/// (`/usr/bin/stackdesk-desktop`) to measure what users get.
pub async fn app_rss(app: &Path) -> anyhow::Result<()> {
    let display = e2e::Display::start()?;
    let home = tempfile::tempdir()?;
    let (env, ports) = e2e::stack_env(home.path(), &[]);
    let launched = Instant::now();
    let mut child = e2e::Owned::spawn(
        Command::new(app)
            .env("DISPLAY", &display.name)
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )?;
    let stdout = child.0.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().context("the app printed no browser link")??;
        if let Some(url) = line.strip_prefix("Stackdesk in a browser: ") {
            break url.trim().to_string();
        }
    };
    let up = launched.elapsed();
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let (base, token) = url.split_once("/#token=").context("a link with a token")?;
    let clicked = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{base}/api/stack/start"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    let started = clicked.elapsed();
    drop(response);
    reqwest::get(format!("{}/health", ports.api_url())).await?.error_for_status()?;
    // Idle: let start-up allocations settle before reading memory (a measurement, not a sync).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let processes = tree_rss(child.0.id());
    let total: u64 = processes.iter().map(|p| p.2).sum();
    let total_pss: u64 = processes.iter().map(|p| p.3).sum();
    let mb = |kb: u64| kb as f64 / 1024.0;
    let mut out = std::io::stdout().lock();
    writeln!(out, "| desktop app, idle with the stack running (Xvfb) | RSS | PSS |")?;
    writeln!(out, "|---|---:|---:|")?;
    for (name, pid, rss, pss) in &processes {
        writeln!(out, "| {name} (pid {pid}) | {:.1} MB | {:.1} MB |", mb(*rss), mb(*pss))?;
    }
    writeln!(out, "| **total** | **{:.1} MB** | **{:.1} MB** |", mb(total), mb(total_pss))?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    writeln!(out, "| first launch → the app's control endpoint answers | {:.0} ms | |", ms(up))?;
    writeln!(out, "| start through the control endpoint → all ready | {:.0} ms | |", ms(started))?;
    writeln!(out, "| first launch → all ready | {:.0} ms | |", ms(up + started))?;
    drop(out);
    e2e::stop_politely(&mut child.0, Duration::from_secs(30))?;
    Ok(())
}
