//! The Windows build under Wine: the `stackdesk` CLI against a Linux redis-server on loopback
//! (the Windows code paths: no fork, console control events, the Job Object, `%APPDATA%`), and
//! the installer's silent install and uninstall.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e::wine::Wine;
use serde_json::{Value, json};
use test_support::python::ChildProcess;
use test_support::redis::{RedisServer, free_port};
use test_support::wait;

/// Wine starts slowly the first time; a Windows process gets this long to come up.
const STARTUP: Duration = Duration::from_secs(90);

fn windows_cli() -> PathBuf {
    std::env::var_os("STACKDESK_WINDOWS_CLI")
        .map(PathBuf::from)
        .expect("STACKDESK_WINDOWS_CLI is not set: `cargo xtask test` cross-builds stackdesk.exe and sets it")
}

/// Ctrl+C: Wine turns SIGINT into the console's CTRL_C_EVENT for the Windows process.
fn ctrl_c(child: &ChildProcess) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
}

async fn wait_health(base: &str) {
    let client = reqwest::Client::new();
    wait::until(&format!("{base}/health to answer 200"), STARTUP, || {
        let request = client.get(format!("{base}/health")).send();
        async move { request.await.ok().filter(|r| r.status() == 200).map(|_| ()) }
    })
    .await;
}

