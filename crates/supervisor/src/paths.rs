//! Where things are: the data directory, the redis-server binary, the generated Redis config.

use std::path::{Path, PathBuf};

use crate::config::RedisAuth;
use crate::error::{Result, SupervisorError};

/// The per-user data directory: `$STACKDESK_DATA_DIR`, else the OS's (`~/.local/share/stackdesk`,
/// `%APPDATA%\Stackdesk`, `~/Library/Application Support/Stackdesk`).
pub fn default_data_dir() -> PathBuf {
    let name = if cfg!(target_os = "linux") { "stackdesk" } else { "Stackdesk" };
    dirs::data_dir().map_or_else(|| std::env::temp_dir().join(name), |d| d.join(name))
}

/// Creates `dir` (and its parents) readable by its owner only: Redis's data (products, task
/// arguments, maybe a token in a result) and the logs are nobody else's business.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `contents` to `path`, readable by its owner only (the Redis config holds the password).
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        // An older file keeps its mode on open: narrow it first.
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    std::io::Write::write_all(&mut options.open(path)?, contents.as_bytes())
}

/// A redis-server that was found, and what it says its version is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisBinary {
    /// The executable.
    pub path: PathBuf,
    /// `7.0.15`, from `--version`.
    pub version: String,
}

fn exe_name(name: &str) -> String {
    if cfg!(windows) { format!("{name}.exe") } else { name.to_string() }
}

/// Finds redis-server: the explicit path (`REDIS_SERVER`), then one bundled next to our executable
/// or in its `resources/` or `resources/redis/` (where the Windows installer puts it), then `PATH`
/// (`redis-server`, and `memurai` on Windows).
pub fn find_redis(explicit: Option<&Path>, exe_dir: Option<&Path>) -> Result<RedisBinary> {
    let mut searched = Vec::new();
    if let Some(path) = explicit {
        if path.is_file() {
            return with_version(path);
        }
        return Err(SupervisorError::RedisNotFound {
            searched: format!("REDIS_SERVER={}", path.display()),
            advice: "That file does not exist: fix REDIS_SERVER or unset it to search the usual places.".into(),
        });
    }
    if let Some(dir) = exe_dir {
        let resources = dir.join("resources");
        for candidate in [
            dir.join(exe_name("redis-server")),
            resources.join(exe_name("redis-server")),
            resources.join("redis").join(exe_name("redis-server")),
        ] {
            if candidate.is_file() {
                return with_version(&candidate);
            }
            searched.push(candidate.display().to_string());
        }
    }
    let names: &[&str] = if cfg!(windows) { &["redis-server", "memurai"] } else { &["redis-server"] };
    for name in names {
        if let Some(found) = on_path(&exe_name(name)) {
            return with_version(&found);
        }
        searched.push(format!("{name} on PATH"));
    }
    Err(SupervisorError::RedisNotFound { searched: searched.join(", "), advice: install_advice().into() })
}

fn install_advice() -> &'static str {
    if cfg!(windows) {
        "The Stackdesk installer can bundle Redis for Windows; or install Memurai (a Redis for Windows); \
         or point REDIS_SERVER at a redis-server.exe; or set Redis to external and use a Redis you run yourself."
    } else if cfg!(target_os = "macos") {
        "Install it with `brew install redis`, or set REDIS_SERVER to a redis-server binary."
    } else {
        "Install it with `sudo apt install redis-server` (Debian, Ubuntu) or your distribution's package, \
         or set REDIS_SERVER to a redis-server binary."
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

fn with_version(path: &Path) -> Result<RedisBinary> {
    let output = std::process::Command::new(path)
        .arg("--version")
        .output()
        .map_err(|e| SupervisorError::io(format!("running {} --version", path.display()), e))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().find_map(|w| w.strip_prefix("v=")).unwrap_or("unknown").to_string();
    Ok(RedisBinary { path: path.to_path_buf(), version })
}

/// Whether a Redis of `version` (`7.0.15`) knows ACL channel rules (`&*`, Redis 6.2 and later);
/// an unknown version is taken to be recent.
pub fn has_channel_rules(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (6, 2),
        _ => true,
    }
}

