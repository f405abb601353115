//! Is a port free, and if not, who has it.

use std::net::TcpListener;

use crate::error::PortOwner;
use crate::probe;

/// `None` when `port` on 127.0.0.1 is free, else who holds it.
pub fn check(port: u16) -> Option<PortOwner> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => None,
        Err(_) => Some(owner(port)),
    }
}

fn owner(port: u16) -> PortOwner {
    if probe::is_redis(port) {
        return PortOwner::Redis;
    }
    let pid = listening_pid(port);
    PortOwner::Program { name: pid.and_then(process_name), pid }
}

/// The pid listening on `port`, where the OS tells (Linux: /proc).
#[cfg(target_os = "linux")]
fn listening_pid(port: u16) -> Option<u32> {
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|table| {
        let text = std::fs::read_to_string(table).ok()?;
        listening_inode(&text, port)
    })?;
    let needle = format!("socket:[{inode}]");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == needle))
            .then_some(pid)
    })
}

#[cfg(not(target_os = "linux"))]
fn listening_pid(_port: u16) -> Option<u32> {
    None
}

/// The inode of the socket listening on `port` in a `/proc/net/tcp` table.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn listening_inode(table: &str, port: u16) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local_port = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
        // State 0A is LISTEN.
        (local_port == port && *fields.get(3)? == "0A").then(|| fields.get(9)?.parse().ok()).flatten()
    })
}

#[cfg(target_os = "linux")]
fn process_name(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|s| s.trim().to_string())
}

#[cfg(not(target_os = "linux"))]
fn process_name(_pid: u32) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_socket_in_proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 424242 1 0000000000000000 100 0 0 10 0\n   \
            1: 0100007F:1F40 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 434343 1 0000000000000000 20 4 30 10 -1\n";
        assert_eq!(listening_inode(table, 8000), Some(424242));
        assert_eq!(listening_inode(table, 8001), None);
    }

    #[test]
    fn a_program_on_the_port_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let owner = check(port).expect("the port is taken");
        if cfg!(target_os = "linux") {
            assert_eq!(
                owner,
                PortOwner::Program { name: process_name(std::process::id()), pid: Some(std::process::id()) }
            );
        }
        drop(listener);
        assert_eq!(check(port), None);
    }
}
