//! System prerequisites, installed only when missing.

use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// What the tests and tools need from the system: (how to check, Debian package).
const PACKAGES: &[(&[&str], &str)] = &[
    (&["redis-server", "--version"], "redis-server"),
    (&["python3", "-c", "import ensurepip, venv"], "python3-venv"),
    (&["pkg-config", "--version"], "pkg-config"),
    // The desktop app (Tauri: WebKitGTK; the tray icon's indicator library).
    (&["pkg-config", "--exists", "webkit2gtk-4.1"], "libwebkit2gtk-4.1-dev"),
    (&["pkg-config", "--exists", "ayatana-appindicator3-0.1"], "libayatana-appindicator3-dev"),
    // The UI's build (npm) and its end-to-end tests: Xvfb, WebKitWebDriver, Chromium.
    (&["npm", "--version"], "npm"),
    (&["sh", "-c", "command -v Xvfb"], "xvfb"),
    (&["sh", "-c", "command -v WebKitWebDriver"], "webkit2gtk-driver"),
    (&["sh", "-c", "command -v chromium"], "chromium"),
    (&["sh", "-c", "command -v chromedriver"], "chromium-driver"),
];

fn works(probe: &[&str]) -> bool {
    let Some((program, args)) = probe.split_first() else { return false };
    Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// What building and checking the installers needs: the Windows cross-linker, makensis, and
/// Wine to run the Windows builds.
const PACKAGING_PACKAGES: &[(&[&str], &str)] = &[
    (&["sh", "-c", "command -v x86_64-w64-mingw32-gcc"], "mingw-w64"),
    (&["sh", "-c", "command -v makensis"], "nsis"),
    (&["sh", "-c", "command -v wine64 || test -x /usr/lib/wine/wine64"], "wine64"),
];

/// What the benchmarks need besides (Sidekiq, a peer of the worker, from Debian's package).
const BENCH_PACKAGES: &[(&[&str], &str)] = &[
    (&["sh", "-c", "command -v wrk"], "wrk"),
    (&["sh", "-c", "command -v redis-benchmark"], "redis-tools"),
    (&["sh", "-c", "command -v sidekiq"], "ruby-sidekiq"),
];

/// Installs missing packages with apt-get (through sudo when not root).
pub fn ensure_system_packages() -> anyhow::Result<()> {
    ensure(PACKAGES)
}

/// Installs what the installers need (mingw-w64, nsis, wine64).
pub fn ensure_packaging_packages() -> anyhow::Result<()> {
    ensure(PACKAGING_PACKAGES)
}

/// Installs what the benchmarks need (wrk, redis-benchmark, Sidekiq).
pub fn ensure_bench_packages() -> anyhow::Result<()> {
    ensure(BENCH_PACKAGES)
}

fn ensure(packages: &[(&[&str], &str)]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages.iter().filter(|(probe, _)| !works(probe)).map(|(_, package)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    crate::cmd::step(&format!("installing {} with apt-get", missing.join(" ")));
    if !works(&["apt-get", "--version"]) {
        bail!("missing {}; install them with your package manager and run this again", missing.join(", "));
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| -> anyhow::Result<()> {
        let mut command = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            command.arg("apt-get");
        }
        let status = command.args(args).env("DEBIAN_FRONTEND", "noninteractive").status().context("running apt-get")?;
        if !status.success() {
            bail!("apt-get {} failed ({status})", args.join(" "));
        }
        Ok(())
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}

/// Installs Rust's `x86_64-pc-windows-gnu` standard library with rustup unless it is there.
pub fn ensure_windows_target() -> anyhow::Result<()> {
    const TARGET: &str = crate::package::WINDOWS;
    let installed = || {
        Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET))
    };
    if installed() {
        return Ok(());
    }
    crate::cmd::step(&format!("rustup target add {TARGET}"));
    let added = Command::new("rustup").args(["target", "add", TARGET]).status().context("running rustup")?;
    if !added.success() || !installed() {
        bail!("could not install the {TARGET} target with rustup ({added}); the Windows build needs it");
    }
    Ok(())
}
