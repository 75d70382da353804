use crate::{arb::*, *};
use alloy_primitives::{Address, B256};
use alloy_signer_local::PrivateKeySigner;
use proptest::prelude::*;
use routing_primitives::{
    Attempt, Decision, FallbackTrigger, OutcomeClass, PolicyParams, ProviderEntry, Request,
    Resolution, RouterBudget, MAX_ATTEMPTS,
};

const ROUTER: Address = Address::with_last_byte(0xee);

/// Tier 0: providers 1..=3, tier 1: 4..=5, tier 2 (fallback): 6..=7, tier 3 (never used): 8.
/// Provider 3 is below the default reliability floor; provider 5 serves another model class.
fn fleet() -> Registry {
    let entry = |n: u8, tier: u8, reliability_ppm: u32, model_class: u32| ProviderEntry {
        provider: provider(n),
        model_class,
        tier,
        reliability_ppm,
        cooldown_until_ms: 0,
    };
    Registry::new(
        1,
        PolicyParams::default(),
        vec![
            entry(1, 0, 990_000, 1),
            entry(2, 0, 920_000, 1),
            entry(3, 0, 400_000, 1),
            entry(4, 1, 950_000, 1),
            entry(5, 1, 950_000, 2),
            entry(6, 2, 999_000, 1),
            entry(7, 2, 998_000, 1),
            entry(8, 3, 999_999, 1),
        ],
        vec![],
    )
    .unwrap()
}

fn request(id: u8) -> Request {
    Request {
        id: B256::repeat_byte(id),
        model_class: 1,
        submit_ms: 10_000,
        deadline_ms: 20_000,
        retry_budget: 5,
    }
}

fn routed(id: u8, outcomes: Vec<(OutcomeClass, u32)>) -> (Registry, Decision) {
    let registry = fleet();
    let d =
        route(&request(id), &registry, ROUTER, registry.router_tokens(&ROUTER), script(outcomes));
    assert!(check(&d, &registry).is_empty(), "{:?}", check(&d, &registry));
    (registry, d)
}

/// Route a decision again from its own recorded outcomes.
fn reroute(d: &Decision, registry: &Registry) -> Decision {
    let recorded: Vec<_> = d.attempts.iter().map(|a| (a.outcome, a.latency_ms)).collect();
    route(
        &d.request,
        registry,
        d.router,
        d.budget_tokens,
        move |_: &ProviderEntry, _: u64, i: usize| {
            recorded.get(i).copied().unwrap_or((OutcomeClass::Success, 0))
        },
    )
}

fn rules(v: &[Violation]) -> Vec<String> {
    v.iter().map(rule_name).collect()
}

fn rule_name(v: &Violation) -> String {
    format!("{v:?}").split([' ', '{', '(']).next().unwrap().to_string()
}

#[test]
fn first_attempt_goes_to_the_best_tier_by_rendezvous() {
    let (registry, d) = routed(1, vec![]);
    assert_eq!(d.attempts.len(), 1);
    assert_eq!(d.attempts[0].tier, 0);
    assert_eq!(d.resolution, Resolution::Served);
    assert_eq!(d.trigger, FallbackTrigger::None);
    let best = registry
        .tier(1, 0)
        .max_by_key(|e| hrw_score(&d.request.id, &e.provider, e.reliability_ppm))
        .unwrap();
    assert_eq!(d.attempts[0].provider, best.provider);
}

#[test]
fn rendezvous_spreads_requests_and_favours_reliability() {
    let registry = fleet();
    let mut wins = [0u32; 4];
    for i in 0..2_000u32 {
        let mut req = request(0);
        req.id = alloy_primitives::keccak256(i.to_be_bytes());
        let d = route(&req, &registry, ROUTER, 10_000, script(vec![]));
        wins[usize::from(d.attempts[0].provider.0[19])] += 1;
    }
    // Provider 1 (0.99) beats provider 2 (0.92) beats provider 3 (0.40); all get traffic.
    assert!(wins[1] > wins[2] && wins[2] > wins[3] && wins[3] > 0, "{wins:?}");
}

