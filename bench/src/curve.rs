//! The worker's scaling curve: `stackdesk worker` at concurrency 1, 2, 4, 8, 16 and 64, and two
//! processes of 16, each by the worker benchmark's method; beside it the Redis-bound ceiling
//! (`redis-benchmark` running one task's Redis work, `bench/redis/one_task.lua`). Printed as a
//! table and drawn as an SVG.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, ensure};

use crate::workers_bench::{Env, Peer, measure};

/// One point of the curve: the median of [`DRAINS`] drains, and their range.
struct Point {
    label: String,
    tasks_per_sec: f64,
    low: f64,
    high: f64,
}

/// Drains per point: single drains move a lot from run to run on a small shared machine.
const DRAINS: usize = 3;

/// `DRAINS` drains by `processes` workers of `concurrency` each.
fn point(env: &Env, label: String, concurrency: usize, processes: usize, tasks: usize) -> anyhow::Result<Point> {
    let mut rates = (0..DRAINS)
        .map(|_| measure(env, Peer::Stackdesk, concurrency, processes, tasks, 20).map(|f| f.tasks_per_sec))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    rates.sort_by(f64::total_cmp);
    Ok(Point { label, tasks_per_sec: rates[DRAINS / 2], low: rates[0], high: rates[DRAINS - 1] })
}

/// Runs the curve, prints it and writes the plot to `svg`.
pub fn run(env: &Env, tasks: usize, svg: &Path) -> anyhow::Result<()> {
    let mut points = Vec::new();
    for concurrency in [1, 2, 4, 8, 16, 64] {
        points.push(point(env, concurrency.to_string(), concurrency, 1, tasks)?);
    }
    points.push(point(env, "2 × 16".into(), 16, 2, tasks)?);
    let ceiling = redis_ceiling(env)?;

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\n| `stackdesk worker`, {tasks} zero-work tasks, median of {DRAINS} drains | tasks/s | range | of the Redis-bound ceiling |"
    )?;
    writeln!(out, "|---|---:|---:|---:|")?;
    for point in &points {
        writeln!(
            out,
            "| concurrency {} | {:.0} | {:.0}–{:.0} | {:.0} % |",
            point.label,
            point.tasks_per_sec,
            point.low,
            point.high,
            point.tasks_per_sec / ceiling * 100.0
        )?;
    }
    writeln!(out, "| Redis-bound ceiling (redis-benchmark, one task's commands per call) | {ceiling:.0} | | 100 % |")?;
    if let Some(parent) = svg.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(svg, plot(&points, ceiling, tasks)).with_context(|| format!("writing {}", svg.display()))?;
    writeln!(out, "\nplot: {}", svg.display())?;
    Ok(())
}

/// `redis-benchmark` calling `one_task.lua` with a real message and real results and events (taken
/// from a warm-up task), 16 clients 16 calls deep: tasks/s Redis alone can serve.
fn redis_ceiling(env: &Env) -> anyhow::Result<f64> {
    let sample = crate::workers_bench::sample_task(env)?;
    let keys = ["bench-queue", "bench-unacked", "bench-unacked-index", "bench-result"].map(String::from);
    let args = [sample.envelope, sample.started, sample.succeeded, sample.event_channel, sample.event];
    // Counted from here, so the check below is of this script alone; errors the drains before it
    // were answered with are printed, not counted against it.
    let before = env.redis.raw_command(&["INFO", "errorstats"]);
    if before.contains("errorstat_") {
        eprintln!("errors Redis answered during the drains: {}", before.trim());
    }
    env.redis.raw_command(&["CONFIG", "RESETSTAT"]);
    let figures = crate::procs::redis_benchmark_script(
        env.redis.port(),
        include_str!("../redis/one_task.lua"),
        &keys,
        &args,
        (200_000, 16, 16),
    )?;
    let rps = figures.first().copied().context("rps")?;
    let errors = env.redis.raw_command(&["INFO", "errorstats"]);
    ensure!(!errors.contains("errorstat_"), "one_task.lua failed in Redis: {errors}");
    Ok(rps)
}

