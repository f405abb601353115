//! The commands' error type: the desk's errors as they are (the UI reads their `kind`), and the
//! window system's, in words.

use serde::Serialize;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// From the stack, settings or checks.
    #[error(transparent)]
    Desk(#[from] desk::DeskError),
    /// From Tauri (windows, paths).
    #[error("{0}")]
    Tauri(#[from] tauri::Error),
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AppError::Desk(err) => err.serialize(serializer),
            AppError::Tauri(err) => {
                serde_json::json!({"kind": "app", "message": err.to_string()}).serialize(serializer)
            }
        }
    }
}

/// Shorthand for command results.
pub type Result<T, E = AppError> = std::result::Result<T, E>;
