//! System prerequisites, installed only when missing.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// What the tests and tools need from the system: (how to check, Debian package).
const PACKAGES: &[(&[&str], &str)] =
    &[(&["redis-server", "--version"], "redis-server"), (&["python3", "-c", "import ensurepip, venv"], "python3-venv")];

fn works(probe: &[&str]) -> bool {
    let Some((program, args)) = probe.split_first() else { return false };
    Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// What the benchmarks need besides.
const BENCH_PACKAGES: &[(&[&str], &str)] = &[(&["sh", "-c", "command -v wrk"], "wrk")];

/// Installs missing packages with apt-get (through sudo when not root).
pub fn ensure_system_packages() -> anyhow::Result<()> {
    ensure(PACKAGES)
}

/// Installs what the benchmarks need (wrk).
pub fn ensure_bench_packages() -> anyhow::Result<()> {
    ensure(BENCH_PACKAGES)
}

fn ensure(packages: &[(&[&str], &str)]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages.iter().filter(|(probe, _)| !works(probe)).map(|(_, package)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    super::step(&format!("installing {} with apt-get", missing.join(" ")));
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

/// A redis-server this task started (stopped on drop), or none when one already answers.
pub struct LocalRedis(Option<Child>);

impl Drop for LocalRedis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Makes sure a Redis answers on 127.0.0.1:`port`, starting one without persistence if needed.
pub fn local_redis(port: u16) -> anyhow::Result<LocalRedis> {
    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
        super::step(&format!("using the Redis already listening on 127.0.0.1:{port}"));
        return Ok(LocalRedis(None));
    }
    super::step(&format!("starting redis-server on 127.0.0.1:{port}"));
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .stdout(Stdio::null())
        .spawn()
        .context("starting redis-server")?;
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            bail!("redis-server did not listen on port {port} within 10 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(LocalRedis(Some(child)))
}