/// The redis.conf the supervisor writes: loopback only, protected mode, AOF every second, data in
/// `data_dir`, logs on stdout (the supervisor keeps them), and the login of `REDIS_URL`: its
/// password as `requirepass`, or, for a named user, that user with every right and no `default`
/// (channel rules only where the `version` of Redis has them: before 6.2 every channel is open).
pub fn redis_conf(port: u16, data_dir: &Path, auth: &RedisAuth, version: &str) -> String {
    let dir = quoted(&data_dir.display().to_string().replace('\\', "/"));
    let login = match (&auth.username, &auth.password) {
        (None, Some(password)) => format!("requirepass {}\n", quoted(password)),
        // The configuration refuses a user without a password (it could not log in).
        (Some(user), Some(password)) => {
            let channels = if has_channel_rules(version) { " &*" } else { "" };
            format!(
                "user default off\nuser {} on {} ~*{channels} +@all\n",
                quoted(user),
                quoted(&format!(">{password}"))
            )
        }
        (_, None) => String::new(),
    };
    format!(
        "# Written by Stackdesk each time it starts Redis; edits here are replaced.\n\
         # Only this machine can connect, and what you store survives restarts (append-only file).\n\
         bind 127.0.0.1\n\
         protected-mode yes\n\
         port {port}\n\
         dir {dir}\n\
         appendonly yes\n\
         appendfsync everysec\n\
         save \"\"\n\
         daemonize no\n\
         logfile \"\"\n\
         loglevel notice\n\
         {login}"
    )
}

/// `value` as a double-quoted redis.conf argument.
fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_keeps_redis_local_and_durable() {
        let conf = redis_conf(16379, Path::new("/data/stackdesk/redis"), &RedisAuth::default(), "7.0.15");
        for line in [
            "bind 127.0.0.1",
            "protected-mode yes",
            "port 16379",
            "dir \"/data/stackdesk/redis\"",
            "appendonly yes",
            "appendfsync everysec",
        ] {
            assert!(conf.lines().any(|l| l == line), "{line} missing from\n{conf}");
        }
        let windows = redis_conf(1, Path::new(r"C:\Users\a b\AppData"), &RedisAuth::default(), "7.0.15");
        assert!(windows.contains(r#"dir "C:/Users/a b/AppData""#), "{windows}");
        assert!(!conf.contains("requirepass") && !conf.contains("user "), "{conf}");
    }

    #[cfg(unix)]
    #[test]
    fn a_named_user_gets_channel_rules_only_where_redis_has_them() {
        let auth = RedisAuth { username: Some("learner".into()), password: Some("pw".into()) };
        let recent = redis_conf(1, Path::new("/d"), &auth, "7.0.15");
        assert!(recent.contains("user default off\nuser \"learner\" on \">pw\" ~* &* +@all\n"), "{recent}");
        let older = redis_conf(1, Path::new("/d"), &auth, "6.0.16");
        assert!(older.contains("user \"learner\" on \">pw\" ~* +@all\n"), "{older}");
        assert!(has_channel_rules("6.2.0") && has_channel_rules("unknown") && !has_channel_rules("5.0.14"));
        let password_only = RedisAuth { username: None, password: Some("pw".into()) };
        assert!(redis_conf(1, Path::new("/d"), &password_only, "7.0.15").contains("requirepass \"pw\"\n"));
    }

    #[test]
    fn a_redis_bundled_in_resources_redis_comes_before_path() {
        let real = on_path("redis-server").expect("redis-server on PATH (apt install redis-server)");
        let dir = tempfile::tempdir().unwrap();
        let bundled = dir.path().join("resources").join("redis");
        std::fs::create_dir_all(&bundled).unwrap();
        std::os::unix::fs::symlink(&real, bundled.join("redis-server")).unwrap();
        let found = find_redis(None, Some(dir.path())).unwrap();
        assert_eq!(found.path, bundled.join("redis-server"));
        assert!(found.version.chars().next().is_some_and(|c| c.is_ascii_digit()), "{found:?}");
    }

    #[test]
    fn a_missing_explicit_binary_says_so() {
        let err = find_redis(Some(Path::new("/nonexistent/redis-server")), None).unwrap_err();
        assert!(err.to_string().contains("REDIS_SERVER=/nonexistent/redis-server"), "{err}");
    }
}
