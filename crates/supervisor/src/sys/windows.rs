//! Windows: a Job Object that kills every child when the supervisor goes, and `TerminateProcess`.

#![allow(unsafe_code)] // Win32 calls are FFI; each block states why it is sound.

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation, SetInformationJobObject,
};
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, OpenProcess, PROCESS_TERMINATE, TerminateProcess,
};

/// Starts the child in its own process group (a console's Ctrl+C reaches only the supervisor) and
/// without a console window.
pub fn prepare(command: &mut tokio::process::Command) {
    command.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
}

/// The Job Object every child joins; closing its handle (also when the supervisor dies) kills them.
#[derive(Debug)]
pub struct Lifeline {
    job: HANDLE,
}

// SAFETY: a job handle is a kernel object handle, usable from any thread.
unsafe impl Send for Lifeline {}
// SAFETY: the handle is only passed to thread-safe Win32 calls.
unsafe impl Sync for Lifeline {}

impl Lifeline {
    /// Creates the Job Object with kill-on-close.
    pub fn new() -> std::io::Result<Self> {
        // SAFETY: null attributes and name are allowed; the result is checked.
        let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if job.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is a valid "no limits" value.
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: `info` lives across the call and its size is passed exactly.
        let ok = unsafe {
            SetInformationJobObject(
                job,
                JobObjectExtendedLimitInformation,
                (&raw const info).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            let err = std::io::Error::last_os_error();
            // SAFETY: `job` is a handle we own and close once.
            unsafe { CloseHandle(job) };
            return Err(err);
        }
        Ok(Self { job })
    }

    /// Puts a started child into the job.
    pub fn adopt(&self, child: &tokio::process::Child) -> std::io::Result<()> {
        let Some(handle) = child.raw_handle() else { return Ok(()) };
        // SAFETY: both handles are valid for the duration of the call.
        if unsafe { AssignProcessToJobObject(self.job, handle as HANDLE) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Lifeline {
    fn drop(&mut self) {
        // SAFETY: we own the handle and close it once; closing kills what is still in the job.
        unsafe { CloseHandle(self.job) };
    }
}

/// Kills process `pid` at once (`TerminateProcess`): no chance to clean up, as in a crash.
pub fn kill_now(pid: u32) -> std::io::Result<()> {
    // SAFETY: plain FFI call; a null handle is checked before use.
    let process = unsafe { OpenProcess(PROCESS_TERMINATE, 0, pid) };
    if process.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `process` is a live handle we opened with PROCESS_TERMINATE; closed once below.
    let killed = unsafe { TerminateProcess(process, 1) };
    let error = std::io::Error::last_os_error();
    // SAFETY: we own the handle and close it once.
    unsafe { CloseHandle(process) };
    if killed == 0 { Err(error) } else { Ok(()) }
}

/// Nothing on Windows: a process there cannot be paused the way SIGSTOP pauses one, and the
/// polite stop already reached it (the stop timeout then kills it).
pub fn terminate_even_if_paused(_pid: u32) -> std::io::Result<()> {
    Ok(())
}
