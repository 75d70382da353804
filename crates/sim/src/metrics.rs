//! Metrics computed from traces, identically for both routers.

use crate::trace::Trace;
use routing_primitives::FallbackTrigger;
use serde::Serialize;

/// Rounds to six decimals so the JSON stays readable and stable.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn share(count: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        round6(count as f64 / of as f64)
    }
}

fn mean(values: &[u64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        round6(values.iter().sum::<u64>() as f64 / values.len() as f64)
    }
}

/// Nearest-rank 99th percentile.
fn p99(values: &mut [u64]) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = (values.len() * 99).div_ceil(100);
    values[rank.saturating_sub(1)]
}

/// Everything measured for one (router, budget, timing seed) run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunMetrics {
    /// Requests routed.
    pub requests: usize,
    /// Requests that arrived at peak load.
    pub peak_requests: usize,
    /// Share of requests that spent their primary attempts (or were stopped by retry throttling or
    /// ran out of eligible primary providers) and landed on the fallback tier.
    pub fell_back: f64,
    /// Share of requests that fell back because their own attempt budget was spent.
    pub fell_back_budget: f64,
    /// Share that fell back because the router's retry tokens were throttled.
    pub fell_back_fleet_budget: f64,
    /// Share that fell back because every eligible primary provider had been tried.
    pub fell_back_tiers: f64,
    /// Share of requests at peak load that fell back.
    pub fell_back_peak: f64,
    /// Share of requests served by the fallback tier.
    pub served_by_fallback: f64,
    /// Share of requests served by tier 0, the "best" tier.
    pub served_by_best: f64,
    /// Share of requests served at all.
    pub served: f64,
    /// Share that ended on a non-retryable outcome (the policy stops; the naive router never does).
    pub non_retryable: f64,
    /// Share stopped by the deadline.
    pub deadline_exceeded: f64,
    /// Mean attempts per request.
    pub mean_attempts: f64,
    /// Mean end-to-end latency (submit to the router's last word), all requests.
    pub mean_latency_ms: f64,
    /// 99th percentile end-to-end latency.
    pub p99_latency_ms: u64,
    /// Mean added latency: end-to-end latency minus the time spent on the first attempt.
    pub mean_added_latency_ms: f64,
    /// 99th percentile added latency.
    pub p99_added_latency_ms: u64,
    /// Share of requests re-routed mid-flight at least once.
    pub rerouted: f64,
    /// Same, among requests that arrived at peak load.
    pub rerouted_peak: f64,
    /// Generations beyond the first for the same request, summed.
    pub duplicate_generations: usize,
    /// Attempts whose compute was thrown away (abandoned, timed out, or failed validation).
    pub wasted_attempts: usize,
    /// Of which abandoned mid-flight.
    pub abandoned_attempts: usize,
}

impl RunMetrics {
    /// Computes the metrics of `traces`; `fallback_tier` is the last-resort tier.
    pub fn from_traces(traces: &[Trace], fallback_tier: u8) -> Self {
        let n = traces.len();
        let count = |f: &dyn Fn(&Trace) -> bool| traces.iter().filter(|t| f(t)).count();
        let peak: Vec<&Trace> = traces.iter().filter(|t| t.at_peak).collect();
        let mut latency: Vec<u64> = traces.iter().map(Trace::latency_ms).collect();
        let mut added: Vec<u64> = traces.iter().map(Trace::added_latency_ms).collect();
        let attempts: Vec<u64> = traces.iter().map(|t| t.attempts.len() as u64).collect();
        let trig = |want: FallbackTrigger| {
            count(&|t: &Trace| t.fell_back(fallback_tier) && t.trigger == want)
        };
        Self {
            requests: n,
            peak_requests: peak.len(),
            fell_back: share(count(&|t| t.fell_back(fallback_tier)), n),
            fell_back_budget: share(trig(FallbackTrigger::RetryBudgetExhausted), n),
            fell_back_fleet_budget: share(trig(FallbackTrigger::FleetBudgetExhausted), n),
            fell_back_tiers: share(trig(FallbackTrigger::TiersExhausted), n),
            fell_back_peak: share(
                peak.iter().filter(|t| t.fell_back(fallback_tier)).count(),
                peak.len(),
            ),
            served_by_fallback: share(count(&|t| t.served_by_fallback(fallback_tier)), n),
            served_by_best: share(count(&|t| t.served_by_best()), n),
            served: share(count(&|t| t.served()), n),
            non_retryable: share(
                count(&|t| t.resolution == routing_primitives::Resolution::NonRetryable),
                n,
            ),
            deadline_exceeded: share(
                count(&|t| t.resolution == routing_primitives::Resolution::DeadlineExceeded),
                n,
            ),
            mean_attempts: mean(&attempts),
            mean_latency_ms: mean(&latency),
            p99_latency_ms: p99(&mut latency),
            mean_added_latency_ms: mean(&added),
            p99_added_latency_ms: p99(&mut added),
            rerouted: share(count(&|t| t.rerouted()), n),
            rerouted_peak: share(peak.iter().filter(|t| t.rerouted()).count(), peak.len()),
            duplicate_generations: traces.iter().map(Trace::duplicate_generations).sum(),
            wasted_attempts: traces.iter().flat_map(|t| &t.attempts).filter(|a| a.wasted()).count(),
            abandoned_attempts: traces
                .iter()
                .flat_map(|t| &t.attempts)
                .filter(|a| a.abandoned)
                .count(),
        }
    }
}

