//! A real `redis-server` per test, in the manner of redis-rs's `redis-test`: a free port on
//! 127.0.0.1, no persistence, its own temp directory and log file, readiness by `PING`, and
//! kill-and-wait on drop (printing the server's log if it died on its own).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait;

/// A running redis-server owned by a test.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    /// The extra arguments it was started with, for [`RedisServer::restart`].
    extra: Vec<String>,
    /// Holds the server's working directory and log for its whole life.
    dir: tempfile::TempDir,
}

/// The redis-server binary: `$REDIS_SERVER`, else `redis-server` on `PATH`.
pub fn redis_server_binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER").map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// A port that was free a moment ago (the OS picks it; the caller binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port on 127.0.0.1")
}

impl RedisServer {
    /// Starts a server and waits until it answers `PING`. Retries on another port if the chosen
    /// one was taken in the meantime.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`RedisServer::start`], with extra `redis-server` arguments (e.g. `["--appendonly", "yes"]`).
    pub fn start_with(extra: &[&str]) -> Self {
        let mut last_log = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir for redis-server");
            let port = free_port();
            let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
            let child = spawn(port, dir.path(), &extra);
            let mut server = Self { child, port, extra, dir };
            let ready = wait_ready(&mut server);
            if ready {
                return server;
            }
            last_log = server.log();
        }
        panic!("redis-server did not start on 5 free ports; last log:\n{last_log}");
    }

    /// Stops the server the polite way (`SHUTDOWN`, which writes the AOF when persistence is on)
    /// and starts it again on the same port and directory.
    pub fn restart(&mut self) {
        let _ = raw_command(self.port, &["SHUTDOWN"]);
        wait::until_blocking("redis-server to exit", Duration::from_secs(30), || self.child.try_wait().ok().flatten());
        self.child = spawn(self.port, self.dir.path(), &self.extra);
        assert!(wait_ready(self), "redis-server did not come back on port {}:\n{}", self.port, self.log());
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Freezes the server (SIGSTOP), as a stalled host would: connections stay open, nothing is
    /// answered, and what clients send queues up until [`RedisServer::resume`].
    pub fn pause(&self) {
        signal(self.child.id(), "-STOP");
    }

    /// Lets a paused server run again (SIGCONT): it then runs what queued up meanwhile.
    pub fn resume(&self) {
        signal(self.child.id(), "-CONT");
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server's directory (data and log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Sends one command over a fresh connection and returns the raw RESP reply (for tests that
    /// want to see Redis without a client library).
    pub fn raw_command(&self, args: &[&str]) -> String {
        raw_command(self.port, args).unwrap_or_else(|e| panic!("redis command {args:?} failed: {e}"))
    }

    /// How many Lua scripts this server has run (`EVAL` and `EVALSHA`, from `INFO commandstats`):
    /// a test of a step Redis runs late can check that it did run.
    pub fn scripts_run(&self) -> u64 {
        self.calls("eval") + self.calls("evalsha")
    }

    /// How many times this server ran `command` (lower case, as `INFO commandstats` names it),
    /// from a client or inside a script.
    pub fn calls(&self, command: &str) -> u64 {
        let stats = self.raw_command(&["INFO", "commandstats"]);
        let prefix = format!("cmdstat_{command}:");
        stats
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
            .sum()
    }
}

fn signal(pid: u32, which: &str) {
    let sent = Command::new("kill").arg(which).arg(pid.to_string()).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill {which} {pid} failed");
}

fn spawn(port: u16, dir: &Path, extra: &[String]) -> Child {
    Command::new(redis_server_binary())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {}: {e} (install redis-server or set REDIS_SERVER)", redis_server_binary().display())
        })
}

fn wait_ready(server: &mut RedisServer) -> bool {
    let port = server.port;
    let mut exited = false;
    wait::until_blocking("redis-server to answer PING", Duration::from_secs(10), || {
        if let Ok(Some(_)) = server.child.try_wait() {
            exited = true;
            return Some(());
        }
        raw_command(port, &["PING"]).ok().filter(|r| r.starts_with("+PONG")).map(|_| ())
    });
    !exited
}

/// One command to the Redis on 127.0.0.1:`port` (any Redis, not only one started here); its raw
/// reply. Panics when it does not answer.
pub fn raw_command_on(port: u16, args: &[&str]) -> String {
    raw_command(port, args).unwrap_or_else(|e| panic!("redis command {args:?} on port {port} failed: {e}"))
}

fn raw_command(port: u16, args: &[&str]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes())?;
    let mut buf = [0u8; 65536];
    let n = stream.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            eprintln!("redis-server on port {} had exited ({status}); its log:\n{}", self.port, self.log());
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
