use std::collections::HashMap;

use super::*;

fn sources(dotenv: &[(&str, &str)], env: &[(&str, &str)], flags: &[(&str, &str)]) -> Sources {
    let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Sources { dotenv: map(dotenv), env: map(env), flags: map(flags) }
}

#[test]
fn defaults_match_the_spec() {
    let s = Settings::from_sources(&Sources::default()).unwrap();
    assert_eq!(s.redis_url.expose(), "redis://127.0.0.1:6379/0");
    assert_eq!(s.api_addr(), "127.0.0.1:8000");
    assert_eq!(s.worker_concurrency, 1);
    assert_eq!(s.task_max_retries, 3);
    assert_eq!(s.task_retry_countdown, Duration::from_secs(5));
    assert_eq!(s.result_expires, Some(Duration::from_secs(86_400)));
    assert_eq!(s.visibility_timeout, Duration::from_secs(3600));
    assert_eq!(s.telegram, None);
    assert_eq!(s.notify_simulated, Duration::from_secs(30));
    assert_eq!(s.notify_fail_first_attempts, 0);
    assert!(s.api_cors_origins.is_empty());
    let s =
        Settings::from_sources(&sources(&[], &[("API_CORS_ORIGINS", " tauri://localhost, http://127.0.0.1:9 ")], &[]))
            .unwrap();
    assert_eq!(s.api_cors_origins, ["tauri://localhost", "http://127.0.0.1:9"]);
}

#[test]
fn flags_beat_env_beat_dotenv() {
    let s = Settings::from_sources(&sources(
        &[("API_PORT", "1"), ("WORKER_CONCURRENCY", "2")],
        &[("API_PORT", "2")],
        &[("API_PORT", "3")],
    ))
    .unwrap();
    assert_eq!(s.api_port, 3);
    assert_eq!(s.worker_concurrency, 2);
    let s = Settings::from_sources(&sources(&[("API_PORT", "1")], &[("API_PORT", "2")], &[])).unwrap();
    assert_eq!(s.api_port, 2);
}

#[test]
fn bad_values_name_key_value_and_expectation() {
    for (key, value, expected) in [
        ("API_PORT", "eighty", "a whole number from 1 to 65535"),
        ("API_PORT", "70000", "a whole number from 1 to 65535"),
        ("WORKER_CONCURRENCY", "0", "a whole number from 1 to 64"),
        ("NOTIFY_SIMULATED_SECS", "-1", "a number of seconds"),
        ("TELEGRAM_API_URL", "ftp://x", "an http:// or https:// URL"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("REDIS_URL", "redis://host:port/0", "redis://"),
        ("API_HOST", "bad host!", "a host name or IP address"),
        ("API_CORS_ORIGINS", "http://a.example/path", "origins such as"),
        ("API_CORS_ORIGINS", "tauri://localhost,*", "origins such as"),
    ] {
        let err = Settings::from_sources(&sources(&[], &[(key, value)], &[])).unwrap_err();
        assert_eq!(err.key, key);
        assert_eq!(err.value, value);
        assert!(err.expected.contains(expected), "{key}: {}", err.expected);
        assert!(err.to_string().contains(key) && err.to_string().contains(value));
    }
}

#[test]
fn bad_values_carry_the_rule_they_broke() {
    for (key, value, rule) in [
        ("API_PORT", "eighty", Rule::WholeNumber { min: 1, max: 65535 }),
        ("WORKER_CONCURRENCY", "0", Rule::WholeNumber { min: 1, max: 64 }),
        ("NOTIFY_SIMULATED_SECS", "-1", Rule::Seconds { max: 3600 }),
        ("TELEGRAM_API_URL", "ftp://x", Rule::HttpUrl),
        ("REDIS_URL", "localhost:6379", Rule::RedisUrl),
        ("REDIS_URL", "redis://learner@127.0.0.1:6379/0", Rule::RedisUrl),
        ("REDIS_URL", "redis://learner:@127.0.0.1:6379/0", Rule::RedisUrl),
        ("API_HOST", "bad host!", Rule::Host),
        ("API_CORS_ORIGINS", "tauri://localhost,*", Rule::Origins),
        ("TELEGRAM_BOT_TOKEN", "1:abc", Rule::RequiredWith { other: "TELEGRAM_BOT_TOKEN" }),
    ] {
        let err = Settings::from_sources(&sources(&[], &[(key, value)], &[])).unwrap_err();
        assert_eq!(err.rule, rule, "{key}={value}");
    }
    let err = Settings::from_sources(&sources(&[], &[("TELEGRAM_CHAT_ID", "42")], &[])).unwrap_err();
    assert_eq!((err.key, err.rule), ("TELEGRAM_BOT_TOKEN", Rule::RequiredWith { other: "TELEGRAM_CHAT_ID" }));
}

#[test]
fn a_login_is_a_password_with_or_without_a_user() {
    for url in ["redis://:pw@127.0.0.1:6379/0", "redis://learner:pw@127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"] {
        Settings::from_sources(&sources(&[], &[("REDIS_URL", url)], &[])).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    let err =
        Settings::from_sources(&sources(&[], &[("REDIS_URL", "redis://learner@127.0.0.1:6379/0")], &[])).unwrap_err();
    assert!(err.expected.contains("with its password"), "{}", err.expected);
}

#[test]
fn secrets_never_show() {
    let err =
        Settings::from_sources(&sources(&[], &[("REDIS_URL", "redis://:hunter2@host:notaport/0")], &[])).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.to_string().contains("redis://***@host:notaport/0"));
    let s =
        Settings::from_sources(&sources(&[], &[("TELEGRAM_BOT_TOKEN", "123:ABC"), ("TELEGRAM_CHAT_ID", "42")], &[]))
            .unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("123:ABC"), "{shown}");
    assert_eq!(s.telegram.unwrap().bot_token.expose(), "123:ABC");
}

