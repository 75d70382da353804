//! Human-readable rendering of a [`Report`]: aligned tables and a "seeds said vs we measured"
//! block. Everything printed is read from the report; nothing is computed from a clock.

use crate::experiment::{Report, Router, RunReport};
use routing_primitives::OutcomeClass;
use std::fmt::Write;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn signed_pct(x: f64) -> String {
    format!("{x:+.1}%")
}

fn ms(x: f64) -> String {
    format!("{x:.0} ms")
}

/// A table with left-aligned first columns and right-aligned numbers.
/// Renders one row per run, keyed by router, budget and timing seed, followed by `columns`.
fn per_run_table(
    out: &mut String,
    report: &Report,
    columns: &[&str],
    cells: impl Fn(&RunReport) -> Vec<String>,
) {
    let header: Vec<&str> =
        ["router", "budget", "timing"].into_iter().chain(columns.iter().copied()).collect();
    let mut t = Table::new(&header, 1);
    for r in &report.runs {
        let mut row = vec![r.router.name().into(), r.budget.to_string(), r.timing_seed.to_string()];
        row.extend(cells(r));
        t.row(row);
    }
    t.render(out);
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    left: usize,
}

impl Table {
    fn new(header: &[&str], left: usize) -> Self {
        Self { header: header.iter().map(|s| s.to_string()).collect(), rows: Vec::new(), left }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, out: &mut String) {
        let cols = self.header.len();
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([self.header[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String], out: &mut String| {
            let mut s = String::from(" ");
            for (c, cell) in cells.iter().enumerate() {
                let pad = width[c] - cell.chars().count();
                s.push(' ');
                if c < self.left {
                    s.push_str(cell);
                    s.push_str(&" ".repeat(pad));
                } else {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(cell);
                }
                s.push(' ');
            }
            out.push_str(s.trim_end());
            out.push('\n');
        };
        line(&self.header, out);
        let total: usize = width.iter().map(|w| w + 2).sum::<usize>();
        out.push_str("  ");
        out.push_str(&"-".repeat(total.saturating_sub(1)));
        out.push('\n');
        for r in &self.rows {
            line(r, out);
        }
    }
}

/// The smallest and largest of `values`, as "a" or "a–b".
fn range(values: impl IntoIterator<Item = f64>, fmt: impl Fn(f64) -> String) -> String {
    let v: Vec<f64> = values.into_iter().collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        "n/a".into()
    } else if fmt(lo) == fmt(hi) {
        fmt(lo)
    } else {
        format!("{} to {}", fmt(lo), fmt(hi))
    }
}

fn runs(report: &Report, router: Router, budget: u8) -> impl Iterator<Item = &RunReport> {
    report.runs.iter().filter(move |r| r.router == router && r.budget == budget)
}

fn class_names(mask: u8) -> String {
    OutcomeClass::ALL
        .iter()
        .filter(|c| mask & c.bit() != 0)
        .map(|c| match c {
            OutcomeClass::Success => "success",
            OutcomeClass::Timeout => "timeout",
            OutcomeClass::ProviderError => "provider error",
            OutcomeClass::ValidationFailed => "validation failed",
            OutcomeClass::Overloaded => "overloaded",
            OutcomeClass::RejectedTerminal => "rejected",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders the report as text.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.setup;
    let seeds = s.timing_seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let budgets = s.budgets.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
    let first = &report.runs[0].metrics;
    let flaky = report.providers.iter().find(|p| p.name == report.flaky_provider);
    let _ = writeln!(out, "routing-sim: the seeds' routing experiment, in logical time");
    let _ = writeln!(
        out,
        "{} requests, fleet seed {}, timing seeds {}, budgets {}, sequenced batches of {}",
        s.requests, s.fleet_seed, seeds, budgets, s.batch_size
    );
    let _ = writeln!(
        out,
        "arrivals over {:.0} s with {} load peaks; peak load (>= {}%) covers {} of the time and {} of \
         the requests; deadlines {}-{} s; arrival jitter +/-{} ms",
        s.run_ms as f64 / 1000.0,
        s.peaks.len(),
        s.peak_load_ppm / 10_000,
        flaky.map_or("n/a".into(), |p| pct(p.intrinsic.peak_time_share)),
        pct(first.peak_requests as f64 / first.requests.max(1) as f64),
        s.deadline_min_ms / 1000,
        s.deadline_max_ms / 1000,
        s.arrival_jitter_ms,
    );

    let _ = writeln!(out, "\nFleet (expected = time-averaged over the arrival window; observed = every run's attempts)");
    let mut t = Table::new(
        &[
            "provider",
            "tier",
            "expected rel.",
            "time Bad",
            "fail at peak",
            "fail off peak",
            "failures at peak",
            "observed rel.",
            "attempts",
        ],
        2,
    );
    for p in &report.providers {
        let name =
            if p.name == report.flaky_provider { format!("{} *", p.name) } else { p.name.clone() };
        t.row(vec![
            name,
            p.tier.to_string(),
            pct(p.intrinsic.reliability),
            pct(p.intrinsic.bad_time_share),
            pct(p.intrinsic.peak_failure_rate),
            pct(p.intrinsic.off_peak_failure_rate),
            pct(p.intrinsic.peak_failure_share),
            pct(p.observed.reliability),
            p.observed.attempts.to_string(),
        ]);
    }
    t.render(&mut out);
    let _ =
        writeln!(out, "  * the seeds' \"92% reliability\" provider; tier 2 is the fallback tier");

    let _ = writeln!(out, "\nSequenced policy parameters");
    for b in &report.policy_params {
        let p = &b.params;
        let _ = writeln!(
            out,
            "  budget {}: request.retry_budget {}, max_attempts {}",
            b.budget, b.retry_budget, p.max_attempts
        );
    }
    if let Some(b) = report.policy_params.first() {
        let p = &b.params;
        let _ = writeln!(
            out,
            "  fallback_tier {}; retryable: {}; reliability_floor {}\n  retry tokens: token_max {} \
             (retries stop at <= {}), +{} per success, -{} per failure (milli-tokens)\n  \
             reliability EWMA alpha {} ppm per committed outcome; cooldown {} ms after >= {} \
             failures in a batch; initial reliability {}",
            p.fallback_tier,
            class_names(p.retryable_mask),
            pct(f64::from(p.reliability_floor_ppm) / 1e6),
            p.token_max,
            p.token_threshold(),
            p.token_ratio,
            p.token_failure_cost,
            p.ewma_alpha_ppm,
            p.cooldown_ms,
            p.cooldown_failures,
            pct(f64::from(s.initial_reliability_ppm) / 1e6),
        );
    }
    let n = &s.naive;
    let _ = writeln!(
        out,
        "Naive router: least EWMA latency (weight 1/{}, failures +{} ms, +{} ms per tier below \
         best); retries every failure; abandons an attempt when its provider turns Bad or after \
         max({} x EWMA, {} ms)",
        n.ewma_weight_inverse,
        n.failure_penalty_ms,
        n.tier_handicap_ms,
        n.patience_factor,
        n.min_patience_ms
    );

    let _ = writeln!(out, "\nFallback and service per run");
    per_run_table(
        &mut out,
        report,
        &[
            "fell back",
            "fell back at peak",
            "served by fallback",
            "served",
            "served by tier 0",
            "attempts/req",
        ],
        |r| {
            let m = &r.metrics;
            vec![
                pct(m.fell_back),
                pct(m.fell_back_peak),
                pct(m.served_by_fallback),
                pct(m.served),
                pct(m.served_by_best),
                format!("{:.2}", m.mean_attempts),
            ]
        },
    );
    let _ = writeln!(
        out,
        "  fell back = spent its primary attempts (or was throttled, or ran out of eligible \
         primaries) and went to the fallback tier"
    );

    let _ = writeln!(out, "\nLatency and waste per run");
    per_run_table(
        &mut out,
        report,
        &[
            "mean lat",
            "p99 lat",
            "mean added",
            "p99 added",
            "re-routed",
            "re-routed at peak",
            "dup generations",
            "wasted attempts",
        ],
        |r| {
            let m = &r.metrics;
            vec![
                ms(m.mean_latency_ms),
                format!("{} ms", m.p99_latency_ms),
                ms(m.mean_added_latency_ms),
                format!("{} ms", m.p99_added_latency_ms),
                pct(m.rerouted),
                pct(m.rerouted_peak),
                m.duplicate_generations.to_string(),
                m.wasted_attempts.to_string(),
            ]
        },
    );
    let _ = writeln!(
        out,
        "  lat = submit to the router's last word, every request; added = lat minus the time spent \
         on the first attempt\n  re-routed = share of requests with at least one attempt abandoned \
         mid-flight; dup generations = generations\n  beyond a request's first; wasted = attempts \
         abandoned, timed out or failing validation"
    );

    let _ = writeln!(out, "\nHow requests ended (fallback trigger; unserved causes)");
    per_run_table(
        &mut out,
        report,
        &[
            "fb: own budget",
            "fb: retry tokens",
            "fb: tiers tried",
            "non-retryable",
            "deadline",
            "abandoned attempts",
            "check violations",
        ],
        |r| {
            let m = &r.metrics;
            vec![
                pct(m.fell_back_budget),
                pct(m.fell_back_fleet_budget),
                pct(m.fell_back_tiers),
                pct(m.non_retryable),
                pct(m.deadline_exceeded),
                m.abandoned_attempts.to_string(),
                if r.router == Router::Sequenced {
                    r.check_violations.to_string()
                } else {
                    "-".into()
                },
            ]
        },
    );

    if !report.effort_variance.is_empty() {
        let _ = writeln!(out, "\nSame request, same effort (same fleet seed, two timing seeds)");
        let mut t = Table::new(
            &[
                "router",
                "budget",
                "seeds",
                "effort differs",
                "path differs",
                "first provider differs",
                "fallback differs",
                "mean |d attempts|",
            ],
            1,
        );
        for v in &report.effort_variance {
            let e = &v.variance;
            t.row(vec![
                v.router.name().into(),
                v.budget.to_string(),
                format!("{} vs {}", e.timing_seed_a, e.timing_seed_b),
                pct(e.effort_differs),
                pct(e.path_differs),
                pct(e.first_provider_differs),
                pct(e.fallback_differs),
                format!("{:.3}", e.mean_abs_attempt_diff),
            ]);
        }
        t.render(&mut out);
        let _ = writeln!(out, "  effort = attempt count and final tier; path = provider sequence");
    }

    if !report.budget_comparisons.is_empty() {
        let _ = writeln!(out, "\nBudget comparisons (same router, same timing seed)");
        let mut t = Table::new(
            &[
                "router",
                "timing",
                "budgets",
                "fell back",
                "served by fb",
                "mean latency",
                "mean added",
            ],
            1,
        );
        for c in &report.budget_comparisons {
            t.row(vec![
                c.router.name().into(),
                c.timing_seed.to_string(),
                format!("{} -> {}", c.from_budget, c.to_budget),
                signed_pct(c.fell_back_change_pct),
                signed_pct(c.served_by_fallback_change_pct),
                format!("{:+.0} ms", c.mean_latency_change_ms),
                format!("{:+.0} ms", c.mean_added_latency_change_ms),
            ]);
        }
        t.render(&mut out);
    }

    seeds_block(report, &mut out);
    out
}

fn seeds_block(report: &Report, out: &mut String) {
    let _ = writeln!(out, "\nSeeds said vs we measured");
    let mut t = Table::new(&["seeds' experiment", "seeds' figure", "router", "we measured"], 4);
    let base = report.setup.budgets[0];
    for router in Router::ALL {
        t.row(vec![
            format!("budget {base}: exhaust it, land on fallback"),
            "~14% (budget 3)".into(),
            router.name().into(),
            range(runs(report, router, base).map(|r| r.metrics.fell_back), pct),
        ]);
    }
    for &to in report.setup.budgets.iter().skip(1) {
        for router in Router::ALL {
            let cs: Vec<_> = report
                .budget_comparisons
                .iter()
                .filter(|c| c.router == router && c.to_budget == to)
                .collect();
            t.row(vec![
                format!("budget {to} vs {base}: fallback use, mean latency"),
                "~-40%, ~+220 ms (7 vs 3)".into(),
                router.name().into(),
                format!(
                    "{}, {}",
                    range(cs.iter().map(|c| c.fell_back_change_pct), signed_pct),
                    range(cs.iter().map(|c| c.mean_latency_change_ms), |x| format!("{x:+.0} ms")),
                ),
            ]);
        }
    }
    let rr = |router| {
        let peak = range(runs(report, router, base).map(|r| r.metrics.rerouted_peak), pct);
        let all = range(runs(report, router, base).map(|r| r.metrics.rerouted), pct);
        format!("{peak} at peak load ({all} of all requests)")
    };
    t.row(vec![
        "naive routing at peak: re-routed mid-flight".into(),
        "~11%".into(),
        Router::Naive.name().into(),
        rr(Router::Naive),
    ]);
    t.row(vec![
        "sequenced routing: re-routed mid-flight".into(),
        "< 3%".into(),
        Router::Sequenced.name().into(),
        rr(Router::Sequenced),
    ]);
    if let Some(p) = report.providers.iter().find(|p| p.name == report.flaky_provider) {
        t.row(vec![
            "provider reliability".into(),
            "92%".into(),
            p.name.clone(),
            format!(
                "{} time-averaged, {} of the attempts it got",
                pct(p.intrinsic.reliability),
                pct(p.observed.reliability)
            ),
        ]);
        t.row(vec![
            "its missing share clusters at peak demand".into(),
            "clusters".into(),
            p.name.clone(),
            format!(
                "{} of its failures at peak load ({} of the time)",
                pct(p.intrinsic.peak_failure_share),
                pct(p.intrinsic.peak_time_share)
            ),
        ]);
    }
    t.row(vec![
        "sequencing confirmation delay".into(),
        "300-450 ms".into(),
        "-".into(),
        "not simulated (no L2 inclusion here)".into(),
    ]);
    t.row(vec![
        "slashing: lazy/malicious fallback".into(),
        "-6-9%".into(),
        "-".into(),
        "not simulated (no stake here)".into(),
    ]);
    t.render(out);
}
