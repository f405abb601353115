//! What a process and its descendants cost, from `/proc` (Linux): CPU time and resident memory.

/// Clock ticks per second of `/proc/<pid>/stat`'s times (`getconf CLK_TCK`, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// `pid` and every process descended from it (a Dramatiq worker forks its workers).
pub fn tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, stat_fields(p)?.get(1)?.parse::<u32>().ok()?)))
        .collect();
    let mut family = vec![pid];
    let mut i = 0;
    while i < family.len() {
        let parent = family[i];
        family.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    family
}

/// The fields of `/proc/<pid>/stat` after the command name (state first, then the parent's pid).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    Some(after_name.split_whitespace().map(str::to_string).collect())
}

/// User + system CPU seconds used so far by `pid` and its descendants.
pub fn cpu_seconds(pid: u32) -> f64 {
    tree(pid)
        .into_iter()
        .filter_map(|p| {
            let fields = stat_fields(p)?;
            // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / TICKS_PER_SEC)
        })
        .sum()
}

/// Resident memory of `pid` and its descendants, in MB.
pub fn rss_mb(pid: u32) -> f64 {
    tree(pid).into_iter().map(own_rss_mb).sum()
}

fn own_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Whether `pid` still runs (a zombie does not).
pub fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|state| state != "Z"))
}

/// Runs `redis-benchmark` against the Redis on `port`: `script` loaded, then `EVALSHA` of it with
/// `keys` and `args`, `calls` times from `clients` clients `pipeline` deep. Every
/// `__rand_int__` in a key or argument becomes a random number in each call, each occurrence its
/// own (`-r`; a call without one is sent as it is). Returns its figures (see
/// [`benchmark_figures`]).
pub fn redis_benchmark_script(
    port: u16,
    script: &str,
    keys: &[String],
    args: &[String],
    (calls, clients, pipeline): (usize, usize, usize),
) -> anyhow::Result<Vec<f64>> {
    use anyhow::{Context, ensure};
    let loaded = test_support::redis::raw_command_on(port, &["SCRIPT", "LOAD", script]);
    let sha = loaded.lines().nth(1).context("SCRIPT LOAD's answer")?.trim().to_string();
    let output = std::process::Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-c", &clients.to_string(), "-P", &pipeline.to_string()])
        // `-r`: each `__rand_int__` in an argument becomes a random 12-digit number, every
        // occurrence its own, in every call.
        .args(["-n", &calls.to_string(), "-r", "2000000000", "--csv", "EVALSHA", &sha, &keys.len().to_string()])
        .args(keys)
        .args(args)
        .output()
        .context("running redis-benchmark (it comes with redis-server / redis-tools)")?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(output.status.success(), "redis-benchmark failed:\n{report}{}", String::from_utf8_lossy(&output.stderr));
    let row =
        report.lines().find(|l| l.starts_with("\"EVALSHA")).with_context(|| format!("redis-benchmark:\n{report}"))?;
    Ok(benchmark_figures(row))
}

/// The seven figures at the end of a `redis-benchmark --csv` row (rps, avg, min, p50, p95, p99,
/// max): read from the end, since the test name (the command with its arguments) may itself hold
/// `","`.
pub fn benchmark_figures(row: &str) -> Vec<f64> {
    let mut fields: Vec<f64> =
        row.rsplit("\",\"").take(7).map(|f| f.trim_matches('"').parse().unwrap_or(f64::NAN)).collect();
    fields.reverse();
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_benchmark_rows_are_read_from_the_end() {
        let row =
            r#""EVALSHA abc 1 {"name":"Phone","price":1}","50000.00","0.048","0.008","0.047","0.079","0.111","0.183""#;
        assert_eq!(benchmark_figures(row), vec![50000.0, 0.048, 0.008, 0.047, 0.079, 0.111, 0.183]);
    }

    #[test]
    fn this_process_is_seen_with_its_cost() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(tree(me).contains(&me));
        assert!(rss_mb(me) > 1.0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(50) {}
        assert!(cpu_seconds(me) > 0.0);
    }
}
