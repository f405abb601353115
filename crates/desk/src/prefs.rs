//! The settings a learner saves in the app: configuration keys (the same keys, rules and error
//! messages as the command line), processes run by someone else, language and theme.
//!
//! They live in `settings.json` in the app's config directory, written whole (temporary file,
//! then rename) so that a crash never leaves half a file, and readable by its owner only (it may
//! hold the bot token). Saved values beat the environment, which fills in the rest.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use supervisor::ProcessKind;
use ts_rs::TS;

use crate::error::{DeskError, ProblemKind, Result, SettingProblem};

/// The keys the Settings page may change, and the processes that read each one (and so must be
/// restarted to see a new value).
pub const EDITABLE: &[(&str, &[ProcessKind])] = &[
    ("REDIS_URL", &[ProcessKind::Redis, ProcessKind::Api, ProcessKind::Worker]),
    ("API_PORT", &[ProcessKind::Api]),
    // The monitor runs beside the stack, in this process: only a restart of the stack moves it.
    ("MONITOR_PORT", &[ProcessKind::Redis, ProcessKind::Api, ProcessKind::Worker]),
    ("WORKER_CONCURRENCY", &[ProcessKind::Worker]),
    ("NOTIFY_SIMULATED_SECS", &[ProcessKind::Api, ProcessKind::Worker]),
    ("TASK_MAX_RETRIES", &[ProcessKind::Worker]),
    ("TASK_RETRY_COUNTDOWN_SECS", &[ProcessKind::Worker]),
    ("TELEGRAM_BOT_TOKEN", &[ProcessKind::Api, ProcessKind::Worker]),
    ("TELEGRAM_CHAT_ID", &[ProcessKind::Api, ProcessKind::Worker]),
    ("TELEGRAM_API_URL", &[ProcessKind::Api, ProcessKind::Worker]),
    ("RESULT_EXPIRES_SECS", &[ProcessKind::Worker]),
    ("TASK_HISTORY_MAX", &[ProcessKind::Api]),
];

/// The UI's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "Language.ts")]
pub enum Language {
    /// Русский: the original course's language.
    Ru,
    /// English.
    En,
}

impl Language {
    /// Russian when the system's locale is Russian, English otherwise.
    pub fn detect() -> Self {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].iter().find_map(|k| std::env::var(k).ok()).unwrap_or_default();
        if locale.to_ascii_lowercase().starts_with("ru") { Language::Ru } else { Language::En }
    }
}

/// The UI's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "Theme.ts")]
pub enum Theme {
    /// As the desktop says.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// What is saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prefs {
    /// Configuration keys set in the app (key → text as typed).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Processes run by someone else (probed, never started).
    #[serde(default)]
    pub external: Vec<ProcessKind>,
    /// The UI's language.
    #[serde(default = "Language::detect")]
    pub language: Language,
    /// The UI's colours.
    #[serde(default)]
    pub theme: Theme,
    /// The demo bar's failure injection: the first attempt of every task fails. For this run of
    /// the app only, never saved, so that a tick forgotten in one class does not fail every
    /// task of the next.
    #[serde(skip)]
    pub demo_failures: bool,
}

/// The key failure injection sets while it is on. Not a saved setting: a value an older version
/// saved is dropped when the settings are read.
pub const FAILURE_KEY: &str = "NOTIFY_FAIL_FIRST_ATTEMPTS";

/// The processes that read [`FAILURE_KEY`] (the API's synchronous demo sends too).
const FAILURE_READERS: [ProcessKind; 2] = [ProcessKind::Api, ProcessKind::Worker];

impl Default for Prefs {
    fn default() -> Self {
        Self {
            values: BTreeMap::new(),
            external: Vec::new(),
            language: Language::detect(),
            theme: Theme::System,
            demo_failures: false,
        }
    }
}

