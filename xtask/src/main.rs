//! Project tasks. `cargo xtask <task>`:
//!
//! - `test`: installs what the tests need (apt: redis-server, python3-venv, WebKitGTK, Xvfb,
//!   WebKitWebDriver, Chromium; the pinned Python Celery venv; the UI's npm packages; tauri-driver),
//!   builds the UI, the `stackdesk` CLI (the app's sidecar) and the desktop app, then runs exactly
//!   what CI runs: rustfmt check, the UI's type check and unit tests, clippy with warnings denied
//!   (also for the supervisor's and the CLI's Windows code, on `x86_64-pc-windows-gnu`), every
//!   test — end-to-end in Chromium and in the app under Xvfb included — and rustdoc with warnings
//!   denied. It also builds the installers (apt: mingw-w64, nsis, wine64) for the tests that check
//!   them: the `.deb` installed and run, the Windows build and installer under Wine.
//! - `layers`: the layering check alone (no module of a crate uses one that uses it back).
//! - `types`: writes the UI's TypeScript types (`ui/src/gen/`) from the Rust types; `test` fails
//!   when they are stale.
//! - `bench`: the benchmarks (`bench/`), release build: the shipped worker beside BullMQ,
//!   Sidekiq, Celery and Dramatiq, and by concurrency with the Redis-bound ceiling (`--tasks N`);
//!   the API under wrk against FastAPI + Celery and Fastify + BullMQ (`--seconds N`); the
//!   supervisor. `bench ui`: the UI in Chromium and the desktop app's memory.
//! - `soak [--minutes N] [--seed S]`: the chaos soak alone (`stackdesk up` under load while
//!   Redis, the API and the worker are killed and Redis paused), as long as asked; `test` runs it
//!   for two minutes. A failing run prints its seed.
//! - `run`: builds the UI, the CLI and the desktop app (release) and opens the app (under Xvfb
//!   when there is no display; its browser link is printed either way).
//! - `up`: builds `stackdesk` (release) and runs `stackdesk up`: redis-server, the API and the
//!   worker under the supervisor in a terminal; Ctrl+C stops them.
//! - `ui`: builds the UI only (`ui/dist`).
//! - `package [deb | windows | all]`: the release installers — `.deb` and `.rpm` (Tauri's
//!   bundler), the Windows installer (cross-compiled, `packaging/windows/stackdesk.nsi`) — and
//!   their sizes.
//! - `fetch-redis-windows`: the pinned Redis for Windows (`packaging/windows/redis-windows.json`),
//!   downloaded, SHA-256 checked, unpacked into `resources/redis-windows/` for the installer.
//!
//! Every install step checks first, so running a task twice installs nothing twice.

mod cmd;
mod layers;
mod package;
mod prereqs;
mod sidecar;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd::{cargo, cargo_bin, root, run_checked, step, target_dir};
use crate::sidecar::build_sidecar;

fn main() -> std::process::ExitCode {
    match dispatch() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\nxtask: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn dispatch() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    let rest: Vec<String> = std::env::args().skip(2).collect();
    match task.as_str() {
        "test" | "ci" => test(),
        "layers" => layers_check(),
        "types" => types(),
        "bench" => bench(&rest),
        "soak" => soak(&rest),
        "run" => run(),
        "up" => up(),
        "ui" => {
            prereqs::ensure_system_packages()?;
            build_ui(false)
        }
        "package" => package_task(rest.first().map_or("all", String::as_str)),
        "fetch-redis-windows" => package::fetch_redis_windows(),
        _ => bail!(
            "usage: cargo xtask <test | ci | layers | types | bench [ui] [--tasks N] [--seconds N] [--runs N] \
             | soak [--minutes N] [--seed S] | run \
             | up | ui | package [deb | windows | all] | fetch-redis-windows>"
        ),
    }
}

/// Installs system packages and the Python venv; returns the venv's path.
fn prepare() -> anyhow::Result<PathBuf> {
    prereqs::ensure_system_packages()?;
    let venv = std::env::var_os("STACKDESK_TEST_VENV").map_or_else(|| target_dir().join("python-venv"), PathBuf::from);
    step(&format!("Python venv with Celery at {}", venv.display()));
    test_support::python::Venv::ensure_at(&venv).with_context(|| format!("preparing {}", venv.display()))?;
    Ok(venv)
}

