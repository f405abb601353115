//! Benchmarks of the product against the Python original and its peers, on the same machine,
//! the same Redis, in the same run.
//!
//! - `workers [--tasks N] [--alone K] [--concurrency 1,16] [--peers …]`: the shipped
//!   `stackdesk worker` beside BullMQ, Sidekiq, Celery and Dramatiq (see `workers_bench`);
//! - `workers-curve [--tasks N] [--svg PATH]`: ours by concurrency, with the Redis-bound ceiling,
//!   drawn (see `curve`);
//! - `api [--seconds N]`: `POST /products/` under wrk against the original (FastAPI + Celery),
//!   Fastify + BullMQ and `stackdesk api`, and the Redis-bound limit (see `api_bench`);
//! - `up [--runs N]`: the supervisor's start and stop (see `up_bench`);
//! - `ui …`, `app-rss --app PATH`: the UI and the desktop app (see `ui_bench`);
//! - `publish [--tasks N]`: library level, taskq's producer against `send_task` (not a product
//!   figure).
//!
//! Each prints a Markdown table.

mod api_bench;
mod curve;
mod procs;
mod taskq_bench;
mod ui_bench;
mod up_bench;
mod workers_bench;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("publish") => {
            let tasks = flag(&args, "--tasks").unwrap_or(5000);
            tokio::runtime::Runtime::new().context("tokio runtime")?.block_on(taskq_bench::run(tasks))
        }
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
        Some("workers-curve") => {
            let tasks = flag(&args, "--tasks").unwrap_or(20_000);
            let svg = text_flag(&args, "--svg").unwrap_or_else(|| "docs/worker-scaling.svg".into());
            let env = workers_bench::Env::prepare(&stackdesk_path(&args)?)?;
            curve::run(&env, tasks, std::path::Path::new(&svg))
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
            "usage: stackdesk-bench workers [--tasks N] [--alone K] [--concurrency 1,16] [--peers stackdesk,bullmq,sidekiq,celery,dramatiq] | workers-curve [--tasks N] [--svg PATH] | publish [--tasks N] | api [--seconds N] | up [--runs N] | ui [--runs N] [--tasks N] [--ui-dir DIR] | app-rss --app PATH  (api, up, ui: [--stackdesk PATH])"
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
