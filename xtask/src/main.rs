//! Project tasks. `cargo xtask <task>`:
//!
//! - `test`: installs what the tests need (apt: redis-server, python3-venv; the pinned Python
//!   Celery venv), then runs exactly what CI runs: rustfmt check, clippy with warnings denied (also
//!   for the supervisor's Windows code, on `x86_64-pc-windows-gnu`, when that target can be
//!   installed), every test, and rustdoc with warnings denied.
//! - `bench`: the benchmarks against the Python original (`bench/`), release build: the task queue
//!   (`--tasks N`) and the API under wrk (`--seconds N`).
//! - `run`: builds `stackdesk` (release) and runs `stackdesk up`: redis-server, the API and the
//!   worker under the supervisor; Ctrl+C stops them.
//!
//! Every install step checks first, so running a task twice installs nothing twice.

mod prereqs;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

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
        "bench" => bench(&rest),
        "run" => run(),
        _ => bail!("usage: cargo xtask <test | ci | bench [--tasks N] [--seconds N] [--runs N] | run>"),
    }
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The cargo target directory (`$CARGO_TARGET_DIR`, else `<root>/target`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Installs system packages and the Python venv; returns the venv's path.
fn prepare() -> anyhow::Result<PathBuf> {
    prereqs::ensure_system_packages()?;
    let venv = std::env::var_os("STACKDESK_TEST_VENV").map_or_else(|| target_dir().join("python-venv"), PathBuf::from);
    step(&format!("Python venv with Celery at {}", venv.display()));
    test_support::python::Venv::ensure_at(&venv).with_context(|| format!("preparing {}", venv.display()))?;
    Ok(venv)
}

fn test() -> anyhow::Result<()> {
    let venv = prepare()?;
    cargo(&["fmt", "--all", "--", "--check"], &venv)?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"], &venv)?;
    if prereqs::windows_target() {
        cargo(
            &[
                "clippy",
                "-p",
                "stackdesk-supervisor",
                "--target",
                "x86_64-pc-windows-gnu",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
            &venv,
        )?;
    } else {
        step("skipped: clippy of the Windows code (the x86_64-pc-windows-gnu target could not be installed)");
    }
    cargo(&["test", "--workspace", "--locked"], &venv)?;
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
    prereqs::ensure_bench_packages()?;
    cargo(&["build", "--release", "--locked", "-p", "stackdesk-cli", "-p", "stackdesk-bench"], &venv)?;
    let bench = target_dir().join("release").join("stackdesk-bench");
    let option = |name: &str| rest.iter().position(|a| a == name).and_then(|i| rest.get(i + 1)).cloned();
    let tasks = option("--tasks").unwrap_or_else(|| "5000".into());
    let seconds = option("--seconds").unwrap_or_else(|| "10".into());
    step(&format!("task queue: {tasks} tasks"));
    run_checked(Command::new(&bench).args(["taskq", "--tasks", &tasks]).env("STACKDESK_TEST_VENV", &venv))?;
    step(&format!("API: wrk for {seconds} s"));
    run_checked(Command::new(&bench).args(["api", "--seconds", &seconds]).env("STACKDESK_TEST_VENV", &venv))?;
    let runs = option("--runs").unwrap_or_else(|| "20".into());
    step(&format!("supervisor: {runs} start/stop runs"));
    run_checked(Command::new(&bench).args(["up", "--runs", &runs]))
}

fn run() -> anyhow::Result<()> {
    prereqs::ensure_system_packages()?;
    step("cargo build --release -p stackdesk-cli");
    run_checked(
        Command::new(cargo_bin()).args(["build", "--release", "--locked", "-p", "stackdesk-cli"]).current_dir(root()),
    )?;
    let stackdesk = target_dir().join("release").join("stackdesk");
    step("stackdesk up: Redis, the API (http://127.0.0.1:8000/docs) and the worker; Ctrl+C stops them");
    run_checked(Command::new(&stackdesk).arg("up").current_dir(root()))
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo(args: &[&str], venv: &Path) -> anyhow::Result<()> {
    step(&format!("cargo {}", args.join(" ")));
    run_checked(Command::new(cargo_bin()).args(args).env("STACKDESK_TEST_VENV", venv).current_dir(root()))
}

fn run_checked(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Announces a step on stderr.
fn step(what: &str) {
    eprintln!("\n==> {what}");
}