/// `npm install` in `ui/` (versions pinned by `package-lock.json`) unless `node_modules` already
/// matches it. Not `npm ci`: this registry's metadata leaves the Tauri CLI's other-platform
/// packages out of the lock file, which `npm ci` refuses.
fn npm_install() -> anyhow::Result<()> {
    let ui = root().join("ui");
    let lock = std::fs::read(ui.join("package-lock.json")).context("reading ui/package-lock.json")?;
    let stamp = ui.join("node_modules").join(".stackdesk-lock");
    if std::fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        return Ok(());
    }
    step("npm install (ui/)");
    run_checked(Command::new("npm").args(["install", "--no-audit", "--no-fund"]).current_dir(&ui))?;
    // npm may normalise the lock file: stamp what is there now.
    let lock = std::fs::read(ui.join("package-lock.json")).context("reading ui/package-lock.json")?;
    std::fs::write(&stamp, lock).context("writing the npm stamp")
}

/// Builds `ui/dist` (after its type check and unit tests when `check`).
fn build_ui(check: bool) -> anyhow::Result<()> {
    npm_install()?;
    let ui = root().join("ui");
    if check {
        step("UI: type check (tsc) and unit tests (node --test)");
        run_checked(Command::new("npm").args(["run", "--silent", "check"]).current_dir(&ui))?;
        run_checked(Command::new("npm").args(["test", "--silent"]).current_dir(&ui))?;
    }
    step("UI: build (esbuild) into ui/dist");
    run_checked(Command::new("npm").args(["run", "--silent", "build"]).current_dir(&ui))
}

/// tauri-driver (the WebDriver server for the app), from crates.io into a tools directory.
fn tauri_driver() -> anyhow::Result<PathBuf> {
    const VERSION: &str = "2.1.0";
    let tools = std::env::var_os("HOME")
        .map_or_else(|| target_dir().join("tools"), |home| PathBuf::from(home).join(".cache/stackdesk/tools"));
    let binary = tools.join("bin").join("tauri-driver");
    // tauri-driver has no --version: cargo's own record of what it installed there says.
    let installed = std::fs::read_to_string(tools.join(".crates.toml")).unwrap_or_default();
    if binary.exists() && installed.contains(&format!("\"tauri-driver {VERSION} ")) {
        return Ok(binary);
    }
    step(&format!("cargo install tauri-driver {VERSION}"));
    run_checked(
        Command::new(cargo_bin())
            .args(["install", "tauri-driver", "--version", VERSION, "--locked", "--root"])
            .arg(&tools),
    )?;
    Ok(binary)
}

/// The layering check (also part of `test`).
fn layers_check() -> anyhow::Result<()> {
    step("layers: in every crate, no module uses one that uses it back");
    let crates = layers::check(&root())?;
    eprintln!("    {crates} crates, every module graph without a cycle");
    Ok(())
}

/// Writes the UI's TypeScript types (`ui/src/gen/`) from the Rust types they mirror.
fn types() -> anyhow::Result<()> {
    step("ui/src/gen/: TypeScript types from the Rust types");
    run_checked(
        Command::new(cargo_bin())
            .args(["test", "--locked", "-p", "stackdesk-desk", "--test", "it", "ts_types"])
            .env("STACKDESK_WRITE_TYPES", "1")
            .current_dir(root()),
    )
}