#[test]
fn retries_never_repeat_a_provider_and_skip_low_confidence_ones() {
    let (_, d) = routed(2, vec![(OutcomeClass::Timeout, 100); 8]);
    let providers: Vec<_> = d.attempts.iter().map(|a| a.provider).collect();
    let mut unique = providers.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), providers.len());
    // Provider 3 (below the floor) may only ever be a first attempt.
    assert!(d.attempts.iter().skip(1).all(|a| a.provider != provider(3)));
}

#[test]
fn spent_attempt_cap_falls_back_once_then_dies() {
    let (_, d) = routed(3, vec![(OutcomeClass::Overloaded, 100); 8]);
    // Default cap: 3 primary attempts, then exactly one fallback attempt.
    assert_eq!(d.attempts.iter().filter(|a| a.tier < 2).count(), 3);
    assert_eq!(d.attempts.last().unwrap().tier, 2);
    assert_eq!(d.attempts.len(), 4);
    assert_eq!(d.trigger, FallbackTrigger::RetryBudgetExhausted);
    assert_eq!(d.resolution, Resolution::Exhausted);
    assert_eq!(d.retry_count, 3);
}

#[test]
fn tier_exhaustion_moves_down_tiers_before_falling_back() {
    let registry = fleet();
    let mut req = request(4);
    req.retry_budget = 9;
    let mut params = registry.params().clone();
    params.max_attempts = 9;
    params.reliability_floor_ppm = 0;
    let registry =
        Registry::new(1, params, registry.providers().to_vec(), registry.routers().to_vec())
            .unwrap();
    let d = route(&req, &registry, ROUTER, 10_000, script(vec![(OutcomeClass::Timeout, 10); 9]));
    let tiers: Vec<_> = d.attempts.iter().map(|a| a.tier).collect();
    assert_eq!(tiers, vec![0, 0, 0, 1, 2]);
    assert_eq!(d.trigger, FallbackTrigger::TiersExhausted);
    assert!(check(&d, &registry).is_empty());
}

#[test]
fn non_retryable_outcomes_end_the_decision() {
    for outcome in [OutcomeClass::RejectedTerminal, OutcomeClass::ValidationFailed] {
        let (_, d) = routed(5, vec![(outcome, 100)]);
        assert_eq!(d.attempts.len(), 1);
        assert_eq!(d.resolution, Resolution::NonRetryable);
    }
}

#[test]
fn deadline_stops_retries() {
    let (_, d) = routed(6, vec![(OutcomeClass::Timeout, 6_000); 4]);
    // 10 s + 6 s = 16 s < 20 s: a second attempt; 22 s >= 20 s: no third.
    assert_eq!(d.attempts.len(), 2);
    assert_eq!(d.resolution, Resolution::DeadlineExceeded);
}

#[test]
fn throttled_router_falls_back_instead_of_retrying() {
    let registry = fleet();
    // 5_000 milli-tokens is the threshold; one failure from 5_900 crosses it.
    let d =
        route(&request(7), &registry, ROUTER, 5_900, script(vec![(OutcomeClass::Timeout, 10); 4]));
    assert_eq!(d.attempts.len(), 2);
    assert_eq!(d.attempts[1].tier, 2);
    assert_eq!(d.trigger, FallbackTrigger::FleetBudgetExhausted);
    assert!(check(&d, &registry).is_empty());
    assert_eq!(tokens_after(&d, &registry), 3_900);
}

#[test]
fn cooling_down_providers_are_skipped() {
    let base = fleet();
    let (_, d) = routed(8, vec![]);
    let first = d.attempts[0].provider;
    let mut providers = base.providers().to_vec();
    providers.iter_mut().find(|p| p.provider == first).unwrap().cooldown_until_ms = 10_001;
    let registry = Registry::new(1, base.params().clone(), providers, vec![]).unwrap();
    let d2 = route(&request(8), &registry, ROUTER, 10_000, script(vec![]));
    assert_ne!(d2.attempts[0].provider, first);
    // The old decision is now wrong: its provider was cooling down.
    let v = check(&d, &registry);
    assert!(
        v.iter().any(|v| matches!(
            v,
            Violation::IneligibleProvider {
                reason: Ineligibility::CoolingDown { until_ms: 10_001 },
                ..
            }
        )),
        "{v:?}"
    );
}

