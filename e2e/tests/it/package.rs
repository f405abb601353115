//! The Linux package: installed with `dpkg -i`, the installed app started under Xvfb and driven
//! through Start to a task's SUCCESS, then removed, leaving nothing of ours running.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{Binaries, Display, Driver};

const PACKAGE: &str = "stackdesk";
const APP: &str = "/usr/bin/stackdesk-desktop";
const SIDECAR: &str = "/usr/bin/stackdesk-cli";

/// `dpkg`, through `sudo -n` unless we are root.
fn dpkg(args: &[&str]) -> std::process::Output {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut command = if root { Command::new("dpkg") } else { Command::new("sudo") };
    if !root {
        command.args(["-n", "dpkg"]);
    }
    command.args(args).output().expect("running dpkg")
}

/// Removes the package when the test ends, whatever happened.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = dpkg(&["-r", PACKAGE]);
    }
}

/// Processes whose executable is one of ours, or whose command line names one of `markers` (the
/// test's home; Redis renames itself to `redis-server <address>`, so its address too).
fn ours_running(markers: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let exe = std::fs::read_link(entry.path().join("exe")).map(|p| p.display().to_string()).unwrap_or_default();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if exe.starts_with(APP) || exe.starts_with(SIDECAR) || markers.iter().any(|m| cmdline.contains(m.as_str())) {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deb_installs_runs_a_task_and_removes_cleanly() {
    let _turn = e2e::ONE_AT_A_TIME.lock().await;
    let deb = std::env::var_os("STACKDESK_DEB")
        .map(PathBuf::from)
        .expect("STACKDESK_DEB is not set: `cargo xtask test` builds the package and sets it");
    let binaries = Binaries::from_env().unwrap();

    // It depends on Debian's redis-server rather than bundling one.
    let fields = Command::new("dpkg-deb").args(["-f"]).arg(&deb).args(["Package", "Depends"]).output().unwrap();
    let fields = String::from_utf8_lossy(&fields.stdout).into_owned();
    assert!(fields.contains(&format!("Package: {PACKAGE}")), "{fields}");
    assert!(fields.contains("redis-server"), "the package does not depend on redis-server: {fields}");

    let installed = dpkg(&["-i", &deb.display().to_string()]);
    assert!(installed.status.success(), "dpkg -i: {}", String::from_utf8_lossy(&installed.stderr));
    let guard = Installed;
    for file in [APP, SIDECAR] {
        assert!(Path::new(file).is_file(), "{file} is not installed");
    }

    // The installed app, as a user starts it: no paths from the build, its own HOME.
    let display = Display::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (mut env, _) = e2e::stack_env(home.path(), &[]);
    env.push(("HOME".into(), home.path().display().to_string()));
    let redis_url = env.iter().find(|(k, _)| k == "REDIS_URL").map(|(_, v)| v.clone()).unwrap();
    let redis_address = redis_url.trim_start_matches("redis://").trim_end_matches("/0").to_string();
    let markers = [home.path().display().to_string(), redis_address];
    let log = binaries.artifacts.join("deb-app.log");
    let driver = Driver::tauri(Path::new(APP), &display, &env, home.path(), &log).await.unwrap();
    let mut page = driver.session(&binaries.artifacts, "deb").await.unwrap();
    let url = page.client.current_url().await.unwrap().to_string();
    crate::scenario::start_and_run_a_task(&mut page, &url).await;
    // The Redis it runs is Debian's, found on PATH, with its files in this user's data folder.
    let redis = ours_running(&markers);
    assert!(redis.iter().any(|p| p.contains("redis-server")), "no redis-server of ours: {redis:?}");

    // Quitting stops the stack; removing the package leaves nothing of ours running.
    page.close().await.unwrap();
    drop(driver);
    test_support::wait::until_blocking("the app and its stack to exit", e2e::DEADLINE, || {
        ours_running(&markers).is_empty().then_some(())
    });
    drop(guard);
    let status = dpkg(&["-s", PACKAGE]);
    assert!(!status.status.success(), "the package is still installed");
    for file in [APP, SIDECAR] {
        assert!(!Path::new(file).exists(), "{file} is left after removal");
    }
    assert_eq!(ours_running(&markers), Vec::<String>::new());
}