/// A change from the Settings page. Keys left out keep their value; an empty value goes back to
/// the default (for the bot token: removes it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, TS)]
#[ts(export_to = "SettingsUpdate.ts")]
pub struct SettingsUpdate {
    /// Keys to change.
    #[serde(default)]
    #[ts(optional, as = "Option<BTreeMap<String, String>>")]
    pub values: BTreeMap<String, String>,
    /// The new list of external processes, if it changes.
    #[ts(optional)]
    pub external: Option<Vec<ProcessKind>>,
    /// The new language, if it changes.
    #[ts(optional)]
    pub language: Option<Language>,
    /// The new theme, if it changes.
    #[ts(optional)]
    pub theme: Option<Theme>,
    /// Failure injection on or off, for this run of the app only (never saved).
    #[ts(optional)]
    pub demo_failures: Option<bool>,
}

/// The settings as the UI shows them: secrets are never sent back, only whether they are set.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "SettingsView.ts")]
pub struct SettingsView {
    /// Every editable key's current text: saved, else from the environment, else the default
    /// (empty for secrets).
    pub values: BTreeMap<String, String>,
    /// The defaults, so the UI can say "default" and reset.
    pub defaults: BTreeMap<String, String>,
    /// Secret keys that hold a value.
    pub secrets_set: Vec<String>,
    /// Processes run by someone else.
    pub external: Vec<ProcessKind>,
    /// The UI's language.
    pub language: Language,
    /// The UI's colours.
    pub theme: Theme,
    /// Whether the demo bar's failure injection is on (for this run only).
    pub demo_failures: bool,
    /// Whether the environment sets failure injection (`NOTIFY_FAIL_FIRST_ATTEMPTS` above 0): then
    /// it is on whatever the switch says.
    pub demo_failures_env: bool,
    /// Where they are saved.
    #[ts(type = "string")]
    pub path: PathBuf,
}

/// The answer to a save.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "SaveOutcome.ts")]
pub struct SaveOutcome {
    /// The settings now.
    pub settings: SettingsView,
    /// Running processes that must be restarted to see the change (none when the stack is stopped).
    pub restart: Vec<ProcessKind>,
}

/// The key whose password is masked in the view.
const REDIS_URL: &str = "REDIS_URL";

/// `submitted` with the password of `current` put back where the view masked it
/// (`redis://***@host` → `redis://:secret@host`); anything else as submitted.
fn unmasked_redis_url(submitted: &str, current: Option<&str>) -> String {
    let (Some(masked), Some(current)) = (submitted.split_once("://***@"), current) else {
        return submitted.to_string();
    };
    match (current.find("://"), current.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://{}@{}", masked.0, &current[scheme + 3..at], masked.1),
        _ => format!("{}://{}", masked.0, masked.1),
    }
}

fn is_secret(key: &str) -> bool {
    config::KEYS.iter().any(|k| k.name == key && k.secret)
}

fn default_of(key: &str) -> &'static str {
    config::KEYS.iter().find(|k| k.name == key).map_or("", |k| k.default)
}

/// The processes that read `key`.
pub fn readers(key: &str) -> &'static [ProcessKind] {
    EDITABLE.iter().find(|(k, _)| *k == key).map_or(&[], |(_, readers)| readers)
}

