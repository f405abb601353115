//! Readiness probes: Redis answers PING, the API's `/health` is 200, the worker announces
//! itself (`worker-online`, or a heartbeat). Each attempt is short; [`ready`] retries until a
//! deadline, in a task of its own (the supervisor's actor never waits on a probe).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use taskq::{Broker, EventKind, EventReceiver};

use crate::config::RedisAuth;
pub use crate::reason::NotReady;

/// What a probe checks.
#[derive(Debug, Clone)]
pub enum Target {
    /// A Redis on this port answers PING; then the supervisor's own connection is made.
    Redis {
        /// Its port.
        port: u16,
        /// Its URL (with any password).
        url: String,
        /// The credentials in the URL, sent before each PING.
        auth: RedisAuth,
    },
    /// The API on this port answers `/health` with 200.
    Api {
        /// Its port.
        port: u16,
    },
    /// A worker announces itself on Celery's event fanout: the one named, or any.
    Worker {
        /// The Redis it announces itself on.
        broker: Option<Broker>,
        /// Its node name (`None`: any worker, for an external one).
        name: Option<String>,
    },
}

/// A probe whose preparation is done: for the worker, the event subscription exists (so a
/// `worker-online` sent from now on is seen).
pub struct Armed {
    target: Target,
    events: Option<EventReceiver>,
}

/// Prepares a probe (subscribes to the worker's events first).
pub async fn arm(target: Target) -> Result<Armed, NotReady> {
    let events = match &target {
        Target::Worker { broker: Some(broker), .. } => {
            Some(EventReceiver::connect(broker).await.map_err(|e| NotReady::Events { detail: e.to_string() })?)
        }
        Target::Worker { broker: None, .. } => return Err(NotReady::NoRedis),
        _ => None,
    };
    Ok(Armed { target, events })
}

/// Waits until the target is ready, at most `deadline`. A ready Redis comes with the supervisor's
/// connection to it.
pub async fn ready(armed: Armed, deadline: Duration) -> Result<Option<Broker>, NotReady> {
    tokio::time::timeout(deadline, until_ready(armed))
        .await
        .map_err(|_| NotReady::Timeout { millis: u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX) })?
}

async fn until_ready(armed: Armed) -> Result<Option<Broker>, NotReady> {
    // Processes are ready within milliseconds; a coarse poll would dominate start-up.
    const POLL: Duration = Duration::from_millis(2);
    match armed.target {
        Target::Redis { port, url, auth } => {
            let had_password = auth.password.is_some();
            loop {
                let auth = auth.clone();
                match tokio::task::spawn_blocking(move || redis_ping(port, &auth)).await.unwrap_or(Ping::Silent) {
                    Ping::Pong => break,
                    Ping::Refused(reply) => return Err(NotReady::Refused { reply, had_password }),
                    Ping::Silent => tokio::time::sleep(POLL).await,
                }
            }
            let broker = Broker::connect(&url, taskq::BrokerOptions::default())
                .await
                .map_err(|e| NotReady::Connect { detail: e.to_string() })?;
            Ok(Some(broker))
        }
        Target::Api { port } => {
            while !tokio::task::spawn_blocking(move || api_health_once(port)).await.unwrap_or(false) {
                tokio::time::sleep(POLL).await;
            }
            Ok(None)
        }
        Target::Worker { name, .. } => {
            let mut events = armed.events.ok_or(NotReady::NoRedis)?;
            while let Some(event) = events.next().await {
                let alive = matches!(event.kind, EventKind::WorkerOnline | EventKind::WorkerHeartbeat);
                if alive && name.as_ref().is_none_or(|name| *name == event.hostname) {
                    return Ok(None);
                }
            }
            Err(NotReady::LostRedis)
        }
    }
}

/// How long one attempt may take.
const ATTEMPT: Duration = Duration::from_millis(500);

fn connect(port: u16) -> Option<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, ATTEMPT).ok()?;
    stream.set_read_timeout(Some(ATTEMPT)).ok()?;
    stream.set_write_timeout(Some(ATTEMPT)).ok()?;
    Some(stream)
}

/// What a Redis said to one PING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ping {
    /// `+PONG`: ready.
    Pong,
    /// It refused the login, or wants one (its reply, without the `-`).
    Refused(String),
    /// No answer, or not yet (nothing listening, still loading its data, paused).
    Silent,
}

/// One PING to the Redis on 127.0.0.1:`port`, logged in with `auth` first.
pub fn redis_ping(port: u16, auth: &RedisAuth) -> Ping {
    let Some(reply) = redis_command(port, auth, &["PING"]) else { return Ping::Silent };
    if reply.starts_with("+PONG") {
        return Ping::Pong;
    }
    let reply = reply.trim_start_matches('-').trim_end().to_string();
    // NOAUTH: a password is needed; WRONGPASS: wrong name or password; "ERR AUTH …": a password
    // given to a Redis that has none (the URL and the server disagree either way).
    let refused = ["NOAUTH", "WRONGPASS", "NOPERM", "ERR AUTH", "ERR invalid password", "ERR Client sent AUTH"];
    if refused.iter().any(|prefix| reply.starts_with(prefix)) { Ping::Refused(reply) } else { Ping::Silent }
}

/// Whether what answers on 127.0.0.1:`port` speaks Redis (it answers PING, even with a refusal).
pub fn is_redis(port: u16) -> bool {
    redis_command(port, &RedisAuth::default(), &["PING"]).is_some_and(|r| r.starts_with('+') || r.starts_with('-'))
}

/// Sends one command to the Redis on `port`, after `AUTH` when `auth` has a password, and
/// returns the first line of its reply; a refused `AUTH` is the reply. `None`: no answer.
pub fn redis_command(port: u16, auth: &RedisAuth, args: &[&str]) -> Option<String> {
    let mut stream = connect(port)?;
    let login = auth.command();
    let mut request = String::new();
    for command in login.iter().map(Vec::as_slice).chain([args]) {
        request.push_str(&format!("*{}\r\n", command.len()));
        for arg in command {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
    }
    stream.write_all(request.as_bytes()).ok()?;
    let wanted = if login.is_some() { 2 } else { 1 };
    let mut replies = Vec::new();
    let mut buf = [0u8; 512];
    // Each reply here is one line (`+OK`, `+PONG`, `-ERR …`); SHUTDOWN closes without one.
    while replies.iter().filter(|&&b| b == b'\n').count() < wanted {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => replies.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&replies).into_owned();
    let mut lines = text.split_inclusive('\n');
    let first = lines.next()?.to_string();
    if login.is_some() && !first.starts_with('-') {
        return lines.next().map(str::to_string);
    }
    Some(first)
}

/// One `GET /health` to the API on `host:port`: true on 200.
pub fn api_health_once(port: u16) -> bool {
    let Some(mut stream) = connect(port) else { return false };
    let request = format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    stream.read(&mut buf).is_ok_and(|n| buf[..n].starts_with(b"HTTP/1.1 200"))
}
