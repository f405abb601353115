//! Bad settings stop the process at start, naming the key, the value and what is expected.

use crate::process::stackdesk;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let output = stackdesk().args(args).envs(env.iter().copied()).output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn invalid_values_name_the_key_and_the_reason() {
    let (code, stderr) = run(&["api"], &[("API_PORT", "eighty")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid API_PORT=\"eighty\": expected a whole number from 1 to 65535"), "{stderr}");
    let (code, stderr) = run(&["worker", "--concurrency", "0"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("WORKER_CONCURRENCY=\"0\""), "{stderr}");
}

#[test]
fn flags_win_over_the_environment() {
    let (code, stderr) = run(&["api", "--port", "nope"], &[("API_PORT", "8123")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("API_PORT=\"nope\""), "{stderr}");
}

#[test]
fn secrets_stay_out_of_errors() {
    let (code, stderr) = run(&["worker"], &[("REDIS_URL", "redis://:hunter2@127.0.0.1:notaport/0")]);
    assert_eq!(code, 2);
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let (code, stderr) = run(&["worker"], &[("TELEGRAM_BOT_TOKEN", "123:SECRET")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("TELEGRAM_CHAT_ID"), "{stderr}");
    assert!(!stderr.contains("123:SECRET"), "{stderr}");
}

#[test]
fn unreachable_redis_is_a_clear_error() {
    let port = test_support::redis::free_port();
    let url = format!("redis://:pw-secret@127.0.0.1:{port}/0");
    let (code, stderr) =
        run(&["api", "--port", &test_support::redis::free_port().to_string()], &[("REDIS_URL", url.as_str())]);
    assert_eq!(code, 1);
    assert!(stderr.contains(&format!("cannot reach Redis at redis://***@127.0.0.1:{port}/0")), "{stderr}");
    assert!(!stderr.contains("pw-secret"), "{stderr}");
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["api", "worker"] {
        let output = stackdesk().args([sub, "--help"]).output().unwrap();
        assert!(output.status.success());
        assert!(String::from_utf8_lossy(&output.stdout).contains("--redis-url"));
    }
}

#[test]
fn an_api_open_to_the_network_says_so() {
    // Redis is unreachable, so the API stops right after its start-up words.
    let redis_port = test_support::redis::free_port();
    let output = stackdesk()
        .args(["api", "--host", "0.0.0.0", "--port", &test_support::redis::free_port().to_string()])
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}/0"))
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("API_HOST is not this machine alone"), "{said}");
    let output = stackdesk()
        .args(["api", "--port", &test_support::redis::free_port().to_string()])
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}/0"))
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!said.contains("API_HOST is not this machine alone"), "the default is quiet: {said}");
}
