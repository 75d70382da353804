//! `routing-sim`: reproduces the seeds' routing experiment. See `routing-sim --help`.

use clap::Parser;
use routing_sim::{experiment, report};

const ABOUT: &str =
    "Reproduce the seeds' routing experiment: a naive timing-driven router against \
the sequenced deterministic routing policy, over a simulated provider fleet whose failures cluster \
at load peaks.";

const LONG_ABOUT: &str = "\
Reproduce the seeds' routing experiment: a naive timing-driven router against the sequenced \
deterministic routing policy, over a simulated provider fleet whose failures cluster at load peaks.

The fleet: four tier-0 (\"best\") providers, three tier-1 providers and two cheap, very reliable \
fallback providers in tier 2. Each provider is a two-state Gilbert-Elliott chain (Good/Bad) \
stepping every 100 ms of logical time; its Good->Bad probability rises with a deterministic load \
curve with three peaks, so failures cluster at the peaks. Provider t0-a is the seeds' \"92% \
reliability\" provider. Outcomes (timeout, overloaded, provider error, validation failure, \
terminal rejection) and latencies are drawn per state.

The routers:
  naive      picks the primary provider with the least observed latency right now (an EWMA in \
timing order), retries every failure (even non-retryable ones) until its budget of primary \
attempts is spent, then tries the fallback tier once; it abandons an in-flight attempt and \
re-routes when the provider looks congested (turns Bad, or the wait passes its patience).
  sequenced  routing_policy::route against a registry snapshot that advances every 1,200 \
decisions (Registry::next), retry tokens carried decision to decision; every decision is checked \
with routing_policy::check.

A budget of N means N attempts per request on the primary tiers (the policy's request \
retry_budget is N-1 and max_attempts is N).

Seeds: --seed fixes the fleet (provider health, request ids, deadlines, per-attempt luck); each \
timing seed fixes the arrival jitter and hence the interleaving. The same request id exists under \
every timing seed, which is how \"same request, same effort\" is measured. No wall clock is read: \
the same flags print byte-identical output.";

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = "routing-sim", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// Requests per run.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    requests: u64,
    /// Fleet seed: provider health, request ids, deadlines and per-attempt draws.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Timing seeds (comma-separated): arrival jitter and interleaving. Effort variance compares
    /// the first with each other one.
    #[arg(long, value_delimiter = ',', default_value = "1,2", num_args = 1..)]
    timing_seeds: Vec<u64>,
    /// Attempt budgets on the primary tiers (comma-separated, 1..=15). Comparisons are against
    /// the first.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "3,7",
        num_args = 1..,
        value_parser = clap::value_parser!(u8).range(1..=15)
    )]
    budgets: Vec<u8>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    let config = experiment::Config {
        requests: cli.requests as usize,
        fleet_seed: cli.seed,
        timing_seeds: cli.timing_seeds,
        budgets: cli.budgets,
    };
    let report = experiment::run(&config)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::render_text(&report));
    }
    Ok(())
}
