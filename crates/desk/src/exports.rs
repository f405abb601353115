//! Saving an exported diagram (SVG or PNG) under the data folder's `exports/`, so that the app
//! (whose web view cannot download files) and a browser both get a file they can find.

use std::path::{Path, PathBuf};

use crate::error::{DeskError, Result};

/// The largest export accepted, in bytes.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// Whether `name` is a plain file name (letters, digits, `.`, `-`, `_`) ending in `.svg` or `.png`.
pub fn valid_name(name: &str) -> bool {
    let plain = name.len() <= 120
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    plain && (name.ends_with(".svg") || name.ends_with(".png")) && name.len() > 4
}

/// Writes `bytes` as `dir/exports/name` (whole, then renamed into place) and returns the path.
pub fn save(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    if !valid_name(name) || bytes.len() > MAX_BYTES {
        return Err(DeskError::BadExportName(name.to_string()));
    }
    let folder = dir.join("exports");
    std::fs::create_dir_all(&folder).map_err(|e| DeskError::io(format!("creating {}", folder.display()), e))?;
    let path = folder.join(name);
    let partial = folder.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes).map_err(|e| DeskError::io(format!("writing {}", partial.display()), e))?;
    std::fs::rename(&partial, &path).map_err(|e| DeskError::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_svg_and_png_names_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = save(dir.path(), "architecture-2026.svg", b"<svg/>").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<svg/>");
        assert_eq!(path, dir.path().join("exports/architecture-2026.svg"));
        for bad in ["../x.svg", "a/b.svg", ".svg", "x.exe", "x.svg.sh", "", ".hidden.png", "a b.svg"] {
            assert!(matches!(save(dir.path(), bad, b"x"), Err(DeskError::BadExportName(_))), "{bad}");
        }
        assert_eq!(std::fs::read_dir(dir.path().join("exports")).unwrap().count(), 1, "nothing else written");
    }
}