#[test]
fn no_provider_at_all_is_exhausted_without_attempts() {
    let registry = fleet();
    let mut req = request(9);
    req.model_class = 99;
    let d = route(&req, &registry, ROUTER, 10_000, script(vec![]));
    assert!(d.attempts.is_empty());
    assert_eq!(d.resolution, Resolution::Exhausted);
    assert_eq!(d.final_provider, Address::ZERO);
    assert!(check(&d, &registry).is_empty());
}

#[test]
fn check_names_each_rule() {
    let timeouts = vec![(OutcomeClass::Timeout, 100); 8];
    // Wrong provider at attempt 0.
    let (registry, mut d) = routed(10, vec![]);
    let other = registry
        .tier(1, 0)
        .find(|e| e.provider != d.attempts[0].provider && e.reliability_ppm > 900_000)
        .unwrap()
        .provider;
    d.attempts[0].provider = other;
    d.final_provider = other;
    assert!(
        rules(&check(&d, &registry)).contains(&"WrongProvider".into()),
        "{:?}",
        check(&d, &registry)
    );

    // Tier skipped: first attempt in tier 1.
    let (registry, mut d) = routed(11, vec![]);
    d.attempts[0] = Attempt { provider: provider(4), tier: 1, ..d.attempts[0].clone() };
    d.final_provider = provider(4);
    d.final_tier = 1;
    assert!(rules(&check(&d, &registry)).contains(&"TierSkipped".into()));

    // Unjustified fallback: first attempt in the fallback tier.
    let (registry, mut d) = routed(12, vec![]);
    d.attempts[0] = Attempt { provider: provider(6), tier: 2, ..d.attempts[0].clone() };
    d.final_provider = provider(6);
    d.final_tier = 2;
    d.trigger = FallbackTrigger::TiersExhausted;
    let r = rules(&check(&d, &registry));
    assert!(
        r.contains(&"UnjustifiedFallback".into()) && r.contains(&"WrongTrigger".into()),
        "{r:?}"
    );

    // Retry budget exceeded: a 4th primary attempt instead of the fallback.
    let (registry, mut d) = routed(13, timeouts.clone());
    let fallback = d.attempts.pop().unwrap();
    let spare = registry.tier(1, 1).find(|e| !d.attempts.iter().any(|a| a.provider == e.provider));
    let spare = spare.map_or(provider(4), |e| e.provider);
    d.attempts.push(Attempt { provider: spare, tier: 1, ..fallback });
    d.final_provider = spare;
    d.final_tier = 1;
    d.trigger = FallbackTrigger::None;
    assert!(
        rules(&check(&d, &registry)).contains(&"RetryBudgetExceeded".into()),
        "{:?}",
        check(&d, &registry)
    );

    // Non-retryable outcome retried.
    let (registry, mut d) = routed(14, timeouts.clone());
    d.attempts[0].outcome = OutcomeClass::RejectedTerminal;
    let r = rules(&check(&d, &registry));
    assert!(r.contains(&"NonRetryableRetried".into()), "{r:?}");

    // Attempt after the request was served (a duplicate generation).
    let (registry, mut d) = routed(15, timeouts.clone());
    d.attempts[0].outcome = OutcomeClass::Success;
    assert!(rules(&check(&d, &registry)).contains(&"AttemptAfterServed".into()));

    // Attempt after the deadline.
    let (registry, mut d) = routed(16, timeouts.clone());
    d.attempts[0].latency_ms = 10_000;
    assert!(rules(&check(&d, &registry)).contains(&"AttemptAfterDeadline".into()));

    // Attempt after a failed fallback.
    let (registry, mut d) = routed(17, timeouts.clone());
    let last = d.attempts.last().unwrap().clone();
    let other = if last.provider == provider(6) { provider(7) } else { provider(6) };
    d.attempts.push(Attempt { provider: other, ..last });
    d.final_provider = other;
    d.retry_count += 1;
    assert!(rules(&check(&d, &registry)).contains(&"AttemptAfterFallback".into()));

    // Ineligible (already tried, unknown, wrong model class, beyond fallback) and tier mismatch.
    let (registry, mut d) = routed(18, timeouts.clone());
    d.attempts[1].provider = d.attempts[0].provider;
    let v = check(&d, &registry);
    assert!(
        v.iter().any(|v| matches!(
            v,
            Violation::IneligibleProvider { reason: Ineligibility::AlreadyTried, .. }
        )),
        "{v:?}"
    );
    let (registry, mut d) = routed(19, vec![]);
    d.attempts[0].provider = provider(200);
    d.final_provider = provider(200);
    assert!(rules(&check(&d, &registry)).contains(&"UnknownProvider".into()));
    let (registry, mut d) = routed(20, vec![]);
    d.attempts[0] = Attempt { provider: provider(5), tier: 1, ..d.attempts[0].clone() };
    let v = check(&d, &registry);
    assert!(
        v.iter().any(|v| matches!(
            v,
            Violation::IneligibleProvider { reason: Ineligibility::ModelClass, .. }
        )),
        "{v:?}"
    );
    let (registry, mut d) = routed(21, vec![]);
    d.attempts[0].tier = 1;
    assert!(rules(&check(&d, &registry)).contains(&"TierMismatch".into()));

    // Premature stop, wrong resolution, summary fields, epoch, tokens.
    let (registry, mut d) = routed(22, timeouts.clone());
    d.attempts.truncate(1);
    assert!(rules(&check(&d, &registry)).contains(&"PrematureStop".into()));
    let (registry, mut d) = routed(23, vec![]);
    d.resolution = Resolution::Exhausted;
    d.retry_count = 4;
    d.registry_epoch = 9;
    d.budget_tokens = 10_001;
    let r = rules(&check(&d, &registry));
    for rule in
        ["WrongResolution", "SummaryMismatch", "WrongRegistryEpoch", "BudgetTokensOutOfRange"]
    {
        assert!(r.contains(&rule.to_string()), "{rule} missing from {r:?}");
    }

    // Fleet budget exceeded: a primary retry while throttled.
    let registry = fleet();
    let mut d = route(&request(24), &registry, ROUTER, 5_900, script(timeouts.clone()));
    let fb = d.attempts.pop().unwrap();
    let spare = registry
        .tier(1, 0)
        .find(|e| e.provider != d.attempts[0].provider && e.reliability_ppm >= 500_000)
        .unwrap()
        .provider;
    d.attempts.push(Attempt { provider: spare, tier: 0, ..fb });
    d.final_provider = spare;
    d.final_tier = 0;
    d.trigger = FallbackTrigger::None;
    assert!(
        rules(&check(&d, &registry)).contains(&"FleetBudgetExceeded".into()),
        "{:?}",
        check(&d, &registry)
    );
}

