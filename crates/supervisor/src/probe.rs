//! Readiness probes: Redis answers PING, the API's `/health` is 200. (The worker's probe is its
//! `worker-online` event; see the supervisor.) Each attempt is short; callers retry until a deadline.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

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