/// "Same request, same effort": how differently the same requests fared under two timing seeds
/// with the same fleet seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffortVariance {
    /// The first timing seed.
    pub timing_seed_a: u64,
    /// The second.
    pub timing_seed_b: u64,
    /// Share of requests whose effort differs: attempt count or the tier they ended in.
    pub effort_differs: f64,
    /// Share whose provider sequence differs at all.
    pub path_differs: f64,
    /// Share whose first provider differs: routing choice alone, before any outcome.
    pub first_provider_differs: f64,
    /// Share where one run fell back and the other did not.
    pub fallback_differs: f64,
    /// Mean absolute difference in attempt count.
    pub mean_abs_attempt_diff: f64,
}

impl EffortVariance {
    /// Compares two runs of the same requests (both in request-index order).
    pub fn between(a: &[Trace], b: &[Trace], seeds: (u64, u64), fallback_tier: u8) -> Self {
        assert_eq!(a.len(), b.len(), "the same requests under both timing seeds");
        let n = a.len();
        let (mut effort, mut path, mut first, mut fb, mut diff) = (0, 0, 0, 0, 0u64);
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.index, y.index);
            let tier = |t: &Trace| t.attempts.last().map(|a| a.tier);
            if x.attempts.len() != y.attempts.len() || tier(x) != tier(y) {
                effort += 1;
            }
            if !x.attempts.iter().map(|a| a.provider).eq(y.attempts.iter().map(|a| a.provider)) {
                path += 1;
            }
            if x.attempts.first().map(|a| a.provider) != y.attempts.first().map(|a| a.provider) {
                first += 1;
            }
            if x.fell_back(fallback_tier) != y.fell_back(fallback_tier) {
                fb += 1;
            }
            diff += x.attempts.len().abs_diff(y.attempts.len()) as u64;
        }
        Self {
            timing_seed_a: seeds.0,
            timing_seed_b: seeds.1,
            effort_differs: share(effort, n),
            path_differs: share(path, n),
            first_provider_differs: share(first, n),
            fallback_differs: share(fb, n),
            mean_abs_attempt_diff: if n == 0 { 0.0 } else { round6(diff as f64 / n as f64) },
        }
    }
}

/// What the routers' attempts at one provider showed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedProvider {
    /// Attempts made at it.
    pub attempts: usize,
    /// Their success rate.
    pub reliability: f64,
    /// Share of the attempts that started at peak load.
    pub peak_attempt_share: f64,
    /// Share of the failures that started at peak load.
    pub peak_failure_share: f64,
    /// Failure rate of attempts started at peak load.
    pub peak_failure_rate: f64,
    /// Failure rate of attempts started off peak.
    pub off_peak_failure_rate: f64,
}

impl ObservedProvider {
    /// Tallies every attempt at provider `p` in `traces`; `is_peak` classifies a start time.
    pub fn tally<'a>(
        p: usize,
        traces: impl IntoIterator<Item = &'a Trace>,
        is_peak: impl Fn(u64) -> bool,
    ) -> Self {
        let (mut n, mut fail, mut peak, mut peak_fail) = (0, 0, 0, 0);
        for a in traces.into_iter().flat_map(|t| &t.attempts).filter(|a| a.provider == p) {
            let at_peak = is_peak(a.start_ms);
            let failed = a.outcome.is_failure();
            n += 1;
            fail += usize::from(failed);
            peak += usize::from(at_peak);
            peak_fail += usize::from(at_peak && failed);
        }
        Self {
            attempts: n,
            reliability: if n == 0 { 0.0 } else { round6(1.0 - fail as f64 / n as f64) },
            peak_attempt_share: share(peak, n),
            peak_failure_share: share(peak_fail, fail),
            peak_failure_rate: share(peak_fail, peak),
            off_peak_failure_rate: share(fail - peak_fail, n - peak),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_is_nearest_rank() {
        let mut v: Vec<u64> = (1..=200).collect();
        assert_eq!(p99(&mut v), 198);
        let mut one = vec![5];
        assert_eq!(p99(&mut one), 5);
        assert_eq!(p99(&mut []), 0);
    }
}
