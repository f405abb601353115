//! Readiness probes: Redis answers PING, the API's `/health` is 200, the worker announces
//! itself (`worker-online`, or a heartbeat). Each attempt is short; [`ready`] retries until a
//! deadline, in a task of its own (the supervisor's actor never waits on a probe).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use taskq::{Broker, EventKind, EventReceiver};

/// Why a process did not become ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// It exited before it was ready.
    #[error("exited during start-up ({0})")]
    Exited(String),
    /// It did not answer its probe in time.
    #[error("not ready within {0:?}")]
    Timeout(Duration),
    /// The worker's probe needs Redis, and there is no connection to it.
    #[error("Redis is not connected")]
    NoRedis,
    /// The connection to Redis broke while waiting for the worker.
    #[error("lost the connection to Redis while waiting for the worker")]
    LostRedis,
    /// The worker's events could not be followed.
    #[error("cannot follow worker events: {0}")]
    Events(String),
    /// Redis answered PING, but a connection for the supervisor's own work could not be made.
    #[error("cannot connect: {0}")]
    Connect(String),
}

/// What a probe checks.
#[derive(Debug, Clone)]
pub enum Target {
    /// A Redis on this port answers PING; then the supervisor's own connection is made.
    Redis {
        /// Its port.
        port: u16,
        /// Its URL (with any password).
        url: String,
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
            Some(EventReceiver::connect(broker).await.map_err(|e| NotReady::Events(e.to_string()))?)
        }
        Target::Worker { broker: None, .. } => return Err(NotReady::NoRedis),
        _ => None,
    };
    Ok(Armed { target, events })
}

/// Waits until the target is ready, at most `deadline`. A ready Redis comes with the supervisor's
/// connection to it.
pub async fn ready(armed: Armed, deadline: Duration) -> Result<Option<Broker>, NotReady> {
    tokio::time::timeout(deadline, until_ready(armed)).await.map_err(|_| NotReady::Timeout(deadline))?
}

async fn until_ready(armed: Armed) -> Result<Option<Broker>, NotReady> {
    let poll = |check: fn(u16) -> bool, port: u16| async move {
        while !tokio::task::spawn_blocking(move || check(port)).await.unwrap_or(false) {
            // Processes are ready within milliseconds; a coarse poll would dominate start-up.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    match armed.target {
        Target::Redis { port, url } => {
            poll(redis_ping_once, port).await;
            let broker = Broker::connect(&url, taskq::BrokerOptions::default())
                .await
                .map_err(|e| NotReady::Connect(e.to_string()))?;
            Ok(Some(broker))
        }
        Target::Api { port } => {
            poll(api_health_once, port).await;
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

/// One PING to a Redis on 127.0.0.1:`port`: true on `+PONG`.
pub fn redis_ping_once(port: u16) -> bool {
    redis_command(port, &["PING"]).is_some_and(|reply| reply.starts_with("+PONG"))
}

/// Sends one command to the Redis on `port` and returns the raw reply.
pub fn redis_command(port: u16, args: &[&str]) -> Option<String> {
    let mut stream = connect(port)?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes()).ok()?;
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
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
