//! Unix: process groups, the parent-death signal, SIGKILL.

#![allow(unsafe_code)] // `pre_exec` is unsafe by signature; the closure below only makes syscalls.

/// Prepares `command` so the child gets its own process group and, on Linux, is killed when the
/// supervisor dies.
pub fn prepare(command: &mut tokio::process::Command) {
    command.process_group(0);
    #[cfg(target_os = "linux")]
    {
        let supervisor = std::process::id();
        // SAFETY: runs in the forked child before exec; it only calls prctl(2) and getppid(2),
        // both async-signal-safe, and touches no memory of the parent.
        unsafe {
            command.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from)?;
                // The supervisor may have died between fork and prctl: then nobody will kill us.
                if nix::unistd::getppid().as_raw() as u32 != supervisor {
                    return Err(std::io::Error::other("the supervisor exited while starting this process"));
                }
                Ok(())
            });
        }
    }
}

/// Ties a started child to the supervisor's lifetime (nothing more to do on Unix).
#[derive(Debug, Default)]
pub struct Lifeline;

impl Lifeline {
    /// Creates the lifeline.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self)
    }

    /// Registers a started child.
    pub fn adopt(&self, _child: &tokio::process::Child) -> std::io::Result<()> {
        Ok(())
    }
}

/// Kills process `pid` at once (SIGKILL): no chance to clean up, as in a crash.
pub fn kill_now(pid: u32) -> std::io::Result<()> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).map_err(std::io::Error::other)?);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from)
}

/// Asks process `pid` to stop with SIGTERM, then resumes it with SIGCONT in case it is paused
/// (a stopped process acts on no signal but SIGKILL until it runs again).
pub fn terminate_even_if_paused(pid: u32) -> std::io::Result<()> {
    use nix::sys::signal::{Signal, kill};
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).map_err(std::io::Error::other)?);
    kill(pid, Signal::SIGTERM)?;
    kill(pid, Signal::SIGCONT).map_err(std::io::Error::from)
}