#[test]
fn replay_chains_tokens_flags_duplicates_and_signatures() {
    let registry = fleet();
    let signer = PrivateKeySigner::random();
    let router = signer.address();
    let domain = routing_primitives::domain(901, Address::with_last_byte(0xcc));
    let mut tokens = registry.router_tokens(&router);
    let mut batch = Vec::new();
    for id in 1..=20u8 {
        let outcomes = vec![(OutcomeClass::Timeout, 50); usize::from(id % 4)];
        let d = route(&request(id), &registry, router, tokens, script(outcomes));
        tokens = tokens_after(&d, &registry);
        batch.push(d.sign(&signer, &domain).unwrap());
    }
    let clean = replay_signed(&batch, &registry, &domain);
    assert!(clean.is_clean(), "{:?}", clean.findings);
    assert_eq!(clean.next_registry.epoch(), 2);
    assert_eq!(clean.next_registry.router_tokens(&router), tokens);
    assert_eq!(clean.registry_root, registry.root());
    assert_eq!(clean.next_registry_root, clean.next_registry.root());

    let mut bad = batch.clone();
    bad[5].decision.budget_tokens += 1; // breaks the chain (and the signature)
    bad.push(batch[3].clone()); // duplicate request id
    let r = replay_signed(&bad, &registry, &domain);
    let found: Vec<_> = r.findings.iter().map(|f| (f.index, rule_name(&f.violation))).collect();
    assert!(found.contains(&(5, "BudgetChainBroken".into())), "{found:?}");
    assert!(found.contains(&(5, "BadSignature".into())), "{found:?}");
    assert!(found.contains(&(20, "DuplicateRequest".into())), "{found:?}");
    assert_ne!(r.decisions_root, clean.decisions_root);
}