/// Creates a product and waits for its task's stored result to be SUCCESS; returns that result
/// (Celery's extended result: `task_id`, `worker`, `result`).
async fn product_to_success(base: &str, redis: &RedisServer) -> Value {
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{base}/products/"))
        .json(&json!({"name": "Чайник", "price": 1990.5}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let task_id = created["task_id"].as_str().unwrap().to_string();
    let key = format!("celery-task-meta-{task_id}");
    wait::until(&format!("task {task_id} to reach SUCCESS"), STARTUP, || {
        let stored = redis.raw_command(&["GET", &key]);
        let result: Option<Value> = stored.lines().find_map(|line| serde_json::from_str(line).ok());
        std::future::ready(result.filter(|r| r["status"] == "SUCCESS"))
    })
    .await
}

/// A CLI test's world: its turn, a Wine prefix, a Linux redis-server, a port for the API.
struct World {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    wine: Wine,
    redis: RedisServer,
    port: u16,
    base: String,
}

impl World {
    async fn new() -> Self {
        let _turn = e2e::ONE_AT_A_TIME.lock().await;
        let port = free_port();
        Self {
            _turn,
            wine: Wine::new().unwrap(),
            redis: RedisServer::start(),
            port,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_windows_api_and_worker_run_a_task_and_stop_on_ctrl_c() {
    let exe = windows_cli();
    let World { _turn, wine, redis, port, base } = World::new().await;
    let env = [("REDIS_URL", redis.url()), ("NOTIFY_SIMULATED_SECS", "1".to_string())];
    let mut api = ChildProcess::spawn(
        "stackdesk.exe api",
        wine.command(&exe).args(["api", "--port", &port.to_string()]).envs(env.clone()),
    );
    let mut worker = ChildProcess::spawn(
        "stackdesk.exe worker",
        wine.command(&exe).args(["worker", "--hostname", "windows@wine"]).envs(env),
    );
    wait_health(&base).await;
    worker.wait_for_output("worker online", STARTUP).await;

    let task = product_to_success(&base, &redis).await;
    assert_eq!(task["worker"], "windows@wine", "{task}");
    assert_eq!(task["result"]["status"], "simulated", "{task}");

    for (child, last_words) in [(&mut worker, "worker stopped"), (&mut api, "API stopped")] {
        ctrl_c(child);
        let (status, output) = child.wait_exit(Duration::from_secs(30)).await;
        assert!(status.success(), "exit {status} after Ctrl+C:\n{output}");
        assert!(output.contains("stopping (again to stop at once)"), "{output}");
        assert!(output.contains(last_words), "{output}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_stackdesk_up_supervises_api_and_worker_and_stops_them_gracefully() {
    let exe = windows_cli();
    let World { _turn, wine, redis, port, base } = World::new().await;
    let monitor_port = test_support::redis::free_port();
    // Redis runs here on Linux; the supervisor starts the API and the worker as Windows
    // processes (CreateProcess, a Job Object, a stop pipe each).
    let mut up = ChildProcess::spawn(
        "stackdesk.exe up",
        wine.command(&exe)
            .args(["up", "--external", "redis", "--redis-url", &redis.url(), "--port", &port.to_string()])
            .env("NOTIFY_SIMULATED_SECS", "1")
            .env("MONITOR_PORT", monitor_port.to_string()),
    );
    up.wait_for_output("ready: API on", STARTUP).await;
    wait_health(&base).await;
    let done = product_to_success(&base, &redis).await;
    // The monitor `up` runs (in its own, Windows, process) recorded the task's whole story.
    let monitor = format!("http://127.0.0.1:{monitor_port}");
    let task: serde_json::Value = reqwest::get(format!("{monitor}/tasks/{}", done["task_id"].as_str().unwrap()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(task["state"], "SUCCESS", "{task}");

    ctrl_c(&up);
    let (status, output) = up.wait_exit(Duration::from_secs(60)).await;
    assert!(status.success(), "exit {status} after Ctrl+C:\n{output}");
    // Each child was asked through its stop pipe and stopped by itself, in order.
    assert_eq!(output.matches("the supervisor asked to stop").count(), 2, "{output}");
    assert!(!output.contains("killing it"), "a child had to be killed:\n{output}");
    let worker_stopped = output.find("worker offline").expect("the worker's goodbye");
    let api_stopped = output.find("API stopped").expect("the API's goodbye");
    assert!(worker_stopped < api_stopped, "the worker stops before the API:\n{output}");
    // The data folder is the Windows one: %APPDATA%\Stackdesk.
    let logs = wine.profile().unwrap().join("AppData").join("Roaming").join("Stackdesk").join("logs");
    for log in ["api.log", "worker.log"] {
        assert!(logs.join(log).is_file(), "no {log} in {}", logs.display());
    }
}

fn installer() -> PathBuf {
    std::env::var_os("STACKDESK_WINDOWS_INSTALLER")
        .map(PathBuf::from)
        .expect("STACKDESK_WINDOWS_INSTALLER is not set: `cargo xtask test` builds the installer and sets it")
}

/// The uninstall key the installer writes (per user), as `reg query` prints it, if there is one.
fn uninstall_entry(wine: &Wine) -> Option<String> {
    let output = wine
        .command("reg")
        .args(["query", r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\Stackdesk"])
        .output()
        .unwrap();
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn run_to_end(wine: &Wine, command: &mut Command) {
    let status = command.status().unwrap();
    assert!(status.success(), "{command:?}: {status}");
    wine.wait_idle().unwrap();
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_windows_installer_installs_per_user_and_uninstalls_cleanly() {
    let installer = installer();
    let _turn = e2e::ONE_AT_A_TIME.lock().await;
    let wine = Wine::new().unwrap();
    let profile = wine.profile().unwrap();
    let install_dir = profile.join("AppData").join("Local").join("Programs").join("Stackdesk");
    let start_menu = profile.join("AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Stackdesk.lnk");
    let desktop = profile.join("Desktop").join("Stackdesk.lnk");
    let user_data = profile.join("AppData").join("Roaming").join("dev.stackdesk.app");

    // Wine links the Windows desktop into the Unix home: ours, not the machine's.
    let desktop_dir = std::fs::canonicalize(profile.join("Desktop")).unwrap();
    assert!(desktop_dir.starts_with(std::fs::canonicalize(wine.home()).unwrap()), "{}", desktop_dir.display());

    // Silent install, per user: no administrator rights asked for (the installer says
    // RequestExecutionLevel user), everything under the user's own folders.
    run_to_end(&wine, wine.command(&installer).arg("/S"));
    for file in ["stackdesk-desktop.exe", "stackdesk-cli.exe", "WebView2Loader.dll", "uninstall.exe"] {
        assert!(install_dir.join(file).is_file(), "{file} not installed in {}", install_dir.display());
    }
    assert!(exists(&start_menu), "no Start-menu shortcut at {}", start_menu.display());
    assert!(exists(&desktop), "no desktop shortcut at {}", desktop.display());
    let entry = uninstall_entry(&wine).expect("an uninstall entry");
    assert!(entry.contains("DisplayName") && entry.contains("uninstall.exe"), "{entry}");

    // The installed CLI runs (its sidecar role) and the user has data.
    let installed_cli = install_dir.join("stackdesk-cli.exe");
    let version = wine.command(&installed_cli).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("stackdesk "), "{version:?}");
    std::fs::create_dir_all(&user_data).unwrap();
    std::fs::write(user_data.join("prefs.json"), "{}").unwrap();

    // A running process of ours: the uninstaller stops it before removing its files.
    let redis = RedisServer::start();
    let mut worker = ChildProcess::spawn(
        "installed stackdesk-cli.exe worker",
        wine.command(&installed_cli).arg("worker").env("REDIS_URL", redis.url()),
    );
    worker.wait_for_output("worker online", STARTUP).await;

    // Silent uninstall keeps user data unless asked.
    run_to_end(&wine, wine.command(install_dir.join("uninstall.exe")).arg("/S"));
    // Nothing else stops it: its exit is the uninstaller's doing.
    worker.wait_exit(Duration::from_secs(30)).await;
    assert!(!exists(&install_dir), "left behind: {:?}", std::fs::read_dir(&install_dir).map(|d| d.count()));
    assert!(!exists(&start_menu) && !exists(&desktop), "shortcuts left behind");
    assert_eq!(uninstall_entry(&wine), None, "the uninstall entry is left behind");
    assert!(user_data.join("prefs.json").is_file(), "user data was deleted without being asked");

    // Again, this time asking for the data to go too.
    run_to_end(&wine, wine.command(&installer).arg("/S"));
    assert!(install_dir.join("stackdesk-desktop.exe").is_file());
    run_to_end(&wine, wine.command(install_dir.join("uninstall.exe")).args(["/S", "/DELETEDATA"]));
    assert!(!exists(&install_dir) && !exists(&user_data), "files or data left behind");
}
