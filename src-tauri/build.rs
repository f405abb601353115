//! Tells tauri-build every command the app exposes (from `src/commands/list.rs`), so that
//! `capabilities/default.json` can grant exactly those.

include!("src/commands/list.rs");

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(with_commands!(names));
    if let Err(err) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri-build: {err:#}");
    }
}
