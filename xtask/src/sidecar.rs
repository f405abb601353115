//! The `stackdesk` CLI built where the app's build expects its sidecar.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{cargo, cargo_bin, copy_if_changed, host_triple, root, run_checked, step, target_dir};

/// Builds the `stackdesk` CLI in `profile` and puts it where the app's build expects its sidecar
/// (`src-tauri/binaries/stackdesk-cli-<triple>`).
pub fn build_sidecar(profile: &str, venv: Option<&Path>) -> anyhow::Result<PathBuf> {
    let mut args = vec!["build", "--locked", "-p", "stackdesk-cli"];
    if profile == "release" {
        args.push("--release");
    }
    match venv {
        Some(venv) => cargo(&args, venv)?,
        None => {
            step(&format!("cargo {}", args.join(" ")));
            run_checked(Command::new(cargo_bin()).args(&args).current_dir(root()))?;
        }
    }
    let built = target_dir().join(profile).join(format!("stackdesk{}", std::env::consts::EXE_SUFFIX));
    let binaries = root().join("src-tauri").join("binaries");
    let sidecar = binaries.join(format!("stackdesk-cli-{}{}", host_triple()?, std::env::consts::EXE_SUFFIX));
    // Copy only when it changed, so the app is not rebuilt for nothing.
    copy_if_changed(&built, &sidecar)?;
    Ok(built)
}
