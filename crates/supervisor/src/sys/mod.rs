//! What differs between operating systems: tying children's lives to ours, and asking them to stop.
//!
//! - Linux: each child gets its own process group (so a terminal's Ctrl+C reaches only the
//!   supervisor, which then stops them in order) and `PR_SET_PDEATHSIG = SIGKILL` (so they die with
//!   the supervisor even if it is killed with SIGKILL). A polite stop is SIGTERM.
//! - Windows: every child is assigned to a Job Object with `KILL_ON_JOB_CLOSE`, whose only handle
//!   the supervisor holds (the OS closes it when the supervisor dies, killing the children), and is
//!   started in a new process group so that a polite stop is a Ctrl+Break to that child alone.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use self::windows::*;
