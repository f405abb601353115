//! Opening a folder or a URL with the desktop's own program (file manager, browser). The program
//! is run directly with the path as its one argument, never through a shell.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{DeskError, Result};

/// The desktop's "open" program on this OS.
fn opener() -> &'static str {
    if cfg!(windows) {
        "explorer"
    } else if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    }
}

/// Opens `target` (a directory, or an `http://` URL) and returns at once.
pub fn open(target: &str) -> Result<()> {
    if !target.starts_with("http://") && !Path::new(target).exists() {
        return Err(DeskError::io(
            format!("opening {target}"),
            std::io::Error::new(std::io::ErrorKind::NotFound, "it does not exist yet (press Start once)"),
        ));
    }
    let program = opener();
    let mut child = Command::new(program)
        .arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| DeskError::io(format!("running {program} to open {target}"), e))?;
    // Reap it in the background: the opener may stay as long as the program it started.
    std::thread::spawn(move || child.wait());
    Ok(())
}
