//! The TypeScript types the UI uses for what the backends send are generated from the Rust
//! types (ts-rs) into `ui/src/gen/`: this test fails when that folder is not what the Rust types
//! make now. `STACKDESK_WRITE_TYPES=1` (`cargo xtask types`) writes it instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

/// Every type the UI receives or sends (their dependencies come with them).
fn export_all(cfg: &Config) -> Result<(), ts_rs::ExportError> {
    desk::Snapshot::export_all(cfg)?;
    desk::DeskEvent::export_all(cfg)?;
    desk::SettingsView::export_all(cfg)?;
    desk::SettingsUpdate::export_all(cfg)?;
    desk::SaveOutcome::export_all(cfg)?;
    desk::RedisServerCheck::export_all(cfg)?;
    desk::telegram::TelegramCheck::export_all(cfg)?;
    desk::error::ErrorBody::export_all(cfg)?;
    desk::actions::StackAction::export_all(cfg)?;
    desk::actions::ProcessAction::export_all(cfg)?;
    desk::actions::OpenTarget::export_all(cfg)?;
    desk::actions::CloseAnswer::export_all(cfg)?;
    monitor::model::TaskView::export_all(cfg)?;
    monitor::model::TaskPage::export_all(cfg)?;
    monitor::model::WorkerView::export_all(cfg)?;
    monitor::model::LiveEvent::export_all(cfg)?;
    monitor::model::LiveKind::export_all(cfg)?;
    monitor::glance::RedisGlance::export_all(cfg)?;
    monitor::glance::KeyContents::export_all(cfg)?;
    layout::KeyRole::export_all(cfg)?;
    api::model::SyncOutcome::export_all(cfg)?;
    web::FieldError::export_all(cfg)?;
    Ok(())
}

/// Every file under `dir`, by name.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).unwrap()))
        .collect()
}

fn generated_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/gen")
}

#[test]
fn the_uis_generated_types_are_current() {
    let fresh = tempfile::tempdir().unwrap();
    let cfg = Config::new().with_out_dir(fresh.path()).with_large_int("number");
    export_all(&cfg).unwrap();
    let made = files(fresh.path());
    assert!(made.len() > 20, "types generated: {:?}", made.keys());
    let target = generated_dir();
    if std::env::var_os("STACKDESK_WRITE_TYPES").is_some() {
        let _ = std::fs::remove_dir_all(&target);
        std::fs::create_dir_all(&target).unwrap();
        for (name, text) in &made {
            std::fs::write(target.join(name), text).unwrap();
        }
        return;
    }
    let existing = files(&target);
    let stale: Vec<&String> = made.keys().chain(existing.keys()).filter(|n| made.get(*n) != existing.get(*n)).collect();
    assert!(
        stale.is_empty(),
        "ui/src/gen/ is not what the Rust types make now ({stale:?}): run `cargo xtask types` and commit the result"
    );
}