impl Prefs {
    /// `settings.json` in `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join("settings.json")
    }

    /// Reads the saved settings; none saved yet gives the defaults. A file that cannot be read
    /// as settings is an error naming it (never silently replaced: it may hold a token).
    pub fn load(dir: &Path) -> Result<Self> {
        let path = Self::path_in(dir);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mut prefs: Prefs = serde_json::from_slice(&bytes).map_err(|e| {
                    DeskError::io(
                        format!("reading {} (fix or delete the file)", path.display()),
                        std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                    )
                })?;
                prefs.values.remove(FAILURE_KEY);
                Ok(prefs)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(DeskError::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Writes the settings whole: a temporary file, then a rename.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| DeskError::io(format!("creating {}", dir.display()), e))?;
        let path = Self::path_in(dir);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| DeskError::io("encoding settings", e.into()))?;
        std::fs::write(&tmp, text).map_err(|e| DeskError::io(format!("writing {}", tmp.display()), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| DeskError::io(format!("protecting {}", tmp.display()), e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| DeskError::io(format!("writing {}", path.display()), e))
    }

    /// These settings with `update` applied, checked; nothing changes when a check fails, and
    /// every failing key is reported, not only the first.
    pub fn updated(&self, update: &SettingsUpdate, env: &HashMap<String, String>) -> Result<Prefs> {
        let mut next = self.clone();
        let mut problems = Vec::new();
        for (key, value) in &update.values {
            if !EDITABLE.iter().any(|(k, _)| k == key) {
                problems.push(SettingProblem::new(
                    key.clone(),
                    "not a setting the app can change",
                    ProblemKind::App(crate::error::AppRule::NotEditable),
                ));
                continue;
            }
            let mut value = value.trim().to_string();
            if key == REDIS_URL {
                let current = self.values.get(REDIS_URL).or_else(|| env.get(REDIS_URL));
                value = unmasked_redis_url(&value, current.map(String::as_str));
            }
            if value.is_empty() {
                next.values.remove(key);
            } else {
                next.values.insert(key.clone(), value);
            }
        }
        if let Some(external) = &update.external {
            next.external = external.clone();
            next.external.sort();
            next.external.dedup();
        }
        next.language = update.language.unwrap_or(next.language);
        next.theme = update.theme.unwrap_or(next.theme);
        next.demo_failures = update.demo_failures.unwrap_or(next.demo_failures);
        // Each key on its own first, so every wrong field is named …
        for (key, value) in &next.values {
            let flags = HashMap::from([(key.clone(), value.clone())]);
            if let Err(err) = config::Settings::from_sources(&config::Sources { flags, ..Default::default() })
                && err.key == key
            {
                problems.push(SettingProblem::from_config(&err));
            }
        }
        // … then together, for rules that tie keys (a bot token needs a chat id).
        if problems.is_empty()
            && let Err(err) = next.resolve(env)
        {
            problems.push(SettingProblem::from_config(&err));
        }
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        if problems.is_empty() { Ok(next) } else { Err(DeskError::InvalidSettings(problems)) }
    }

    /// The values the processes get: the saved ones, and failure injection while it is on.
    pub fn effective_values(&self) -> BTreeMap<String, String> {
        let mut values = self.values.clone();
        values.remove(FAILURE_KEY);
        if self.demo_failures {
            values.insert(FAILURE_KEY.to_string(), "1".to_string());
        }
        values
    }

    /// The effective configuration: saved values (and failure injection) over `env` over defaults.
    pub fn resolve(&self, env: &HashMap<String, String>) -> std::result::Result<config::Settings, config::ConfigError> {
        let flags: HashMap<String, String> = self.effective_values().into_iter().collect();
        config::Settings::from_sources(&config::Sources { flags, env: env.clone(), dotenv: HashMap::new() })
    }

    /// The running processes that read a key whose value differs between `self` and `next`.
    pub fn restart_needed(&self, next: &Prefs) -> Vec<ProcessKind> {
        let (before, after) = (self.effective_values(), next.effective_values());
        let mut processes: Vec<ProcessKind> = EDITABLE
            .iter()
            .filter(|(key, _)| before.get(*key) != after.get(*key))
            .flat_map(|(_, readers)| readers.iter().copied())
            .collect();
        if self.external != next.external {
            processes.extend(ProcessKind::ALL);
        }
        if self.demo_failures != next.demo_failures {
            processes.extend(FAILURE_READERS);
        }
        processes.sort();
        processes.dedup();
        processes
    }

    /// The settings as the UI shows them (`env`: what unsaved keys fall back on).
    pub fn view(&self, dir: &Path, env: &HashMap<String, String>) -> SettingsView {
        let mut values = BTreeMap::new();
        let mut defaults = BTreeMap::new();
        let mut secrets_set = Vec::new();
        for (key, _) in EDITABLE {
            let saved = self.values.get(*key).or_else(|| env.get(*key).filter(|v| !v.trim().is_empty()));
            if is_secret(key) {
                if saved.is_some() {
                    secrets_set.push((*key).to_string());
                }
                values.insert((*key).to_string(), String::new());
            } else if *key == REDIS_URL {
                // A password in it is a secret too: shown masked, kept when the masked form comes back.
                let url = saved.map_or_else(|| default_of(key).to_string(), Clone::clone);
                values.insert((*key).to_string(), config::Secret::new(url).redacted_url());
            } else {
                values.insert((*key).to_string(), saved.map_or_else(|| default_of(key).to_string(), Clone::clone));
            }
            defaults.insert((*key).to_string(), default_of(key).to_string());
        }
        SettingsView {
            values,
            defaults,
            secrets_set,
            external: self.external.clone(),
            language: self.language,
            theme: self.theme,
            demo_failures: self.demo_failures,
            demo_failures_env: env.get(FAILURE_KEY).and_then(|v| v.trim().parse::<u32>().ok()).is_some_and(|n| n > 0),
            path: Self::path_in(dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_password_is_shown_masked_and_kept_when_the_mask_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let env = HashMap::new();
        let update = |url: &str| SettingsUpdate {
            values: BTreeMap::from([("REDIS_URL".to_string(), url.to_string())]),
            ..SettingsUpdate::default()
        };
        let saved = Prefs::default().updated(&update("redis://:s3cret@127.0.0.1:6390/0"), &env).unwrap();
        let view = saved.view(dir.path(), &env);
        assert_eq!(view.values["REDIS_URL"], "redis://***@127.0.0.1:6390/0");
        assert!(!serde_json::to_string(&view).unwrap().contains("s3cret"));
        // The form sends back what it was shown (with the port changed): the password stays.
        let moved = saved.updated(&update("redis://***@127.0.0.1:6391/0"), &env).unwrap();
        assert_eq!(moved.values["REDIS_URL"], "redis://:s3cret@127.0.0.1:6391/0");
        let plain = saved.updated(&update("redis://127.0.0.1:6392/0"), &env).unwrap();
        assert_eq!(plain.values["REDIS_URL"], "redis://127.0.0.1:6392/0", "a URL without a mask is taken as typed");
    }

    #[test]
    fn failure_injection_is_for_this_run_only() {
        let dir = tempfile::tempdir().unwrap();
        let env = HashMap::new();
        let before = Prefs::default();
        let on =
            before.updated(&SettingsUpdate { demo_failures: Some(true), ..SettingsUpdate::default() }, &env).unwrap();
        assert_eq!(on.resolve(&env).unwrap().notify_fail_first_attempts, 1);
        assert_eq!(on.effective_values().get(FAILURE_KEY).map(String::as_str), Some("1"));
        assert_eq!(before.restart_needed(&on), vec![ProcessKind::Api, ProcessKind::Worker]);
        assert!(on.view(dir.path(), &env).demo_failures);
        on.save(dir.path()).unwrap();
        let loaded = Prefs::load(dir.path()).unwrap();
        assert!(!loaded.demo_failures, "failure injection is never saved");
        assert_eq!(loaded.resolve(&env).unwrap().notify_fail_first_attempts, 0);
        let off =
            on.updated(&SettingsUpdate { demo_failures: Some(false), ..SettingsUpdate::default() }, &env).unwrap();
        assert_eq!(on.restart_needed(&off), vec![ProcessKind::Api, ProcessKind::Worker]);
        // Not a setting any more: a value an older version saved is dropped, and not accepted.
        std::fs::write(
            Prefs::path_in(dir.path()),
            r#"{"values": {"NOTIFY_FAIL_FIRST_ATTEMPTS": "1", "API_PORT": "8123"}}"#,
        )
        .unwrap();
        let old = Prefs::load(dir.path()).unwrap();
        assert_eq!(old.resolve(&env).unwrap().notify_fail_first_attempts, 0);
        assert_eq!(old.values.get("API_PORT").map(String::as_str), Some("8123"));
        assert!(old.updated(&update(&[(FAILURE_KEY, "1")]), &env).is_err());
        // Set by the environment (a test, `stackdesk up`): on, and the view says so.
        let env = HashMap::from([(FAILURE_KEY.to_string(), "2".to_string())]);
        assert!(Prefs::default().view(dir.path(), &env).demo_failures_env);
    }

    fn update(pairs: &[(&str, &str)]) -> SettingsUpdate {
        SettingsUpdate {
            values: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..SettingsUpdate::default()
        }
    }

    #[test]
    fn every_wrong_key_is_named_and_nothing_changes() {
        let prefs = Prefs::default();
        let err = prefs
            .updated(
                &update(&[("API_PORT", "eighty"), ("WORKER_CONCURRENCY", "0"), ("API_HOST", "0.0.0.0")]),
                &HashMap::new(),
            )
            .unwrap_err();
        let DeskError::InvalidSettings(problems) = err else { panic!("{err}") };
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["API_HOST", "API_PORT", "WORKER_CONCURRENCY"], "{problems:?}");
        assert!(problems[1].message.contains("1 to 65535"), "{problems:?}");
        assert_eq!(problems[1].kind, ProblemKind::Config(config::Rule::WholeNumber { min: 1, max: 65535 }));
        assert_eq!(problems[2].kind, ProblemKind::Config(config::Rule::WholeNumber { min: 1, max: 64 }));
        assert_eq!(
            problems[0].kind,
            ProblemKind::App(crate::error::AppRule::NotEditable),
            "API_HOST is not the app's to change"
        );
    }

    #[test]
    fn keys_are_also_checked_together() {
        let err = Prefs::default().updated(&update(&[("TELEGRAM_BOT_TOKEN", "1:abc")]), &HashMap::new()).unwrap_err();
        let DeskError::InvalidSettings(problems) = err else { panic!("{err}") };
        assert_eq!(problems[0].key, "TELEGRAM_CHAT_ID");
        assert!(!format!("{problems:?}").contains("1:abc"), "the token is never echoed");
    }

    #[test]
    fn secrets_are_never_shown_and_restarts_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let prefs = Prefs::default();
        let next = prefs
            .updated(
                &update(&[("TELEGRAM_BOT_TOKEN", "1:tok-xyzzy"), ("TELEGRAM_CHAT_ID", "42"), ("API_PORT", "8100")]),
                &HashMap::new(),
            )
            .unwrap();
        let env = HashMap::from([
            ("API_PORT".to_string(), "9999".to_string()),
            ("REDIS_URL".to_string(), "redis://127.0.0.1:7000/0".to_string()),
        ]);
        let view = next.view(dir.path(), &env);
        assert_eq!(view.values["TELEGRAM_BOT_TOKEN"], "");
        assert_eq!(view.secrets_set, ["TELEGRAM_BOT_TOKEN"]);
        assert_eq!(view.values["API_PORT"], "8100", "saved beats the environment");
        assert_eq!(view.values["REDIS_URL"], "redis://127.0.0.1:7000/0", "the environment beats the default");
        assert_eq!(view.values["WORKER_CONCURRENCY"], "1", "defaults are shown");
        assert!(!serde_json::to_string(&view).unwrap().contains("xyzzy"));
        assert_eq!(prefs.restart_needed(&next), [ProcessKind::Api, ProcessKind::Worker]);
        // An empty value goes back to the default.
        let back = next.updated(&update(&[("API_PORT", "")]), &HashMap::new()).unwrap();
        assert!(!back.values.contains_key("API_PORT"));
    }

    #[test]
    fn save_and_load_round_trip_and_a_broken_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Prefs::load(dir.path()).unwrap().values.len(), 0);
        let mut prefs = Prefs { theme: Theme::Dark, language: Language::Ru, ..Prefs::default() };
        prefs.values.insert("API_PORT".into(), "8100".into());
        prefs.save(dir.path()).unwrap();
        assert_eq!(Prefs::load(dir.path()).unwrap(), prefs);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(Prefs::path_in(dir.path())).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(Prefs::path_in(dir.path()), "{not json").unwrap();
        let err = Prefs::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("settings.json") && err.contains("fix or delete"), "{err}");
    }
}
