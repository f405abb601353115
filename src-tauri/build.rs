//! Lists every command the app exposes, so that `capabilities/default.json` can grant exactly those.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "snapshot",
        "start",
        "stop",
        "restart",
        "process_action",
        "logs",
        "settings",
        "save_settings",
        "test_telegram",
        "open_target",
        "subscribe",
        "browser_url",
        "close_answer",
        "redis_glance",
        "redis_server",
        "redis_key",
        "save_export",
        "set_fullscreen",
    ]);
    if let Err(err) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri-build: {err:#}");
    }
}
