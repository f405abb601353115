//! The Python side of interop tests: a venv with Celery, created once per target directory and
//! shared by all tests (a file lock keeps parallel tests from building it twice), and child
//! processes that are killed and reaped when the test ends.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::wait;

/// The pinned requirements; the venv is rebuilt when they change.
const REQUIREMENTS: &str = include_str!("../python/requirements.txt");

/// A Python virtual environment with the pinned Celery.
#[derive(Debug)]
pub struct Venv {
    root: PathBuf,
}

/// Where the venv lives: `$STACKDESK_TEST_VENV`, else `<target>/python-venv`.
pub fn venv_dir() -> PathBuf {
    std::env::var_os("STACKDESK_TEST_VENV").map_or_else(|| crate::target_dir().join("python-venv"), PathBuf::from)
}

impl Venv {
    /// The shared venv, created (with `python3 -m venv` and pip) on first use.
    pub fn get() -> &'static Venv {
        static VENV: OnceLock<Venv> = OnceLock::new();
        VENV.get_or_init(|| {
            let root = venv_dir();
            ensure(&root, REQUIREMENTS)
                .unwrap_or_else(|e| panic!("could not prepare the Python venv at {}: {e}", root.display()));
            Venv { root }
        })
    }

    /// Creates or updates the venv at `root` (for tools that pick the place themselves).
    pub fn ensure_at(root: &Path) -> std::io::Result<Venv> {
        ensure(root, REQUIREMENTS)?;
        Ok(Venv { root: root.to_path_buf() })
    }

    /// Creates or updates a venv at `root` with exactly `requirements` (a requirements file's
    /// text): for tools with packages of their own, such as the benchmarks' peers.
    pub fn ensure_with(root: &Path, requirements: &str) -> std::io::Result<Venv> {
        ensure(root, requirements)?;
        Ok(Venv { root: root.to_path_buf() })
    }

    /// The venv's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A program of the venv (`python`, `celery`, `pip`).
    pub fn bin(&self, name: &str) -> PathBuf {
        if cfg!(windows) {
            self.root.join("Scripts").join(format!("{name}.exe"))
        } else {
            self.root.join("bin").join(name)
        }
    }

    /// A command running the venv's Python on `script` with `args`.
    pub fn python(&self, script: &Path) -> Command {
        let mut command = Command::new(self.bin("python"));
        command.arg(script).env("PYTHONUNBUFFERED", "1").env("PYTHONDONTWRITEBYTECODE", "1");
        command
    }
}

/// Creates or updates the venv at `root` so that it has exactly `requirements`.
fn ensure(root: &Path, requirements: &str) -> std::io::Result<()> {
    let stamp = root.join(".requirements");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirements) {
        return Ok(());
    }
    if let Some(parent) = root.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let lock = File::create(root.with_extension("lock"))?;
    lock.lock()?;
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirements) {
        return Ok(());
    }
    eprintln!("creating the Python venv at {} ...", root.display());
    run(Command::new("python3").arg("-m").arg("venv").arg(root))?;
    let file = root.join("requirements.txt");
    std::fs::write(&file, requirements)?;
    let venv = Venv { root: root.to_path_buf() };
    run(Command::new(venv.bin("pip")).args(["install", "--quiet", "--disable-pip-version-check", "-r"]).arg(&file))?;
    std::fs::write(&stamp, requirements)
}

fn run(command: &mut Command) -> std::io::Result<()> {
    let output = command.output()?;
    if output.status.success() {
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// A child process owned by a test: its output goes to a log file, and it is killed and reaped on
/// drop (its log is printed then, to explain failures).
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ChildProcess {
    /// Spawns `command` with stdout and stderr captured to a log file.
    pub fn spawn(name: &str, command: &mut Command) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for a child log");
        let log = dir.path().join(format!("{name}.log"));
        let out = File::create(&log).expect("child log file");
        let err = out.try_clone().expect("child log file handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Self { name: name.into(), child, log, _dir: dir }
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until its output contains `needle`; panics (with the output) after `deadline` or if
    /// the process exits first.
    pub async fn wait_for_output(&mut self, needle: &str, deadline: Duration) {
        let what = format!("{} to print {needle:?}", self.name);
        wait::until(&what, deadline, || {
            let found = self.output().contains(needle);
            let exited = matches!(self.child.try_wait(), Ok(Some(_)));
            assert!(found || !exited, "{} exited before printing {needle:?}; output:\n{}", self.name, self.output());
            std::future::ready(found.then_some(()))
        })
        .await;
    }

    /// Waits for the process to exit on its own and returns its status and output.
    pub async fn wait_exit(&mut self, deadline: Duration) -> (std::process::ExitStatus, String) {
        let what = format!("{} to exit", self.name);
        let status = wait::until(&what, deadline, || std::future::ready(self.child.try_wait().ok().flatten())).await;
        (status, self.output())
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills it at once (SIGKILL on Unix) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks it to stop (SIGTERM on Unix; kill elsewhere) without waiting.
    pub fn terminate(&mut self) {
        #[cfg(unix)]
        {
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        }
        #[cfg(not(unix))]
        {
            let _ = self.child.kill();
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- output of {} ---\n{}", self.name, self.output());
        }
    }
}

/// A Python Celery worker: `celery -A <app> worker --pool=solo -E -n <name> <extra…>`, run from
/// `dir` against `redis_url` (the seed's solo pool, task events on).
pub fn celery_worker(dir: &Path, app: &str, redis_url: &str, name: &str, extra: &[&str]) -> ChildProcess {
    ChildProcess::spawn(
        "celery-worker",
        Command::new(Venv::get().bin("celery"))
            .args(["-A", app, "worker", "--pool=solo", "-E", "-n", name, "-l", "INFO"])
            .args(extra)
            .env("REDIS_URL", redis_url)
            .current_dir(dir),
    )
}

/// Runs a command to completion and returns its output, panicking with everything it printed if
/// it fails.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
