//! What differs between operating systems: tying children's lives to ours, and killing one at once.
//! (A polite stop is the same everywhere: the end of the child's stdin, see `STOP_PIPE_ENV`.)
//!
//! - Linux: each child gets its own process group (so a terminal's Ctrl+C reaches only the
//!   supervisor, which then stops them in order) and `PR_SET_PDEATHSIG = SIGKILL` (so they die with
//!   the supervisor even if it is killed with SIGKILL).
//! - Windows: every child is assigned to a Job Object with `KILL_ON_JOB_CLOSE`, whose only handle
//!   the supervisor holds (the OS closes it when the supervisor dies, killing the children), and is
//!   started in a new process group without a console window (so a console's Ctrl+C reaches only
//!   the supervisor).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use self::windows::*;