/// The curve as an SVG: a point per run, the ceiling as a dashed line.
fn plot(points: &[Point], ceiling: f64, tasks: usize) -> String {
    let (width, height) = (760.0, 420.0);
    let (left, right, top, bottom) = (80.0, 24.0, 64.0, 64.0);
    let top_value = points.iter().map(|p| p.tasks_per_sec).fold(ceiling, f64::max) * 1.1;
    let step = nice_step(top_value / 5.0);
    let x = |i: usize| left + (width - left - right) * (i as f64 + 0.5) / points.len() as f64;
    let y = |v: f64| top + (height - top - bottom) * (1.0 - v / top_value);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">stackdesk worker: {tasks} zero-work tasks drained, by concurrency</text>\n\
         <text x=\"{left}\" y=\"44\" fill=\"#444\">the median of {DRAINS} drains per point, the bar their range</text>\n"
    );
    let mut value = 0.0;
    while value <= top_value {
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            width - right,
            left - 8.0,
            y(value) + 4.0,
            thousands(value),
            y = y(value)
        ));
        value += step;
    }
    svg.push_str(&format!(
        "<text x=\"18\" y=\"{:.1}\" transform=\"rotate(-90 18 {:.1})\" text-anchor=\"middle\">tasks/s</text>\n",
        (top + height - bottom) / 2.0,
        (top + height - bottom) / 2.0
    ));
    let path: Vec<String> =
        points.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.tasks_per_sec))).collect();
    svg.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2.5\"/>\n",
        path.join(" ")
    ));
    for (i, p) in points.iter().enumerate() {
        // The range of the point's drains, behind it.
        svg.push_str(&format!(
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#8fb0e0\" stroke-width=\"6\"/>\n",
            y(p.low),
            y(p.high),
            x = x(i)
        ));
        svg.push_str(&format!(
            // The value beside its point, clear of the range bar and the ceiling line.
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"#1f5fbf\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"start\" stroke=\"white\" stroke-width=\"4\" paint-order=\"stroke\">{}</text>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            x(i),
            y(p.tasks_per_sec),
            x(i) + 9.0,
            y(p.tasks_per_sec) + 4.5,
            thousands(p.tasks_per_sec),
            x(i),
            height - bottom + 20.0,
            p.label
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">concurrency (WORKER_CONCURRENCY; the last: two processes)</text>\n",
        (left + width - right) / 2.0,
        height - 16.0
    ));
    svg.push_str(&format!(
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{yc:.1}\" y2=\"{yc:.1}\" stroke=\"#c0392b\" stroke-width=\"2\" stroke-dasharray=\"8 6\"/>\n\
         <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#c0392b\">Redis-bound ceiling (redis-benchmark): {}/s</text>\n</svg>\n",
        width - right,
        width - right,
        y(ceiling) - 8.0,
        thousands(ceiling),
        yc = y(ceiling)
    ));
    svg
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}

/// `12345.6` → `12,346`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_and_numbers_read_well() {
        assert_eq!(nice_step(3_300.0), 5_000.0);
        assert_eq!(nice_step(1_000.0), 1_000.0);
        assert_eq!(nice_step(1_100.0), 2_000.0);
        assert_eq!(thousands(12_345.6), "12,346");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
    }

    #[test]
    fn the_plot_has_every_point_and_the_ceiling() {
        let points = vec![
            Point { label: "1".into(), tasks_per_sec: 9_000.0, low: 8_000.0, high: 9_500.0 },
            Point { label: "16".into(), tasks_per_sec: 20_000.0, low: 19_000.0, high: 21_000.0 },
        ];
        let svg = plot(&points, 30_000.0, 20_000);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("ceiling (redis-benchmark): 30,000/s"));
        assert!(svg.contains(">20,000<"));
        assert_eq!(svg.matches("stroke-width=\"6\"").count(), 2, "each point's range is drawn");
    }
}
