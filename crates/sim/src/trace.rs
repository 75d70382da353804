//! What happened to one request under one router: the record every metric is computed from.

use routing_primitives::{FallbackTrigger, OutcomeClass, Resolution};

/// One attempt as the simulation saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedAttempt {
    /// Provider index in the fleet.
    pub provider: usize,
    /// Its tier.
    pub tier: u8,
    /// How the attempt ends at the provider (for an abandoned attempt: how it would have ended;
    /// the provider finishes the work either way).
    pub outcome: OutcomeClass,
    /// Logical start.
    pub start_ms: u64,
    /// How long the provider takes.
    pub latency_ms: u32,
    /// How long the router waited on it: the latency, or the time until it abandoned it.
    pub waited_ms: u32,
    /// Whether the router abandoned it mid-flight to re-route.
    pub abandoned: bool,
}

impl TracedAttempt {
    /// Whether the provider produced a generation (a response, valid or not).
    pub fn generated(&self) -> bool {
        matches!(self.outcome, OutcomeClass::Success | OutcomeClass::ValidationFailed)
    }

    /// Whether the attempt burnt provider compute for nothing the request used: abandoned
    /// mid-flight, timed out, or generated an answer that failed validation.
    pub fn wasted(&self) -> bool {
        self.abandoned
            || matches!(self.outcome, OutcomeClass::Timeout | OutcomeClass::ValidationFailed)
    }
}

/// One request, start to finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Request index.
    pub index: usize,
    /// Logical submission time.
    pub submit_ms: u64,
    /// Whether it arrived at peak load.
    pub at_peak: bool,
    /// Every attempt in order.
    pub attempts: Vec<TracedAttempt>,
    /// How it ended.
    pub resolution: Resolution,
    /// Why it moved to the fallback tier, if it did.
    pub trigger: FallbackTrigger,
    /// Logical time the router was done with it.
    pub end_ms: u64,
}

impl Trace {
    /// Whether the request was served.
    pub fn served(&self) -> bool {
        self.resolution == Resolution::Served
    }

    /// Whether any attempt went to the fallback tier.
    pub fn fell_back(&self, fallback_tier: u8) -> bool {
        self.attempts.iter().any(|a| a.tier >= fallback_tier)
    }

    /// Whether it was served by the fallback tier.
    pub fn served_by_fallback(&self, fallback_tier: u8) -> bool {
        self.served() && self.attempts.last().is_some_and(|a| a.tier >= fallback_tier)
    }

    /// Whether the request was served by tier 0, the "best" tier.
    pub fn served_by_best(&self) -> bool {
        self.served() && self.attempts.last().is_some_and(|a| a.tier == 0)
    }

    /// End-to-end latency.
    pub fn latency_ms(&self) -> u64 {
        self.end_ms - self.submit_ms
    }

    /// Latency beyond the time spent on the first attempt.
    pub fn added_latency_ms(&self) -> u64 {
        let first = self.attempts.first().map_or(0, |a| u64::from(a.waited_ms));
        self.latency_ms().saturating_sub(first)
    }

    /// Generations beyond the first: the same request answered more than once.
    pub fn duplicate_generations(&self) -> usize {
        self.attempts.iter().filter(|a| a.generated()).count().saturating_sub(1)
    }

    /// Whether the request was re-routed mid-flight at least once.
    pub fn rerouted(&self) -> bool {
        self.attempts.iter().any(|a| a.abandoned)
    }
}
