//! The settlement path's L2 gas on anvil in OP Stack mode, against the goals: a challenge costs at
//! most 250,000 gas, and a decision settled in a batch of 1,200 (payload included) at least ten
//! times less than one transaction per decision. Gas is deterministic (fixed seeds), so these
//! are exact checks, not timings; `cargo run -p routing-contracts --bin routing-gas` prints the
//! same table.

use routing_contracts::{
    anvil::Anvil,
    artifacts::{contracts_dir, default_out_dir, Artifact},
    gas,
};

#[test]
fn settlement_gas_meets_the_goals() {
    let baseline =
        Artifact::load(&default_out_dir(), "PerDecisionBaseline.sol", "PerDecisionBaseline")
            .unwrap();
    let anvil =
        Anvil::spawn(gas::anvil_args(&contracts_dir().join("../genesis/genesis.json"))).unwrap();
    let report = gas::measure(&anvil, &baseline).unwrap();
    println!("{}", report.table());
    for challenge in
        [gas::CHALLENGE_MISROUTING, gas::CHALLENGE_MISROUTING_FULL, gas::CHALLENGE_DUPLICATE]
    {
        let g = report.row(challenge).unwrap().gas;
        assert!(g <= 250_000, "{challenge}: {g} gas > 250,000");
    }
    // The node sends commits with a gas limit computed from the calldata (estimating one
    // reverts while the batch ahead is still in flight): enough, and not wastefully more.
    assert_eq!(report.commit_limits.len(), 2);
    for (operation, limit) in &report.commit_limits {
        let used = report.row(operation).unwrap().gas;
        assert!(*limit >= used, "{operation}: limit {limit} < gas used {used}");
        assert!(*limit * 10 <= used * 13, "{operation}: limit {limit} > 1.3 x gas used {used}");
    }
    let batch = report.batch_per_decision();
    let single = report.row(gas::BASELINE_COMMIT).unwrap().per_decision().unwrap();
    assert!(
        single >= 10.0 * batch,
        "one tx per decision {single:.0} gas vs {batch:.0} in a batch: under 10x"
    );
}