#[test]
fn next_registry_moves_reliability_by_ewma_and_cools_down() {
    let registry = fleet();
    let mut params = registry.params().clone();
    params.cooldown_failures = 3;
    let registry = Registry::new(1, params, registry.providers().to_vec(), vec![]).unwrap();
    let mut decisions = Vec::new();
    let mut tokens = 10_000;
    for id in 30..36u8 {
        let d = route(
            &request(id),
            &registry,
            ROUTER,
            tokens,
            script(vec![(OutcomeClass::Timeout, 100); 8]),
        );
        tokens = tokens_after(&d, &registry);
        decisions.push(d);
    }
    let next = registry.next(&decisions);
    assert_eq!(next, registry.next(&decisions), "next() is a pure function");
    assert_eq!(next.epoch(), 2);
    let failures =
        |p: Address| decisions.iter().flat_map(|d| &d.attempts).filter(|a| a.provider == p).count();
    for before in registry.providers() {
        let after = next.provider(&before.provider).unwrap();
        let n = failures(before.provider);
        if n == 0 {
            assert_eq!(after, before);
        } else {
            assert!(after.reliability_ppm < before.reliability_ppm);
            assert_eq!(after.cooldown_until_ms > 0, n >= 3, "{n} failures");
        }
    }
    assert_eq!(next.router_tokens(&ROUTER), tokens);
    assert_ne!(next.root(), registry.root());
}

#[test]
fn registry_rejects_bad_snapshots() {
    let base = fleet();
    let mut dup = base.providers().to_vec();
    dup.push(dup[0].clone());
    assert!(matches!(
        Registry::new(1, PolicyParams::default(), dup, vec![]),
        Err(RegistryError::DuplicateProvider(_))
    ));
    let params = PolicyParams { max_attempts: 0, ..PolicyParams::default() };
    assert_eq!(
        Registry::new(1, params, vec![], vec![]).unwrap_err(),
        RegistryError::InvalidParam("max_attempts")
    );
    let r = vec![RouterBudget { router: ROUTER, tokens: 10_001 }];
    assert!(matches!(
        Registry::new(1, PolicyParams::default(), vec![], r),
        Err(RegistryError::TokensOutOfRange { .. })
    ));
    let json = serde_json::to_string(&base).unwrap();
    assert_eq!(serde_json::from_str::<Registry>(&json).unwrap(), base);
}

// ---- properties over random registries, requests and outcomes ----

