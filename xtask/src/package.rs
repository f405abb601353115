//! Installers: the Linux packages (Tauri's bundler: `.deb`, `.rpm`), the Windows build
//! (cross-compiled with mingw-w64) and its installer (`packaging/windows/stackdesk.nsi`, makensis),
//! and the pinned Redis for Windows the installer can include.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};
use sha2::Digest as _;

use crate::cmd::{cargo_bin, copy_if_changed, root, run_checked, step, target_dir};

/// The Windows target we cross-compile for.
pub const WINDOWS: &str = "x86_64-pc-windows-gnu";

/// The app's version, from `tauri.conf.json`.
pub fn version() -> anyhow::Result<String> {
    let text = std::fs::read_to_string(root().join("src-tauri").join("tauri.conf.json"))?;
    let conf: serde_json::Value = serde_json::from_str(&text).context("parsing src-tauri/tauri.conf.json")?;
    conf["version"].as_str().map(str::to_string).context("no version in tauri.conf.json")
}

/// Builds the `.deb` and `.rpm` (release) with Tauri's bundler from the built UI; returns the
/// `.deb`.
pub fn linux_packages() -> anyhow::Result<PathBuf> {
    crate::sidecar::build_sidecar("release", None)?;
    step("tauri build --bundles deb,rpm (release)");
    let tauri = root().join("ui").join("node_modules").join(".bin").join("tauri");
    run_checked(
        Command::new(&tauri)
            .args(["build", "--bundles", "deb,rpm", "--ci"])
            .env("CARGO_TARGET_DIR", target_dir())
            .current_dir(root().join("src-tauri")),
    )?;
    let deb =
        target_dir().join("release").join("bundle").join("deb").join(format!("Stackdesk_{}_amd64.deb", version()?));
    ensure!(deb.is_file(), "the bundler did not write {}", deb.display());
    Ok(deb)
}

/// What the Windows build made.
#[derive(Debug)]
pub struct WindowsBuild {
    /// `stackdesk.exe`, the CLI.
    pub cli: PathBuf,
    /// `stackdesk-desktop.exe`, the app.
    pub app: PathBuf,
    /// `WebView2Loader.dll`, which the app loads from its own folder.
    pub webview2_loader: PathBuf,
}

/// Cross-compiles the CLI and the desktop app (with the built UI) for Windows (`profile`: `debug`
/// or `release`).
pub fn windows_build(profile: &str) -> anyhow::Result<WindowsBuild> {
    let build = |package: &str| {
        let mut args = vec!["build", "--locked", "--target", WINDOWS, "-p", package];
        if profile == "release" {
            args.push("--release");
        }
        step(&format!("cargo {}", args.join(" ")));
        run_checked(Command::new(cargo_bin()).args(&args).current_dir(root()))
    };
    build("stackdesk-cli")?;
    let out = target_dir().join(WINDOWS).join(profile);
    let cli = out.join("stackdesk.exe");
    // The app's build wants its sidecar as binaries/stackdesk-cli-<target>.exe.
    let sidecar = root().join("src-tauri").join("binaries").join(format!("stackdesk-cli-{WINDOWS}.exe"));
    copy_if_changed(&cli, &sidecar)?;
    build("stackdesk-app")?;
    let build =
        WindowsBuild { cli, app: out.join("stackdesk-desktop.exe"), webview2_loader: out.join("WebView2Loader.dll") };
    for file in [&build.cli, &build.app, &build.webview2_loader] {
        ensure!(file.is_file(), "the Windows build did not write {}", file.display());
    }
    Ok(build)
}

/// How hard makensis compresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// The script's own: solid LZMA, the smallest installer (release).
    Smallest,
    /// zlib: several times faster, for the installer the tests install and remove.
    Fast,
}

/// Builds the Windows installer from `build` with makensis; returns its path.
pub fn windows_installer(build: &WindowsBuild, out_dir: &Path, compression: Compression) -> anyhow::Result<PathBuf> {
    let version = version()?;
    let stage = out_dir.join("stage");
    if stage.exists() {
        std::fs::remove_dir_all(&stage).with_context(|| format!("clearing {}", stage.display()))?;
    }
    std::fs::create_dir_all(&stage)?;
    // Debug symbols are for us, not for the people installing it.
    strip(&build.app, &stage.join("stackdesk-desktop.exe"))?;
    strip(&build.cli, &stage.join("stackdesk-cli.exe"))?;
    std::fs::copy(&build.webview2_loader, stage.join("WebView2Loader.dll"))?;
    std::fs::copy(root().join("src-tauri").join("icons").join("icon.ico"), stage.join("icon.ico"))?;
    let mut command = Command::new("makensis");
    command.args(["-V2", "-INPUTCHARSET", "UTF8"]).arg(format!("-DVERSION={version}"));
    if compression == Compression::Fast {
        command.arg("-DFAST_COMPRESSION");
    }
    let redis = redis_windows_dir();
    if redis.join("redis-server.exe").is_file() {
        copy_dir(&redis, &stage.join("resources").join("redis"))?;
        command.arg("-DWITH_REDIS");
        step(&format!("including Redis for Windows from {}", redis.display()));
    } else {
        step(
            "no Redis for Windows in resources/redis-windows: the installer leaves it out (`cargo xtask fetch-redis-windows` on a machine with internet adds it)",
        );
    }
    let bootstrapper = root().join("resources").join("MicrosoftEdgeWebview2Setup.exe");
    if bootstrapper.is_file() {
        command.arg(format!("-DWEBVIEW2_BOOTSTRAPPER={}", bootstrapper.display()));
    }
    let installer = out_dir.join(format!("Stackdesk-{version}-setup.exe"));
    command
        .arg(format!("-DSTAGE={}", stage.display()))
        .arg(format!("-DOUT_FILE={}", installer.display()))
        .arg(root().join("packaging").join("windows").join("stackdesk.nsi"));
    step(&format!("makensis → {}", installer.display()));
    run_checked(&mut command)?;
    Ok(installer)
}

