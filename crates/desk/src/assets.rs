//! Where the control endpoint finds the UI's files: a built `ui/dist` directory on disk (for
//! `stackdesk up --ui-dir`), or whatever the app embeds (the Tauri glue implements [`Assets`]
//! over its own asset resolver).

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

/// One file of the UI.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Its bytes.
    pub bytes: Cow<'static, [u8]>,
    /// Its MIME type.
    pub mime: String,
}

/// A source of the UI's files.
pub trait Assets: Send + Sync + 'static {
    /// The file at `path` (relative, `/`-separated, no leading slash), if there is one.
    fn get(&self, path: &str) -> Option<Asset>;
}

/// The MIME type of a file name.
pub fn mime_of(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Files from a directory on disk.
#[derive(Debug, Clone)]
pub struct DirAssets {
    root: PathBuf,
}

impl DirAssets {
    /// Files under `root` (must hold `index.html`).
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        if !root.join("index.html").is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} has no index.html: build the UI first (cd ui && npm run build)", root.display()),
            ));
        }
        Ok(Self { root })
    }
}

impl Assets for DirAssets {
    fn get(&self, path: &str) -> Option<Asset> {
        let relative = Path::new(path);
        // Only plain names below the root: no `..`, no absolute paths, no drive letters.
        if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
            return None;
        }
        let bytes = std::fs::read(self.root.join(relative)).ok()?;
        Some(Asset { bytes: Cow::Owned(bytes), mime: mime_of(path).to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_below_the_root_are_served() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/app.js"), "1").unwrap();
        let assets = DirAssets::new(dir.path()).unwrap();
        assert_eq!(assets.get("assets/app.js").unwrap().mime, "text/javascript; charset=utf-8");
        assert!(assets.get("../index.html").is_none());
        assert!(assets.get("/etc/passwd").is_none());
        assert!(assets.get("missing.js").is_none());
        assert!(DirAssets::new(dir.path().join("assets")).is_err(), "a directory without index.html is refused");
    }
}