fn case() -> impl Strategy<Value = (Registry, Decision)> {
    (registry(), routable_request(), outcomes(), 0u32..=20_000).prop_map(
        |(registry, req, outcomes, tokens)| {
            let d = route(&req, &registry, ROUTER, tokens, script(outcomes));
            (registry, d)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn route_is_deterministic(registry in registry(), req in routable_request(), outs in outcomes(), tokens in 0u32..=20_000) {
        let a = route(&req, &registry, ROUTER, tokens, script(outs.clone()));
        let b = route(&req, &registry.clone(), ROUTER, tokens, script(outs));
        prop_assert_eq!(&a, &b);
        prop_assert!(a.attempts.len() <= MAX_ATTEMPTS);
        prop_assert_eq!(a.leaf_hash(), b.leaf_hash());
    }

    #[test]
    fn check_accepts_everything_route_produces((registry, d) in case()) {
        prop_assert_eq!(check(&d, &registry), vec![]);
        prop_assert_eq!(reroute(&d, &registry), d);
    }

    /// A mutated decision passes `check` exactly when it is itself what the policy produces for
    /// its (mutated) request, router, tokens and outcomes: every mutation that changes what the
    /// policy would do is caught.
    #[test]
    fn check_catches_every_meaningful_mutation(
        (registry, d) in case(),
        field in 0u8..19,
        pick in any::<prop::sample::Index>(),
        value in any::<u64>(),
    ) {
        let m = mutate(&d, &registry, field, pick, value);
        let violations = check(&m, &registry);
        let policy_made_it = reroute(&m, &registry) == m;
        prop_assert_eq!(violations.is_empty(), policy_made_it, "field {} -> {:?}\n{:?}", field, violations, m);
    }

    #[test]
    fn replay_of_routed_batches_is_clean_and_deterministic(
        registry in registry(),
        reqs in prop::collection::vec((routable_request(), outcomes()), 1..30),
    ) {
        let mut tokens = registry.router_tokens(&ROUTER);
        let mut seen = std::collections::HashSet::new();
        let mut batch = Vec::new();
        for (req, outs) in reqs {
            if !seen.insert(req.id) { continue; }
            let d = route(&req, &registry, ROUTER, tokens, script(outs));
            tokens = tokens_after(&d, &registry);
            batch.push(d);
        }
        let r = replay(&batch, &registry);
        prop_assert!(r.is_clean(), "{:?}", r.findings);
        prop_assert_eq!(&r, &replay(&batch, &registry));
        for p in r.next_registry.providers() {
            prop_assert!(p.reliability_ppm <= PPM);
        }
    }
}

// ---- the on-chain check's Rust twin ----

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    /// With every provider entry as evidence, the on-chain check convicts exactly the decisions
    /// `check` rejects.
    #[test]
    fn evidence_of_the_whole_registry_is_exact(
        (registry, d) in case(),
        field in 0u8..22,
        pick in any::<prop::sample::Index>(),
        value in any::<u64>(),
    ) {
        let m = mutate(&d, &registry, field, pick, value);
        let evidence = registry.full_evidence();
        prop_assert!(evidence.verify(registry.root()));
        let verdict = evidence.check(&m);
        let violations = check(&m, &registry);
        prop_assert_eq!(verdict.is_some(), !violations.is_empty(), "{:?} vs {:?}\n{:?}", verdict, violations, m);
    }

    /// With any subset of the entries, the on-chain check never convicts a decision the policy
    /// made, and its evidence always verifies against the registry root.
    #[test]
    fn partial_evidence_never_convicts_a_valid_decision(
        (registry, d) in case(),
        field in 0u8..22,
        pick in any::<prop::sample::Index>(),
        value in any::<u64>(),
        mask in any::<u32>(),
    ) {
        let m = mutate(&d, &registry, field, pick, value);
        let evidence = registry.evidence(&providers_by_mask(&registry, mask)).unwrap();
        prop_assert!(evidence.verify(registry.root()));
        if let Some(verdict) = evidence.check(&m) {
            prop_assert!(!check(&m, &registry).is_empty(), "{:?} convicts a valid decision {:?}", verdict, m);
        }
    }
}

#[test]
fn evidence_reaches_every_offence_and_tampering_breaks_the_proof() {
    use proptest::{strategy::ValueTree, test_runner::TestRunner};
    let mut runner = TestRunner::deterministic();
    let strategy = (case(), 0u8..22, any::<prop::sample::Index>(), any::<u64>(), any::<u32>());
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20_000 {
        let ((registry, d), field, pick, value, mask) =
            strategy.new_tree(&mut runner).unwrap().current();
        let m = mutate(&d, &registry, field, pick, value);
        let evidence = if mask % 2 == 0 {
            registry.full_evidence()
        } else {
            registry.evidence(&providers_by_mask(&registry, mask >> 1)).unwrap()
        };
        if let Some(v) = evidence.check(&m) {
            seen.insert(v.offence);
        }
    }
    let missing: Vec<_> = Offence::ALL.iter().filter(|o| !seen.contains(o)).collect();
    assert!(missing.is_empty(), "offences never reached: {missing:?}");
    for o in Offence::ALL {
        assert_eq!(Offence::from_code(o.code()), Some(*o));
    }
    assert_eq!(Offence::from_code(0), None);
    assert_eq!(Offence::from_code(20), None);

    // A tampered entry or parameter record no longer verifies.
    let registry = fleet();
    let mut evidence = registry.evidence(&[provider(1), provider(6)]).unwrap();
    assert!(evidence.verify(registry.root()));
    evidence.entries[0].reliability_ppm += 1;
    assert!(!evidence.verify(registry.root()));
    let mut evidence = registry.evidence(&[provider(1)]).unwrap();
    evidence.params.providerCount -= 1;
    assert!(!evidence.verify(registry.root()));
    assert!(matches!(
        registry.evidence(&[provider(99)]),
        Err(EvidenceError::UnknownProvider(p)) if p == provider(99)
    ));
}

#[test]
fn a_lazy_fallback_is_proven_by_one_eligible_primary_entry() {
    let registry = fleet();
    let req = request(3);
    // The lazy router skips straight to the fallback tier, claiming nothing was eligible.
    let lazy = Decision {
        request: req.clone(),
        attempts: vec![Attempt {
            provider: provider(6),
            tier: 2,
            outcome: OutcomeClass::Success,
            latency_ms: 80,
        }],
        final_provider: provider(6),
        final_tier: 2,
        retry_count: 0,
        trigger: FallbackTrigger::NoPrimaryProvider,
        resolution: Resolution::Served,
        registry_epoch: 1,
        budget_tokens: registry.router_tokens(&ROUTER),
        router: ROUTER,
    };
    assert!(rules(&check(&lazy, &registry)).contains(&"UnjustifiedFallback".to_string()));
    // Its own entry alone proves nothing ...
    assert_eq!(registry.evidence(&[provider(6)]).unwrap().check(&lazy), None);
    // ... one eligible tier-0 provider proves the offence.
    let v = registry.evidence(&[provider(6), provider(2)]).unwrap().check(&lazy).unwrap();
    assert_eq!(v, Verdict { offence: Offence::UnjustifiedFallback, attempt: 0 });
    // A provider of another model class proves nothing.
    assert_eq!(registry.evidence(&[provider(6), provider(5)]).unwrap().check(&lazy), None);
    // An unregistered provider is provable only with the whole registry.
    let mut rogue = lazy.clone();
    rogue.attempts[0].provider = provider(0x42);
    rogue.attempts[0].tier = 0;
    rogue.final_provider = provider(0x42);
    rogue.final_tier = 0;
    rogue.trigger = FallbackTrigger::None;
    assert_eq!(registry.evidence(&[]).unwrap().check(&rogue), None);
    assert_eq!(
        registry.full_evidence().check(&rogue),
        Some(Verdict { offence: Offence::UnknownProvider, attempt: 0 })
    );
}

#[test]
fn replay_checks_each_decision_against_the_registry_of_its_epoch() {
    // Registry 1, and registry 2 = next(registry 1, batch 1): a provider of tier 0 fails a lot in
    // batch 1, so registry 2's reliabilities differ.
    let r1 = fleet();
    let failing: Vec<Decision> = (0..60u8)
        .map(|i| {
            route(&request(i), &r1, ROUTER, 10_000, script(vec![(OutcomeClass::Timeout, 50); 2]))
        })
        .collect();
    let r2 = r1.next(&failing);
    assert_ne!(r2.root(), r1.root());
    // Batch 2 holds a decision routed against registry 1 (it took a while) and one against 2.
    let slow = route(&request(100), &r1, ROUTER, r2.router_tokens(&ROUTER), script(vec![]));
    let fresh = route(&request(101), &r2, ROUTER, tokens_after(&slow, &r1), script(vec![]));
    let batch = vec![slow.clone(), fresh.clone()];
    let lookup = |e: u64| match e {
        1 => Some(&r1),
        2 => Some(&r2),
        _ => None,
    };
    let replayed = replay_epochs(&batch, &r2, lookup);
    assert!(replayed.is_clean(), "{:?}", replayed.findings);
    assert_eq!(replayed.next_registry, r2.next(&batch));
    // Replaying against registry 2 alone cannot check the slow decision.
    let alone = replay(&batch, &r2);
    assert_eq!(
        alone.findings.iter().map(|f| (f.index, rule_name(&f.violation))).collect::<Vec<_>>(),
        vec![(0, "UnknownRegistryEpoch".to_string())]
    );
    // A decision naming an epoch newer than its batch is wrong.
    let mut future = fresh.clone();
    future.registry_epoch = 3;
    let replayed = replay_epochs(&[slow, future], &r2, lookup);
    assert!(rules(&replayed.findings.iter().map(|f| f.violation.clone()).collect::<Vec<_>>())
        .contains(&"WrongRegistryEpoch".to_string()));
}
