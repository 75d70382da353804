//! End-to-end properties of the simulation, on 2,000 requests.

use routing_policy::replay;
use routing_sim::{
    experiment::{self, Config, Router},
    fleet::{Fleet, LoadCurve, FLAKY_PROVIDER},
    naive::{self, NaiveConfig},
    report, sequenced,
    workload::{run_ms, Workload},
};

const N: usize = 2_000;

fn config() -> Config {
    Config { requests: N, fleet_seed: 42, timing_seeds: vec![1, 2], budgets: vec![3, 7] }
}

fn fleet() -> Fleet {
    Fleet::new(42, LoadCurve::for_run(run_ms(N)))
}

#[test]
fn same_flags_give_identical_output() {
    let a = experiment::run(&config()).unwrap();
    let b = experiment::run(&config()).unwrap();
    assert_eq!(a, b);
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    assert_eq!(report::render_text(&a), report::render_text(&b));
}

#[test]
fn timing_seed_moves_arrivals_but_not_requests() {
    let fleet = fleet();
    let w1 = Workload::generate(N, 42, 1, fleet.curve());
    let w1_again = Workload::generate(N, 42, 1, fleet.curve());
    let w2 = Workload::generate(N, 42, 2, fleet.curve());
    assert_eq!(w1, w1_again);
    let ids = |w: &Workload| w.requests.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&w1), ids(&w2), "the same requests exist under both timing seeds");
    let moved = w1.requests.iter().zip(&w2.requests).filter(|(a, b)| a.submit_ms != b.submit_ms);
    assert!(moved.count() > N * 9 / 10, "the timing seed moves nearly every arrival");
    assert_ne!(w1.arrival_order(), w2.arrival_order(), "and changes the interleaving");
    // Deadline windows belong to the request, not to the timing.
    for (a, b) in w1.requests.iter().zip(&w2.requests) {
        assert_eq!(a.deadline_ms - a.submit_ms, b.deadline_ms - b.submit_ms);
    }
    // Another fleet seed is another set of requests.
    let other = Workload::generate(N, 43, 1, fleet.curve());
    assert_ne!(ids(&w1), ids(&other));
}

#[test]
fn every_policy_decision_passes_check_and_replays_clean() {
    let fleet = fleet();
    for timing in [1, 2] {
        let w = Workload::generate(N, 42, timing, fleet.curve());
        for budget in [3, 7] {
            let run = sequenced::run(&fleet, &w, budget);
            assert!(run.violations.is_empty(), "{:?}", run.violations.first());
            assert_eq!(run.decisions.len(), N);
            for (b, batch) in run.decisions.chunks(sequenced::BATCH_SIZE).enumerate() {
                let registry = &run.registries[b];
                let replayed = replay(batch, registry);
                assert!(replayed.is_clean(), "batch {b}: {:?}", replayed.findings.first());
                if let Some(next) = run.registries.get(b + 1) {
                    assert_eq!(&replayed.next_registry, next);
                }
            }
        }
    }
}

#[test]
fn naive_reroutes_mid_flight_and_the_policy_never_does() {
    let report = experiment::run(&config()).unwrap();
    for r in &report.runs {
        match r.router {
            Router::Naive => {
                assert!(r.metrics.rerouted > 0.0, "naive budget {} re-routes", r.budget);
                assert!(r.metrics.rerouted_peak > r.metrics.rerouted, "mostly at peak load");
                assert!(r.metrics.duplicate_generations > 0);
            }
            Router::Sequenced => {
                assert_eq!(r.metrics.rerouted, 0.0);
                assert_eq!(r.metrics.abandoned_attempts, 0);
                assert_eq!(r.metrics.duplicate_generations, 0);
                assert_eq!(r.check_violations, 0);
            }
        }
    }
}

#[test]
fn budget_seven_falls_back_less_than_budget_three() {
    let report = experiment::run(&config()).unwrap();
    for router in Router::ALL {
        for t in [1, 2] {
            let b3 = &report.run(router, 3, t).unwrap().metrics;
            let b7 = &report.run(router, 7, t).unwrap().metrics;
            assert!(b3.fell_back > 0.0, "{router:?}: budget 3 falls back at all");
            assert!(b7.fell_back < b3.fell_back, "{router:?} timing {t}: {b7:?} vs {b3:?}");
            assert!(b7.mean_attempts >= b3.mean_attempts);
        }
    }
}

#[test]
fn effort_varies_less_under_the_policy() {
    let report = experiment::run(&config()).unwrap();
    for budget in [3, 7] {
        let v = |router| {
            &report
                .effort_variance
                .iter()
                .find(|v| v.router == router && v.budget == budget)
                .unwrap()
                .variance
        };
        let (naive, policy) = (v(Router::Naive), v(Router::Sequenced));
        assert!(policy.first_provider_differs < naive.first_provider_differs);
        assert!(policy.path_differs < naive.path_differs);
    }
}

#[test]
fn the_flaky_provider_fails_mostly_at_peaks() {
    // The full-size fleet (building it is cheap; only routing 10,000 requests would not be).
    let fleet = Fleet::new(42, LoadCurve::for_run(run_ms(10_000)));
    let s = fleet.intrinsic_stats(FLAKY_PROVIDER);
    assert!(s.reliability > 0.85 && s.reliability < 0.99, "{s:?}");
    assert!(s.peak_failure_rate > 5.0 * s.off_peak_failure_rate, "{s:?}");
    assert!(s.peak_failure_share > 3.0 * s.peak_time_share, "{s:?}");
}

#[test]
fn the_fleet_is_the_same_world_for_every_router() {
    let a = fleet();
    let b = fleet();
    for p in 0..a.len() {
        assert_eq!(a.health_slots(p), b.health_slots(p));
    }
    let w = Workload::generate(N, 42, 1, a.curve());
    let r = &w.requests[17];
    assert_eq!(a.attempt(0, &r.id, 0, r.submit_ms), b.attempt(0, &r.id, 0, r.submit_ms));
    // Naive runs are reproducible too.
    let cfg = NaiveConfig::with_budget(3);
    assert_eq!(naive::run(&a, &w, &cfg), naive::run(&b, &w, &cfg));
}

#[test]
fn bad_configurations_are_refused() {
    let mut c = config();
    c.budgets = vec![0];
    assert!(experiment::run(&c).is_err());
    c.budgets = vec![16];
    assert!(experiment::run(&c).is_err());
    let mut c = config();
    c.timing_seeds.clear();
    assert!(experiment::run(&c).is_err());
    let mut c = config();
    c.requests = 0;
    assert!(experiment::run(&c).is_err());
}