fn test() -> anyhow::Result<()> {
    let venv = prepare()?;
    prereqs::ensure_packaging_packages()?;
    prereqs::ensure_windows_target()?;
    cargo(&["fmt", "--all", "--", "--check"], &venv)?;
    layers_check()?;
    build_ui(true)?;
    // The installers first: each build copies its own sidecar into src-tauri/binaries/, and the
    // debug app below must be built with the debug one.
    let deb = package::linux_packages()?;
    let windows = package::windows_build("debug")?;
    let installer =
        package::windows_installer(&windows, &target_dir().join("windows-installer"), package::Compression::Fast)?;
    let stackdesk = build_sidecar("debug", Some(&venv))?;
    cargo(&["build", "--locked", "-p", "stackdesk-app"], &venv)?;
    let driver = tauri_driver()?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"], &venv)?;
    // The Windows-only code (the supervisor's Job Object, the CLI's console events).
    cargo(
        &[
            "clippy",
            "-p",
            "stackdesk-supervisor",
            "-p",
            "stackdesk-cli",
            "--target",
            package::WINDOWS,
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        &venv,
    )?;
    let artifacts = target_dir().join("e2e-artifacts");
    step(&format!("cargo test --workspace (end-to-end screenshots in {})", artifacts.display()));
    run_checked(
        Command::new(cargo_bin())
            .args(["test", "--workspace", "--locked", "--no-fail-fast"])
            .env("STACKDESK_TEST_VENV", &venv)
            .env("STACKDESK_BIN", &stackdesk)
            .env("STACKDESK_UI_DIR", root().join("ui").join("dist"))
            .env("STACKDESK_APP", target_dir().join("debug").join("stackdesk-desktop"))
            .env("STACKDESK_ARTIFACTS", &artifacts)
            .env("TAURI_DRIVER", &driver)
            .env("STACKDESK_DEB", &deb)
            .env("STACKDESK_WINDOWS_CLI", &windows.cli)
            .env("STACKDESK_WINDOWS_INSTALLER", &installer)
            .current_dir(root()),
    )?;
    step("cargo doc (warnings denied)");
    run_checked(
        Command::new(cargo_bin())
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings")
            .current_dir(root()),
    )
}

fn bench(rest: &[String]) -> anyhow::Result<()> {
    let venv = prepare()?;
    if rest.first().is_some_and(|a| a == "ui") {
        return bench_ui(&venv);
    }
    prereqs::ensure_bench_packages()?;
    cargo(&["build", "--release", "--locked", "-p", "stackdesk-cli", "-p", "stackdesk-bench"], &venv)?;
    let bench = target_dir().join("release").join("stackdesk-bench");
    let option = |name: &str| rest.iter().position(|a| a == name).and_then(|i| rest.get(i + 1)).cloned();
    let tasks = option("--tasks").unwrap_or_else(|| "20000".into());
    let seconds = option("--seconds").unwrap_or_else(|| "10".into());
    step(&format!(
        "workers: stackdesk worker, BullMQ, Sidekiq, Celery, Dramatiq; {tasks} tasks at concurrency 1 and 16"
    ));
    run_checked(Command::new(&bench).args(["workers", "--tasks", &tasks]).current_dir(root()))?;
    step(&format!("workers: stackdesk worker by concurrency, the Redis-bound ceiling; {tasks} tasks"));
    run_checked(Command::new(&bench).args(["workers-curve", "--tasks", &tasks]).current_dir(root()))?;
    step("library level: taskq's producer against send_task");
    run_checked(Command::new(&bench).args(["publish", "--tasks", "5000"]).env("STACKDESK_TEST_VENV", &venv))?;
    step(&format!("API: wrk for {seconds} s"));
    run_checked(Command::new(&bench).args(["api", "--seconds", &seconds]).env("STACKDESK_TEST_VENV", &venv))?;
    let runs = option("--runs").unwrap_or_else(|| "20".into());
    step(&format!("supervisor: {runs} start/stop runs"));
    run_checked(Command::new(&bench).args(["up", "--runs", &runs]))
}

/// The chaos soak alone, as long as asked (`--minutes`, 2 by default; `--seed` replays a run).
fn soak(rest: &[String]) -> anyhow::Result<()> {
    let venv = prepare()?;
    let option = |name: &str| rest.iter().position(|a| a == name).and_then(|i| rest.get(i + 1)).cloned();
    let minutes = option("--minutes").unwrap_or_else(|| "2".into());
    step(&format!("chaos soak: {minutes} min"));
    let mut command = Command::new(cargo_bin());
    command
        .args(["test", "--locked", "-p", "stackdesk-cli", "--test", "it", "soak::", "--", "--nocapture"])
        .env("STACKDESK_TEST_VENV", &venv)
        .env("STACKDESK_SOAK_MINUTES", &minutes)
        .current_dir(root());
    // A new schedule each run unless one is asked for (the test command keeps a fixed one).
    let seed = option("--seed").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_secs()).to_string()
    });
    command.env("STACKDESK_SOAK_SEED", seed);
    run_checked(&mut command)
}

