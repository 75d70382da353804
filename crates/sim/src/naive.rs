//! The seeds' baseline: a timing-driven router.
//!
//! It runs as a discrete-event simulation in logical time, every request in flight at once, so
//! what it knows at any moment depends on the order in which arrivals and completions
//! interleave — that is, on the timing seed.
//!
//! - **Pick**: the primary provider with the least "latency now": an EWMA of the latencies it has
//!   observed so far, failures counted as their latency plus a penalty, plus a handicap per tier
//!   below the best (see [`NaiveConfig`]). It only avoids the provider it just left.
//! - **Retry**: on any failure, retryable or not (a validation failure means a generation was
//!   produced and thrown away, so the retry's generation is a duplicate), until the per-request
//!   budget of primary attempts is spent; then one attempt at the fallback provider with the
//!   least latency. Like any client it starts no attempt at or after the request's deadline.
//! - **Re-route mid-flight**: while waiting, it abandons the attempt and re-routes when the
//!   provider looks congested: its health turns Bad (queue growth visible to the router) or the
//!   wait exceeds `max(patience_factor × EWMA, min_patience_ms)`. The abandoned attempt still
//!   runs to completion at the provider: wasted compute, and a duplicate generation when it
//!   would have produced one. It never abandons its last primary attempt.

use crate::{
    fleet::{Fleet, Health},
    trace::{Trace, TracedAttempt},
    workload::Workload,
};
use routing_primitives::{FallbackTrigger, OutcomeClass, Resolution};
use std::{cmp::Reverse, collections::BinaryHeap};

/// The naive router's knobs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NaiveConfig {
    /// Attempts per request on the primary tiers before it lands on the fallback tier.
    pub budget: u8,
    /// The latency every provider is assumed to have before anything is observed.
    pub initial_latency_ms: u64,
    /// EWMA weight of one observation is `1 / ewma_weight_inverse`.
    pub ewma_weight_inverse: u64,
    /// Added to the observed latency of a failed attempt.
    pub failure_penalty_ms: u64,
    /// Latency-equivalent handicap per tier below the best.
    pub tier_handicap_ms: u64,
    /// Abandon an attempt after this many times the provider's latency EWMA...
    pub patience_factor: u64,
    /// ...but never before this long.
    pub min_patience_ms: u64,
}

impl NaiveConfig {
    /// The baseline used in the experiment, with `budget` primary attempts.
    pub const fn with_budget(budget: u8) -> Self {
        Self {
            budget,
            initial_latency_ms: 1_000,
            ewma_weight_inverse: 8,
            failure_penalty_ms: 1_000,
            tier_handicap_ms: 800,
            patience_factor: 3,
            min_patience_ms: 2_500,
        }
    }
}

/// The naive router's notion of the fallback tier.
pub const FALLBACK_TIER: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The in-flight attempt ends at the provider.
    End,
    /// The router gives up on the in-flight attempt.
    Abandon,
    /// The request arrives.
    Arrive,
}

#[derive(Clone, Debug)]
struct InFlight {
    provider: usize,
    tier: u8,
    start_ms: u64,
    outcome: OutcomeClass,
    latency_ms: u32,
}

#[derive(Clone, Debug, Default)]
struct State {
    attempts: Vec<TracedAttempt>,
    primary_used: u8,
    fell_back: bool,
    in_flight: Option<InFlight>,
    done: Option<(Resolution, u64)>,
}

