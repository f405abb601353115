//! # stackdesk-supervisor
//!
//! Runs the three processes of the original system — redis-server, `stackdesk api`,
//! `stackdesk worker` — in place of three terminals: ordered start with readiness probes, restarts
//! with backoff and crash-loop detection, an explicit state per process published as events,
//! captured logs, and a stop that leaves nothing behind. No Tauri here: `stackdesk up` and the
//! desktop app are two faces of this crate.
//!
//! # Layout
//! Bottom to top; each module uses only those above it in this list.
//! - [`state`]: processes, states, modes, events. [`error`]: why the stack could not start, in
//!   words a learner can act on.
//! - [`config`]: [`SupervisorConfig`] and the [`RestartPolicy`].
//! - `child.rs`: spawning a child, capturing its output, stopping it politely then by force.
//! - `sys/`: tying children's lives to ours (process groups and `PR_SET_PDEATHSIG` on Linux, a Job
//!   Object on Windows) and killing a process at once. A polite stop needs nothing from the OS:
//!   see [`STOP_PIPE_ENV`].
//! - [`paths`]: the data directory, finding redis-server, the generated `redis.conf`.
//! - [`ports`]: whether a port is free and, if not, who holds it.
//! - [`probe`]: readiness probes (Redis PING, API `/health`, the worker's `worker-online`).
//! - [`reason`]: why a process is in its state and why a start failed, typed ([`Reason`],
//!   [`NotReady`], [`StartFailure`]) so the app can word them in the learner's language.
//! - [`logs`]: per-process ring buffers, rotating log files, secret masking.
//! - `actor.rs`: the one task that owns every state; it never waits on a probe (each runs in a
//!   task of its own and reports back).
//! - [`Supervisor`] (in `supervisor.rs`): the handle — start, stop, status, events, logs.

mod actor;
mod child;
pub mod config;
pub mod error;
pub mod logs;
pub mod paths;
pub mod ports;
pub mod probe;
pub mod reason;
pub mod state;
mod supervisor;
mod sys;

pub use config::{RestartPolicy, SupervisorConfig};
pub use error::{PortOwner, Result, SupervisorError};
pub use reason::{Cause, ExitHow, NotReady, Reason, StartFailure};
pub use state::{Event, Mode, ProcessKind, ProcessState, ProcessStatus, Stream};
pub use supervisor::Supervisor;

/// Set (to `1`) in the environment of the `stackdesk` processes the supervisor starts: their stdin
/// is then a pipe only the supervisor holds, and its end is a request to stop gracefully. The
/// supervisor closes it to stop them; it also ends when the supervisor dies. Unlike signals or
/// console control events, this works alike on every OS and from a process without a console.
pub const STOP_PIPE_ENV: &str = "STACKDESK_STOP_PIPE";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RestartPolicy {
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
            ..RestartPolicy::default()
        };
        let delays: Vec<u128> = (0..6).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 2000, 2000]);
        assert_eq!(RestartPolicy::default().backoff(u32::MAX), Duration::from_secs(8));
    }
}
