//! Windows builds under Wine (Debian's `wine64`): a prefix of our own per test, with its own
//! home (Wine links the Windows desktop to `$HOME`) and no desktop integration.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// A Wine prefix owned by a test, removed with it.
#[derive(Debug)]
pub struct Wine {
    wine: PathBuf,
    dir: tempfile::TempDir,
}

/// `$STACKDESK_WINE`, else `wine64` on `PATH`, else Debian's `/usr/lib/wine/wine64`.
fn wine_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("STACKDESK_WINE") {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("wine64"))
        .find(|p| p.is_file());
    on_path
        .or_else(|| Some(PathBuf::from("/usr/lib/wine/wine64")).filter(|p| p.is_file()))
        .context("no wine64 (apt install wine64; `cargo xtask test` does)")
}

impl Wine {
    /// Creates and initialises a prefix, with the `ProcessPrng` shim Wine 8 lacks
    /// (`e2e/wine/bcryptprimitives.c`, built with mingw-w64).
    pub fn new() -> anyhow::Result<Self> {
        let wine = Self { wine: wine_binary()?, dir: tempfile::tempdir()? };
        std::fs::create_dir_all(wine.home())?;
        let status = wine.command("wineboot").arg("--init").status().context("running wineboot")?;
        if !status.success() {
            bail!("wineboot --init failed ({status})");
        }
        wine.wait_idle()?;
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("wine");
        let dll = wine.drive_c().join("windows").join("system32").join("bcryptprimitives.dll");
        let built = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-O2", "-shared", "-o"])
            .arg(&dll)
            .arg(source.join("bcryptprimitives.c"))
            .arg(source.join("bcryptprimitives.def"))
            .arg("-ladvapi32")
            .status()
            .context("running x86_64-w64-mingw32-gcc (apt install mingw-w64)")?;
        if !built.success() {
            bail!("building the ProcessPrng shim failed ({built})");
        }
        Ok(wine)
    }

    /// The Unix home Wine runs with (its Windows desktop folder links here).
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn prefix(&self) -> PathBuf {
        self.dir.path().join("prefix")
    }

    /// `C:\`.
    pub fn drive_c(&self) -> PathBuf {
        self.prefix().join("drive_c")
    }

    /// The Windows user's profile folder (`C:\users\<name>`).
    pub fn profile(&self) -> anyhow::Result<PathBuf> {
        let users = self.drive_c().join("users");
        std::fs::read_dir(&users)?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().is_some_and(|n| n != "Public") && p.is_dir())
            .with_context(|| format!("no user profile in {}", users.display()))
    }

    /// `wine64 <program>` in this prefix: no debug output, no Mono or Gecko, no menu entries.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(&self.wine);
        command
            .arg(program)
            .env("WINEPREFIX", self.prefix())
            .env("HOME", self.home())
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=;winemenubuilder.exe=d")
            .env_remove("DISPLAY")
            .stdin(Stdio::null());
        command
    }

    /// Waits until every process in the prefix has exited (`wineserver -w`): the uninstaller,
    /// for one, goes on in a copy of itself after the program we started has exited.
    pub fn wait_idle(&self) -> anyhow::Result<()> {
        let server = self.wine.with_file_name("wineserver");
        let server = if server.is_file() { server } else { PathBuf::from("wineserver") };
        let mut child = Command::new(&server)
            .arg("-w")
            .env("WINEPREFIX", self.prefix())
            .env("HOME", self.home())
            .spawn()
            .with_context(|| format!("running {} -w", server.display()))?;
        let status = test_support::wait::until_blocking("Wine's processes to exit", Duration::from_secs(120), || {
            child.try_wait().ok().flatten()
        });
        if !status.success() {
            bail!("wineserver -w failed ({status})");
        }
        Ok(())
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        // Stop the prefix's wineserver (and whatever still runs in it) before its files go.
        let server = self.wine.with_file_name("wineserver");
        let server = if server.is_file() { server } else { PathBuf::from("wineserver") };
        let _ = Command::new(server).arg("-k").env("WINEPREFIX", self.prefix()).env("HOME", self.home()).status();
    }
}
