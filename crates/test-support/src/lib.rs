//! # stackdesk-test-support
//!
//! Real servers for integration tests, shared by every crate: nothing here is a mock.
//!
//! # Layout
//! - [`redis`]: a real `redis-server` per test on a free port, killed and reaped on drop.
//! - [`python`]: the Python venv with Celery (created on first use, pinned by
//!   `python/requirements.txt`) and child processes that die with the test.
//! - [`wait`]: waiting for a condition with a deadline — tests never sleep to synchronise.

pub mod python;
pub mod redis;
pub mod wait;

/// The workspace root (for paths to scripts and fixtures).
pub fn workspace_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).map_or_else(|| here.to_path_buf(), std::path::Path::to_path_buf)
}

/// The cargo target directory the running test binary lives in (`<target>/debug/deps/<test>`).
pub fn target_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return dir.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(std::path::Path::to_path_buf))
        .unwrap_or_else(|| workspace_root().join("target"))
}
