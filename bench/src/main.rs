//! Benchmarks against the Python original, on the same machine, same Redis, same run.
//!
//! `stackdesk-bench taskq [--tasks N]` measures:
//! - **drain**: N zero-work tasks already queued, drained by our worker and by
//!   `celery worker --pool=solo`, both at concurrency 1 with acks late, track-started, extended
//!   results and task events on; tasks/s from the first message taken to the last one acknowledged;
//! - **publish**: N sequential publishes by our producer and by Python's `send_task`.
//!
//! `stackdesk-bench api [--seconds N]` runs the Python original (FastAPI + Celery) and
//! `stackdesk api` + `stackdesk worker` under `wrk` (see `api_bench`).
//!
//! `stackdesk-bench up [--runs N]` times the supervisor: start → all ready, stop → all gone, beside
//! the processes' own start and stop times (see `up_bench`).
//!
//! `stackdesk-bench ui [--runs N] [--tasks N] [--ui-dir DIR]` and `stackdesk-bench app-rss --app
//! PATH` measure the UI and the desktop app (see `ui_bench`).
//!
//! Each prints a Markdown table. `--only-ours` skips the Python side (for profiling). `stackdesk-bench taskq-worker` is the worker process
//! it starts for our side.

mod api_bench;
mod procs;
mod taskq_bench;
mod ui_bench;
mod up_bench;
mod workers_bench;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("taskq") => {
            let tasks = flag(&args, "--tasks").unwrap_or(5000);
            let only_ours = args.iter().any(|a| a == "--only-ours");
            tokio::runtime::Runtime::new().context("tokio runtime")?.block_on(taskq_bench::run(tasks, only_ours))
        }
        // One thread, as the `stackdesk worker` binary runs: no cross-thread wake-ups per task.
        Some("taskq-worker") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?
            .block_on(taskq_bench::worker_process()),
        Some("workers") => {
            let tasks = flag(&args, "--tasks").unwrap_or(20_000);
            let alone = flag(&args, "--alone").unwrap_or(200);
            let concurrencies = list_flag(&args, "--concurrency").unwrap_or_else(|| vec!["1".into(), "16".into()]);
            let concurrencies: Vec<usize> = concurrencies
                .iter()
                .map(|c| c.parse().with_context(|| format!("--concurrency {c}")))
                .collect::<Result<_, _>>()?;
            let peers = match list_flag(&args, "--peers") {
                Some(names) => {
                    names.iter().map(|n| workers_bench::Peer::named(n)).collect::<anyhow::Result<Vec<_>>>()?
                }
                None => workers_bench::Peer::ALL.to_vec(),
            };
            let env = workers_bench::Env::prepare(&stackdesk_path(&args)?)?;
            workers_bench::compare(&env, &peers, &concurrencies, tasks, alone)
        }
        Some("api") => {
            let seconds = flag(&args, "--seconds").unwrap_or(10) as u64;
            let stackdesk = stackdesk_path(&args)?;
            tokio::runtime::Runtime::new().context("tokio runtime")?.block_on(api_bench::run(seconds, &stackdesk))
        }
        Some("up") => {
            let runs = flag(&args, "--runs").unwrap_or(20);
            let stackdesk = stackdesk_path(&args)?;
            tokio::runtime::Runtime::new().context("tokio runtime")?.block_on(up_bench::run(runs, &stackdesk))
        }
        Some("ui") => {
            let runs = flag(&args, "--runs").unwrap_or(10);
            let tasks = flag(&args, "--tasks").unwrap_or(1000);
            let stackdesk = stackdesk_path(&args)?;
            let ui_dir = text_flag(&args, "--ui-dir").unwrap_or_else(|| "ui/dist".into());
            tokio::runtime::Runtime::new().context("tokio runtime")?.block_on(ui_bench::run(
                runs,
                tasks,
                &stackdesk,
                std::path::Path::new(&ui_dir),
            ))
        }
        Some("app-rss") => {
            let app = text_flag(&args, "--app").context("pass --app PATH (the built stackdesk-desktop)")?;
            tokio::runtime::Runtime::new()
                .context("tokio runtime")?
                .block_on(ui_bench::app_rss(std::path::Path::new(&app)))
        }
        _ => bail!(
            "usage: stackdesk-bench taskq [--tasks N] [--only-ours] | api [--seconds N] | up [--runs N] | ui [--runs N] [--tasks N] [--ui-dir DIR] | app-rss --app PATH  (api, up, ui: [--stackdesk PATH])"
        ),
    }
}

/// `--stackdesk PATH`, else the `stackdesk` binary beside this one.
fn stackdesk_path(args: &[String]) -> anyhow::Result<std::path::PathBuf> {
    args.iter()
        .position(|a| a == "--stackdesk")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join("stackdesk"))))
        .context("where is the stackdesk binary? pass --stackdesk PATH")
}

fn text_flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// `--name a,b,c`.
fn list_flag(args: &[String], name: &str) -> Option<Vec<String>> {
    text_flag(args, name).map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

fn flag(args: &[String], name: &str) -> Option<usize> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}
