//! `routing-gas`: measures the L2 gas of staking, committing batches, challenges and one
//! transaction per decision on anvil in OP Stack mode with the devnet genesis, and prints a table.

use clap::Parser;
use routing_contracts::{anvil::Anvil, artifacts, gas};
use std::path::PathBuf;

/// Measure the settlement path's L2 gas from transaction receipts.
///
/// Starts anvil (`--network optimism`, the devnet genesis) on a free loopback port, stakes,
/// commits a 1,200-decision batch, files misrouting and duplicate challenges, posts decisions one
/// per transaction for comparison, prints the gas of each and stops anvil.
#[derive(Debug, Parser)]
#[command(name = "routing-gas", version)]
struct Cli {
    /// The genesis to start anvil with.
    #[arg(long, default_value = "genesis/genesis.json")]
    genesis: PathBuf,
    /// Forge's output folder (for the per-decision baseline contract).
    #[arg(long, default_value_os_t = artifacts::default_out_dir())]
    artifacts: PathBuf,
}

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    let baseline = artifacts::Artifact::load(
        &cli.artifacts,
        "PerDecisionBaseline.sol",
        "PerDecisionBaseline",
    )?;
    let anvil = Anvil::spawn(gas::anvil_args(&cli.genesis))?;
    let report = gas::measure(&anvil, &baseline)?;
    print!("{}", report.table());
    Ok(())
}