#[test]
fn half_a_telegram_setup_is_an_error() {
    let err = Settings::from_sources(&sources(&[], &[("TELEGRAM_BOT_TOKEN", "123:ABC")], &[])).unwrap_err();
    assert_eq!(err.key, "TELEGRAM_CHAT_ID");
    assert_eq!(err.value, "");
}

#[test]
fn dotenv_files_are_read_without_touching_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    std::fs::write(&path, "# comment\nAPI_PORT=9001\nNOTIFY_SIMULATED_SECS=0.5\n").unwrap();
    let gathered = Sources::gather(&path, HashMap::new()).unwrap();
    let s = Settings::from_sources(&Sources { env: HashMap::new(), ..gathered }).unwrap();
    assert_eq!(s.api_port, 9001);
    assert_eq!(s.notify_simulated, Duration::from_millis(500));
    assert!(std::env::var("API_PORT").is_err());
}

#[test]
fn env_example_lists_every_key_with_its_default() {
    let text = env_example();
    for key in KEYS {
        assert!(text.contains(&format!("{}={}", key.name, key.default)), "{}", key.name);
        assert!(text.contains(key.meaning));
    }
}

#[test]
fn the_committed_env_example_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.env.example");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("STACKDESK_WRITE_ENV_EXAMPLE").is_some() {
        std::fs::write(&path, env_example()).unwrap();
        return;
    }
    assert_eq!(committed, env_example(), ".env.example is stale: run with STACKDESK_WRITE_ENV_EXAMPLE=1 to rewrite it");
}

#[test]
fn the_monitor_needs_a_port_of_its_own() {
    let err =
        Settings::from_sources(&sources(&[], &[("API_PORT", "8100"), ("MONITOR_PORT", "8100")], &[])).unwrap_err();
    assert_eq!((err.key, err.rule.clone()), ("MONITOR_PORT", Rule::DistinctPort { other: "API_PORT" }));
    assert!(err.to_string().contains("a port of its own (API_PORT uses 8100)"), "{err}");
    let err = Settings::from_sources(&sources(
        &[],
        &[("REDIS_URL", "redis://127.0.0.1:6400/0"), ("MONITOR_PORT", "6400")],
        &[],
    ))
    .unwrap_err();
    assert_eq!(err.rule, Rule::DistinctPort { other: "REDIS_URL" });
    let remote = sources(&[], &[("REDIS_URL", "redis://example.com:6400/0"), ("MONITOR_PORT", "6400")], &[]);
    assert!(Settings::from_sources(&remote).is_ok(), "a Redis elsewhere takes no port here");
}
