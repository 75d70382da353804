//! The whole experiment: every (router, budget, timing seed) run over one fleet, and the
//! comparisons the seeds make.

use crate::{
    fleet::{
        Fleet, IntrinsicStats, LoadCurve, Peak, ProviderProfile, CONGESTION_KNEE_PPM,
        FLAKY_PROVIDER, PEAK_LOAD_PPM, SLOT_MS,
    },
    metrics::{round6, EffortVariance, ObservedProvider, RunMetrics},
    naive,
    sequenced::{self, RegistryReliability, BATCH_SIZE, INITIAL_RELIABILITY_PPM},
    trace::Trace,
    workload::{self, Workload},
};
use routing_primitives::PolicyParams;
use serde::Serialize;

/// The `schema` tag of the report.
pub const SCHEMA: &str = "routing-sim/1";

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Requests per run.
    pub requests: usize,
    /// Fleet seed: providers' health, request ids, deadlines, per-attempt luck.
    pub fleet_seed: u64,
    /// Timing seeds: arrival jitter and hence interleaving. At least one.
    pub timing_seeds: Vec<u64>,
    /// Attempt budgets on the primary tiers (1..=15). The first is the baseline of comparisons.
    pub budgets: Vec<u8>,
}

impl Default for Config {
    fn default() -> Self {
        Self { requests: 10_000, fleet_seed: 42, timing_seeds: vec![1, 2], budgets: vec![3, 7] }
    }
}

/// Which router made a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Router {
    /// The timing-driven baseline.
    Naive,
    /// The deterministic policy, sequenced in batches.
    Sequenced,
}

impl Router {
    /// Both routers, in report order.
    pub const ALL: [Self; 2] = [Self::Naive, Self::Sequenced];

    /// Display name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Naive => "naive",
            Self::Sequenced => "sequenced",
        }
    }
}

/// The experiment's fixed settings, for the record.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Setup {
    /// Identifies the shape of this report; bumped whenever a field changes meaning.
    pub schema: &'static str,
    /// Requests per run.
    pub requests: usize,
    /// Fleet seed.
    pub fleet_seed: u64,
    /// Timing seeds.
    pub timing_seeds: Vec<u64>,
    /// Budgets.
    pub budgets: Vec<u8>,
    /// Arrival window.
    pub run_ms: u64,
    /// Gilbert–Elliott slot.
    pub slot_ms: u64,
    /// Load at or above which a moment counts as peak.
    pub peak_load_ppm: u32,
    /// Load outside peaks.
    pub base_load_ppm: u32,
    /// Load above which providers start to congest.
    pub congestion_knee_ppm: u32,
    /// Mean spacing of arrivals.
    pub mean_interarrival_ms: u64,
    /// Constant part of the arrival density (the load adds the rest).
    pub arrival_base_weight_ppm: u64,
    /// The load peaks.
    pub peaks: Vec<Peak>,
    /// Arrival jitter (±) from the timing seed.
    pub arrival_jitter_ms: u64,
    /// Deadline window, shortest.
    pub deadline_min_ms: u64,
    /// Deadline window, longest.
    pub deadline_max_ms: u64,
    /// Decisions per sequenced batch.
    pub batch_size: usize,
    /// Registry reliability before the first batch.
    pub initial_reliability_ppm: u32,
    /// The naive router's settings (its `budget` is the first configured budget).
    pub naive: naive::NaiveConfig,
}

/// One provider: what it is, what it is expected to do, what the routers saw.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderReport {
    /// Name.
    pub name: String,
    /// Tier.
    pub tier: u8,
    /// Address in the registry.
    pub address: String,
    /// The Gilbert–Elliott and latency parameters.
    pub profile: ProviderProfile,
    /// Time-averaged behaviour over the arrival window.
    pub intrinsic: IntrinsicStats,
    /// What every run's attempts at it showed, pooled.
    pub observed: ObservedProvider,
}

/// The policy parameters of one budget.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetParams {
    /// The budget.
    pub budget: u8,
    /// The request's `retry_budget`.
    pub retry_budget: u8,
    /// The parameters.
    pub params: PolicyParams,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// The router.
    pub router: Router,
    /// Attempt budget on the primary tiers.
    pub budget: u8,
    /// Timing seed.
    pub timing_seed: u64,
    /// The metrics.
    pub metrics: RunMetrics,
    /// Sequenced only: decisions `check` rejected (expected 0).
    pub check_violations: usize,
    /// Sequenced only: batches sealed.
    pub batches: usize,
    /// Sequenced only: registry reliability per provider over the run.
    pub registry: Vec<RegistryReliability>,
}