/// Where `fetch-redis-windows` puts Redis for Windows (not in git).
pub fn redis_windows_dir() -> PathBuf {
    root().join("resources").join("redis-windows")
}

/// The pinned Redis for Windows (`packaging/windows/redis-windows.json`).
#[derive(Debug)]
struct RedisManifest {
    url: String,
    sha256: String,
    archive_dir: String,
    version: String,
}

fn redis_manifest() -> anyhow::Result<RedisManifest> {
    let path = root().join("packaging").join("windows").join("redis-windows.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let field = |name: &str| {
        json[name].as_str().map(str::to_string).with_context(|| format!("{}: no \"{name}\"", path.display()))
    };
    Ok(RedisManifest {
        url: field("url")?,
        sha256: field("sha256")?.to_ascii_lowercase(),
        archive_dir: field("archive_dir")?,
        version: field("version")?,
    })
}

/// Downloads the pinned Redis for Windows, checks its SHA-256 and unpacks it into
/// `resources/redis-windows/` (needs internet, `curl` and `tar`; Windows 10 has both).
pub fn fetch_redis_windows() -> anyhow::Result<()> {
    let manifest = redis_manifest()?;
    let downloads = target_dir().join("downloads");
    std::fs::create_dir_all(&downloads)?;
    let archive = downloads.join(manifest.url.rsplit('/').next().unwrap_or("redis-windows.tar.gz"));
    if sha256_of(&archive).ok().as_deref() != Some(manifest.sha256.as_str()) {
        step(&format!("downloading {}", manifest.url));
        run_checked(Command::new("curl").args(["-fL", "--retry", "3", "-o"]).arg(&archive).arg(&manifest.url))
            .context("downloading Redis for Windows (this needs internet access and curl)")?;
    }
    let actual = sha256_of(&archive)?;
    if actual != manifest.sha256 {
        let _ = std::fs::remove_file(&archive);
        bail!(
            "{}: SHA-256 is {actual}, the manifest pins {}; the download was removed",
            archive.display(),
            manifest.sha256
        );
    }
    let unpack = downloads.join("redis-windows-unpacked");
    if unpack.exists() {
        std::fs::remove_dir_all(&unpack)?;
    }
    std::fs::create_dir_all(&unpack)?;
    run_checked(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&unpack))?;
    let from = unpack.join(&manifest.archive_dir);
    ensure!(
        from.join("redis-server.exe").is_file(),
        "{} has no {}/redis-server.exe: fix archive_dir in the manifest",
        archive.display(),
        manifest.archive_dir
    );
    let to = redis_windows_dir();
    if to.exists() {
        std::fs::remove_dir_all(&to)?;
    }
    copy_dir(&from, &to)?;
    step(&format!("Redis {} for Windows (SHA-256 verified) in {}", manifest.version, to.display()));
    Ok(())
}

fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

fn strip(from: &Path, to: &Path) -> anyhow::Result<()> {
    run_checked(Command::new("x86_64-w64-mingw32-strip").arg("-o").arg(to).arg(from))
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The file's size in MiB, for the figures printed after a build.
pub fn mib(path: &Path) -> String {
    std::fs::metadata(path).map_or_else(|_| "?".into(), |m| format!("{:.1} MiB", m.len() as f64 / 1_048_576.0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // test code: a panic is a failed test
mod tests {
    use super::*;

    #[test]
    fn the_pinned_redis_for_windows_is_complete_and_consistent() {
        let manifest = redis_manifest().expect("packaging/windows/redis-windows.json");
        assert_eq!(manifest.sha256.len(), 64, "{manifest:?}");
        assert!(manifest.sha256.bytes().all(|b| b.is_ascii_hexdigit()), "{manifest:?}");
        assert!(manifest.url.starts_with("https://"), "{manifest:?}");
        assert!(manifest.url.contains(&manifest.version) && manifest.archive_dir.contains(&manifest.version));
    }

    #[test]
    fn downloads_are_checked_against_the_sha256_of_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("abc");
        std::fs::write(&file, b"abc").unwrap();
        // FIPS 180-2's test vector for "abc".
        assert_eq!(sha256_of(&file).unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