/// The UI's figures in Chromium, and the desktop app's memory (release builds).
fn bench_ui(venv: &Path) -> anyhow::Result<()> {
    build_ui(false)?;
    build_sidecar("release", Some(venv))?;
    cargo(&["build", "--release", "--locked", "-p", "stackdesk-app", "-p", "stackdesk-bench"], venv)?;
    let release = target_dir().join("release");
    let bench = release.join("stackdesk-bench");
    step("UI in Chromium: Start → cards, 1000 tasks streaming");
    run_checked(
        Command::new(&bench)
            .args(["ui", "--stackdesk"])
            .arg(release.join("stackdesk"))
            .arg("--ui-dir")
            .arg(root().join("ui").join("dist")),
    )?;
    step("desktop app: idle memory with the stack running");
    run_checked(Command::new(&bench).args(["app-rss", "--app"]).arg(release.join("stackdesk-desktop")))
}

/// `cargo xtask package [deb | windows | all]`: release installers, with their sizes.
fn package_task(which: &str) -> anyhow::Result<()> {
    prereqs::ensure_system_packages()?;
    prereqs::ensure_packaging_packages()?;
    build_ui(false)?;
    let mut made = Vec::new();
    if matches!(which, "deb" | "all") {
        let deb = package::linux_packages()?;
        // bundle/deb/<name>.deb, and the .rpm in bundle/rpm/.
        let rpm = deb.parent().and_then(Path::parent).map(|bundle| bundle.join("rpm")).unwrap_or_default();
        made.push(deb);
        if let Ok(entries) = std::fs::read_dir(&rpm) {
            made.extend(entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "rpm")));
        }
    }
    if matches!(which, "windows" | "all") {
        prereqs::ensure_windows_target()?;
        let build = package::windows_build("release")?;
        let out = target_dir().join("windows-installer").join("release");
        made.push(package::windows_installer(&build, &out, package::Compression::Smallest)?);
    }
    if made.is_empty() {
        bail!("usage: cargo xtask package [deb | windows | all]");
    }
    step("made:");
    for file in &made {
        eprintln!("    {} ({})", file.display(), package::mib(file));
    }
    Ok(())
}

fn run() -> anyhow::Result<()> {
    prereqs::ensure_system_packages()?;
    build_ui(false)?;
    build_sidecar("release", None)?;
    step("cargo build --release -p stackdesk-app");
    run_checked(
        Command::new(cargo_bin()).args(["build", "--release", "--locked", "-p", "stackdesk-app"]).current_dir(root()),
    )?;
    let app = target_dir().join("release").join(format!("stackdesk-desktop{}", std::env::consts::EXE_SUFFIX));
    let mut command = Command::new(&app);
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    if cfg!(target_os = "linux") && !has_display {
        step("no display: running the app under xvfb-run (open the browser link it prints)");
        command = Command::new("xvfb-run");
        command.args(["-a", "-s", "-screen 0 1280x860x24"]).arg(&app);
    }
    step("Stackdesk: press Start in the window; closing it stops everything");
    run_checked(command.current_dir(root()))
}

fn up() -> anyhow::Result<()> {
    prereqs::ensure_system_packages()?;
    step("cargo build --release -p stackdesk-cli");
    run_checked(
        Command::new(cargo_bin()).args(["build", "--release", "--locked", "-p", "stackdesk-cli"]).current_dir(root()),
    )?;
    let stackdesk = target_dir().join("release").join("stackdesk");
    step("stackdesk up: Redis, the API (http://127.0.0.1:8000/docs) and the worker; Ctrl+C stops them");
    run_checked(Command::new(&stackdesk).arg("up").current_dir(root()))
}