/// "Same request, same effort" for one (router, budget).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VarianceReport {
    /// The router.
    pub router: Router,
    /// The budget.
    pub budget: u8,
    /// The comparison.
    pub variance: EffortVariance,
}

/// A budget against the baseline budget, same router and timing seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetComparison {
    /// The router.
    pub router: Router,
    /// Timing seed.
    pub timing_seed: u64,
    /// Baseline budget.
    pub from_budget: u8,
    /// Compared budget.
    pub to_budget: u8,
    /// Relative change in the share of requests landing on fallback, in percent.
    pub fell_back_change_pct: f64,
    /// Relative change in the share served by fallback, in percent.
    pub served_by_fallback_change_pct: f64,
    /// Change in mean end-to-end latency per request.
    pub mean_latency_change_ms: f64,
    /// Change in mean added latency per request.
    pub mean_added_latency_change_ms: f64,
}

/// Everything the experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Settings.
    pub setup: Setup,
    /// The fleet.
    pub providers: Vec<ProviderReport>,
    /// Name of the seeds' "92 % reliability" provider.
    pub flaky_provider: String,
    /// Policy parameters per budget.
    pub policy_params: Vec<BudgetParams>,
    /// Every run: routers × budgets × timing seeds.
    pub runs: Vec<RunReport>,
    /// Effort variance between the first timing seed and each other one.
    pub effort_variance: Vec<VarianceReport>,
    /// Each budget against the first.
    pub budget_comparisons: Vec<BudgetComparison>,
}

impl Report {
    /// The run of `router` at `budget` under `timing_seed`.
    pub fn run(&self, router: Router, budget: u8, timing_seed: u64) -> Option<&RunReport> {
        self.runs
            .iter()
            .find(|r| r.router == router && r.budget == budget && r.timing_seed == timing_seed)
    }
}

/// Why a configuration cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No requests.
    NoRequests,
    /// No timing seed.
    NoTimingSeeds,
    /// No budget, or one outside 1..=15.
    BadBudget,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoRequests => "at least one request is needed",
            Self::NoTimingSeeds => "at least one timing seed is needed",
            Self::BadBudget => "budgets must be given, each between 1 and 15 attempts",
        })
    }
}

impl std::error::Error for ConfigError {}

/// The fleet a configuration runs against.
pub fn fleet_for(config: &Config) -> Fleet {
    Fleet::new(config.fleet_seed, LoadCurve::for_run(workload::run_ms(config.requests)))
}

fn pct_change(from: f64, to: f64) -> f64 {
    if from == 0.0 {
        0.0
    } else {
        round6((to - from) / from * 100.0)
    }
}

