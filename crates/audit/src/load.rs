//! The demo's inference load: the simulator's fleet and request stream (load peaks included),
//! routed by two routers. The honest one follows the policy on every request; the lazy one
//! follows it off-peak and, at peak load, skips straight to the fallback tier, and once (after
//! the first peak) re-dispatches a request that was already served (a duplicate generation). Every decision
//! records whether it breaks a rule, so a test knows exactly what an auditor must find.

use alloy_primitives::{Address, B256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::Eip712Domain;
use routing_contracts::gas;
use routing_policy::{check, route, tokens_after, Registry};
use routing_primitives::{
    Attempt, Decision, OutcomeClass, ProviderEntry, Request, Resolution, SignedDecision,
};
use routing_sim::{
    fleet::{Fleet, LoadCurve},
    workload::{run_ms, Workload},
};

/// How a decision of the load came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduct {
    /// Routed by the policy.
    Routed,
    /// The lazy router skipped to the fallback tier at peak load.
    SkippedToFallback,
    /// The lazy router dispatched a served request again.
    DuplicateGeneration,
}

/// One decision of the load.
#[derive(Clone, Debug)]
pub struct LoadDecision {
    /// The signed decision.
    pub signed: SignedDecision,
    /// How it came about.
    pub conduct: Conduct,
    /// Whether it breaks a rule of the policy (`check` against the registry is not empty).
    pub breaks_rules: bool,
}

/// `requests` requests of the simulator's stream for `seed`, alternately routed by `honest`
/// and `lazy` against `registry` (whose providers, sorted by address, stand for the fleet's in
/// order: four tier 0, three tier 1, two fallback), signed under `domain`.
pub fn fleet_load(
    registry: &Registry,
    requests: usize,
    seed: u64,
    honest: &PrivateKeySigner,
    lazy: &PrivateKeySigner,
    domain: &Eip712Domain,
) -> Vec<LoadDecision> {
    let curve = LoadCurve::for_run(run_ms(requests));
    let fleet = Fleet::new(seed, curve.clone());
    let workload = Workload::generate(requests, seed, seed ^ 0x5eed, &curve);
    let mut providers: Vec<Address> = registry.providers().iter().map(|p| p.provider).collect();
    providers.sort_unstable();
    let fleet_index =
        |a: &Address| providers.iter().position(|p| p == a).unwrap_or(0) % fleet.len();
    let params = registry.params();
    let mut tokens = [honest, lazy].map(|k| registry.router_tokens(&k.address()));
    let mut duplicated = false;
    let mut peak_seen = false;
    let mut order = workload.arrival_order();
    order.truncate(requests);
    order
        .into_iter()
        .enumerate()
        .map(|(n, i)| {
            let r = &workload.requests[i];
            let who = n % 2;
            let key = [honest, lazy][who];
            let request = Request {
                id: r.id,
                model_class: routing_sim::fleet::MODEL_CLASS,
                submit_ms: r.submit_ms,
                deadline_ms: r.deadline_ms,
                retry_budget: params.max_attempts.saturating_sub(1),
            };
            let oracle = |p: &ProviderEntry, start: u64, k: usize| {
                let d = fleet.attempt(fleet_index(&p.provider), &request.id, k as u32, start);
                (d.outcome, d.latency_ms)
            };
            let mut decision = route(&request, registry, key.address(), tokens[who], oracle);
            let mut conduct = Conduct::Routed;
            peak_seen |= r.at_peak;
            if who == 1 && r.at_peak {
                decision = gas::skip_to_fallback(&request, registry, key.address(), tokens[who]);
                conduct = Conduct::SkippedToFallback;
            } else if who == 1 && peak_seen && !duplicated && served_first_time(&decision) {
                duplicate_generation(&mut decision, registry);
                conduct = Conduct::DuplicateGeneration;
                duplicated = true;
            }
            tokens[who] = tokens_after(&decision, registry);
            let breaks_rules = !check(&decision, registry).is_empty();
            let signed = decision.sign(key, domain).expect("signing with a local key");
            LoadDecision { signed, conduct, breaks_rules }
        })
        .collect()
}

fn served_first_time(d: &Decision) -> bool {
    d.attempts.len() == 1
        && d.attempts[0].outcome == OutcomeClass::Success
        && d.resolution == Resolution::Served
}

/// A served request dispatched again to another provider of the same tier, whose answer is
/// the one returned: two generations for one request.
fn duplicate_generation(d: &mut Decision, registry: &Registry) {
    let first = d.attempts[0].clone();
    let other = registry
        .tier(d.request.model_class, first.tier)
        .find(|p| p.provider != first.provider)
        .map_or(first.provider, |p| p.provider);
    d.attempts.push(Attempt { provider: other, ..first });
    d.final_provider = other;
    d.retry_count = 1;
}

/// The request ids of `load` that break a rule.
pub fn offending_requests(load: &[LoadDecision]) -> Vec<B256> {
    load.iter().filter(|d| d.breaks_rules).map(|d| d.signed.decision.request.id).collect()
}
