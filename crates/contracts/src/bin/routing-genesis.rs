//! `routing-genesis`: writes the devnet's OP Stack L2 genesis (`genesis/genesis.json`) and its
//! deployment record (`genesis/deployment.json`) from the compiled contracts, or checks that the
//! checked-in files are current.

use clap::Parser;
use eyre::{bail, WrapErr};
use routing_contracts::{artifacts, devnet::Params, genesis};
use std::path::PathBuf;

/// Build the local L2 genesis with the staking and settlement contracts pre-deployed.
///
/// Reads forge's artifacts (build them with `scripts/test.sh`, or `cd contracts &&
/// ../.tools/bin/forge build`), runs the constructors in an in-process EVM and writes
/// `genesis.json` (chain id, OP Stack fork configuration, the contracts at fixed addresses
/// outside the OP predeploy range, ten funded dev accounts) and `deployment.json` (addresses and
/// parameters for tools).
#[derive(Debug, Parser)]
#[command(name = "routing-genesis", version)]
struct Cli {
    /// Folder to write genesis.json and deployment.json into.
    #[arg(long, default_value = "genesis")]
    out: PathBuf,
    /// Forge's output folder with the compiled contracts.
    #[arg(long, default_value_os_t = artifacts::default_out_dir())]
    artifacts: PathBuf,
    /// Do not write: exit 1 if the files in --out differ from what would be written.
    #[arg(long)]
    check: bool,
    /// Seconds a committed batch can be challenged.
    #[arg(long, default_value_t = Params::default().challenge_window)]
    challenge_window: u64,
    /// Seconds between an unstake request and the withdrawal (must exceed the window).
    #[arg(long, default_value_t = Params::default().unstake_delay)]
    unstake_delay: u64,
}

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    let params = Params {
        challenge_window: cli.challenge_window,
        unstake_delay: cli.unstake_delay,
        ..Params::default()
    };
    let contracts = artifacts::Contracts::load(&cli.artifacts)?;
    let (genesis_text, deployment_text) = genesis::render(&contracts, &params)?;
    let files = [("genesis.json", genesis_text), ("deployment.json", deployment_text)];
    if cli.check {
        let mut stale = Vec::new();
        for (name, text) in &files {
            let path = cli.out.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        if !stale.is_empty() {
            bail!("stale: {} (regenerate with `cargo run -p routing-contracts --bin routing-genesis`)", stale.join(", "));
        }
        println!("{} is up to date", cli.out.display());
        return Ok(());
    }
    std::fs::create_dir_all(&cli.out)
        .wrap_err_with(|| format!("creating {}", cli.out.display()))?;
    for (name, text) in &files {
        let path = cli.out.join(name);
        std::fs::write(&path, text).wrap_err_with(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