/// Runs the experiment.
pub fn run(config: &Config) -> Result<Report, ConfigError> {
    if config.requests == 0 {
        return Err(ConfigError::NoRequests);
    }
    if config.timing_seeds.is_empty() {
        return Err(ConfigError::NoTimingSeeds);
    }
    if config.budgets.is_empty() || config.budgets.iter().any(|&b| b == 0 || b > 15) {
        return Err(ConfigError::BadBudget);
    }
    let fleet = fleet_for(config);
    let curve = fleet.curve().clone();
    let fallback_tier = sequenced::params_for_budget(1).fallback_tier;
    let workloads: Vec<Workload> = config
        .timing_seeds
        .iter()
        .map(|&t| Workload::generate(config.requests, config.fleet_seed, t, &curve))
        .collect();

    let mut runs = Vec::new();
    let mut effort_variance = Vec::new();
    let mut all_traces: Vec<Vec<Trace>> = Vec::new();
    for router in Router::ALL {
        for &budget in &config.budgets {
            let mut per_seed: Vec<Vec<Trace>> = Vec::new();
            for (w, &timing_seed) in workloads.iter().zip(&config.timing_seeds) {
                let (traces, check_violations, batches, registry) = match router {
                    Router::Naive => (
                        naive::run(&fleet, w, &naive::NaiveConfig::with_budget(budget)),
                        0,
                        0,
                        Vec::new(),
                    ),
                    Router::Sequenced => {
                        let run = sequenced::run(&fleet, w, budget);
                        let rel = run.reliabilities(&fleet);
                        (run.traces, run.violations.len(), run.registries.len(), rel)
                    }
                };
                runs.push(RunReport {
                    router,
                    budget,
                    timing_seed,
                    metrics: RunMetrics::from_traces(&traces, fallback_tier),
                    check_violations,
                    batches,
                    registry,
                });
                per_seed.push(traces);
            }
            for (k, other) in per_seed.iter().enumerate().skip(1) {
                effort_variance.push(VarianceReport {
                    router,
                    budget,
                    variance: EffortVariance::between(
                        &per_seed[0],
                        other,
                        (config.timing_seeds[0], config.timing_seeds[k]),
                        fallback_tier,
                    ),
                });
            }
            all_traces.extend(per_seed);
        }
    }

    let mut budget_comparisons = Vec::new();
    let base = config.budgets[0];
    for router in Router::ALL {
        for &to in config.budgets.iter().skip(1) {
            for &t in &config.timing_seeds {
                let find = |b: u8| {
                    runs.iter()
                        .find(|r: &&RunReport| {
                            r.router == router && r.budget == b && r.timing_seed == t
                        })
                        .map(|r| &r.metrics)
                        .expect("every run exists")
                };
                let (a, b) = (find(base), find(to));
                budget_comparisons.push(BudgetComparison {
                    router,
                    timing_seed: t,
                    from_budget: base,
                    to_budget: to,
                    fell_back_change_pct: pct_change(a.fell_back, b.fell_back),
                    served_by_fallback_change_pct: pct_change(
                        a.served_by_fallback,
                        b.served_by_fallback,
                    ),
                    mean_latency_change_ms: round6(b.mean_latency_ms - a.mean_latency_ms),
                    mean_added_latency_change_ms: round6(
                        b.mean_added_latency_ms - a.mean_added_latency_ms,
                    ),
                });
            }
        }
    }

    let providers = fleet
        .profiles()
        .iter()
        .enumerate()
        .map(|(p, prof)| ProviderReport {
            name: prof.name.to_string(),
            tier: prof.tier,
            address: fleet.addresses()[p].to_string(),
            profile: prof.clone(),
            intrinsic: round_intrinsic(fleet.intrinsic_stats(p)),
            observed: ObservedProvider::tally(p, all_traces.iter().flatten(), |t| curve.is_peak(t)),
        })
        .collect();

    Ok(Report {
        setup: Setup {
            schema: SCHEMA,
            requests: config.requests,
            fleet_seed: config.fleet_seed,
            timing_seeds: config.timing_seeds.clone(),
            budgets: config.budgets.clone(),
            run_ms: curve.run_ms,
            slot_ms: SLOT_MS,
            peak_load_ppm: PEAK_LOAD_PPM,
            base_load_ppm: curve.base_ppm,
            congestion_knee_ppm: CONGESTION_KNEE_PPM,
            mean_interarrival_ms: workload::MEAN_INTERARRIVAL_MS,
            arrival_base_weight_ppm: workload::ARRIVAL_BASE_WEIGHT_PPM,
            peaks: curve.peaks.clone(),
            arrival_jitter_ms: workload::ARRIVAL_JITTER_MS,
            deadline_min_ms: workload::DEADLINE_MIN_MS,
            deadline_max_ms: workload::DEADLINE_MAX_MS,
            batch_size: BATCH_SIZE,
            initial_reliability_ppm: INITIAL_RELIABILITY_PPM,
            naive: naive::NaiveConfig::with_budget(config.budgets[0]),
        },
        providers,
        flaky_provider: fleet.profiles()[FLAKY_PROVIDER].name.to_string(),
        policy_params: config
            .budgets
            .iter()
            .map(|&b| BudgetParams {
                budget: b,
                retry_budget: b - 1,
                params: sequenced::params_for_budget(b),
            })
            .collect(),
        runs,
        effort_variance,
        budget_comparisons,
    })
}

fn round_intrinsic(s: IntrinsicStats) -> IntrinsicStats {
    IntrinsicStats {
        reliability: round6(s.reliability),
        bad_time_share: round6(s.bad_time_share),
        peak_time_share: round6(s.peak_time_share),
        peak_failure_share: round6(s.peak_failure_share),
        peak_failure_rate: round6(s.peak_failure_rate),
        off_peak_failure_rate: round6(s.off_peak_failure_rate),
    }
}