/// Runs the naive router over `workload` with `budget` primary attempts per request. Traces
/// come back in request-index order.
pub fn run(fleet: &Fleet, workload: &Workload, config: &NaiveConfig) -> Vec<Trace> {
    let budget = config.budget;
    let n = workload.requests.len();
    let mut ewma: Vec<u64> = vec![config.initial_latency_ms; fleet.len()];
    let mut states: Vec<State> = vec![State::default(); n];
    let mut queue: BinaryHeap<Reverse<(u64, Event, usize)>> = BinaryHeap::with_capacity(2 * n);
    for r in &workload.requests {
        queue.push(Reverse((r.submit_ms, Event::Arrive, r.index)));
    }
    let primary: Vec<usize> =
        (0..fleet.len()).filter(|&p| fleet.profiles()[p].tier < FALLBACK_TIER).collect();
    let fallback: Vec<usize> =
        (0..fleet.len()).filter(|&p| fleet.profiles()[p].tier == FALLBACK_TIER).collect();

    while let Some(Reverse((now, event, r))) = queue.pop() {
        let req = &workload.requests[r];
        let st = &mut states[r];
        match event {
            Event::Arrive => {}
            Event::End | Event::Abandon => {
                let f = st.in_flight.take().expect("an event for an attempt in flight");
                let waited = (now - f.start_ms) as u32;
                let abandoned = event == Event::Abandon;
                let observed = if abandoned {
                    u64::from(waited)
                } else if f.outcome.is_failure() {
                    u64::from(f.latency_ms) + config.failure_penalty_ms
                } else {
                    u64::from(f.latency_ms)
                };
                let w = config.ewma_weight_inverse.max(1);
                ewma[f.provider] = (ewma[f.provider] * (w - 1) + observed) / w;
                st.attempts.push(TracedAttempt {
                    provider: f.provider,
                    tier: f.tier,
                    outcome: f.outcome,
                    start_ms: f.start_ms,
                    latency_ms: f.latency_ms,
                    waited_ms: waited,
                    abandoned,
                });
                if !abandoned && f.outcome == OutcomeClass::Success {
                    st.done = Some((Resolution::Served, now));
                    continue;
                }
                if st.fell_back {
                    st.done = Some((Resolution::Exhausted, now));
                    continue;
                }
            }
        }
        // Start the next attempt, if any.
        if now >= req.deadline_ms {
            st.done = Some((Resolution::DeadlineExceeded, now));
            continue;
        }
        let last = st.attempts.last().map(|a| a.provider);
        let (provider, tier) = if st.primary_used < budget {
            let p = primary
                .iter()
                .copied()
                .filter(|&p| Some(p) != last)
                .min_by_key(|&p| {
                    (ewma[p] + u64::from(fleet.profiles()[p].tier) * config.tier_handicap_ms, p)
                })
                .expect("at least two primary providers");
            st.primary_used += 1;
            (p, fleet.profiles()[p].tier)
        } else {
            let p = fallback
                .iter()
                .copied()
                .min_by_key(|&p| (ewma[p], p))
                .expect("at least one fallback provider");
            st.fell_back = true;
            (p, FALLBACK_TIER)
        };
        let k = st.attempts.iter().filter(|a| a.provider == provider).count() as u32;
        let draw = fleet.attempt(provider, &req.id, k, now);
        let end = now + u64::from(draw.latency_ms);
        let mut at = (end, Event::End);
        if tier < FALLBACK_TIER && st.primary_used < budget {
            let patience = (config.patience_factor * ewma[provider]).max(config.min_patience_ms);
            let mut reroute = now + patience;
            if draw.health == Health::Good {
                if let Some(t) = fleet.first_bad_after(provider, now) {
                    reroute = reroute.min(t);
                }
            }
            if reroute < end {
                at = (reroute, Event::Abandon);
            }
        }
        st.in_flight = Some(InFlight {
            provider,
            tier,
            start_ms: now,
            outcome: draw.outcome,
            latency_ms: draw.latency_ms,
        });
        queue.push(Reverse((at.0, at.1, r)));
    }

    workload
        .requests
        .iter()
        .zip(states)
        .map(|(req, st)| {
            let (resolution, end_ms) = st.done.expect("every request finishes");
            Trace {
                index: req.index,
                submit_ms: req.submit_ms,
                at_peak: req.at_peak,
                trigger: if st.fell_back {
                    FallbackTrigger::RetryBudgetExhausted
                } else {
                    FallbackTrigger::None
                },
                attempts: st.attempts,
                resolution,
                end_ms,
            }
        })
        .collect()
}
