//! Running commands and announcing steps; where the workspace and its target directory are.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// The workspace root: from `CARGO_MANIFEST_DIR` as `cargo run` sets it now (a binary built for
/// another checkout sharing the target directory must not work on that checkout), else as built.
pub fn root() -> PathBuf {
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The cargo target directory (`$CARGO_TARGET_DIR`, else `<root>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// This machine's target triple.
pub fn host_triple() -> anyhow::Result<String> {
    let output = Command::new("rustc").arg("-vV").output().context("running rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("no host triple in rustc -vV")
}

pub fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub fn cargo(args: &[&str], venv: &Path) -> anyhow::Result<()> {
    step(&format!("cargo {}", args.join(" ")));
    run_checked(Command::new(cargo_bin()).args(args).env("STACKDESK_TEST_VENV", venv).current_dir(root()))
}

pub fn run_checked(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Announces a step on stderr.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Copies `from` to `to` unless `to` already holds the same bytes (so nothing downstream
/// rebuilds for nothing).
pub fn copy_if_changed(from: &Path, to: &Path) -> anyhow::Result<()> {
    if std::fs::read(to).ok() != std::fs::read(from).ok() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}
