//! `routing-load`: submit the demo's inference load to a routing node and wait until it is
//! sequenced. See `routing_audit::load` for what the two routers do.

use alloy_signer_local::PrivateKeySigner;
use clap::Parser;
use routing_audit::load::{fleet_load, Conduct};
use routing_policy::Registry;
use routing_primitives::{domain, rlp};
use routing_rpc_api::{DecisionInput, RoutingApiClient, SubmitResult, U64};
use std::time::{Duration, Instant};

/// Route the simulator's request stream with an honest and a lazy router and submit every
/// signed decision to a routing node.
#[derive(Debug, Parser)]
#[command(name = "routing-load", version)]
struct Cli {
    /// The routing node's RPC URL.
    #[arg(long, default_value = "http://127.0.0.1:8547")]
    node: String,
    /// The honest router's private key (hex).
    #[arg(long)]
    honest_key: String,
    /// The lazy router's private key (hex).
    #[arg(long)]
    lazy_key: String,
    /// Requests in the stream (half to each router).
    #[arg(long, default_value_t = 2_400)]
    requests: usize,
    /// The simulator's fleet seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Decisions per routing_submitDecisions call.
    #[arg(long, default_value_t = 200)]
    per_call: usize,
    /// Seconds to wait for everything to be committed on chain (0: do not wait).
    #[arg(long, default_value_t = 120)]
    wait_secs: u64,
}

fn key(field: &str, hex: &str) -> eyre::Result<PrivateKeySigner> {
    hex.trim().parse().map_err(|e| eyre::eyre!("--{field} is not a private key in hex: {e}"))
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    eyre::ensure!(cli.per_call > 0, "--per-call must be at least 1");
    let honest = key("honest-key", &cli.honest_key)?;
    let lazy = key("lazy-key", &cli.lazy_key)?;
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .max_request_size(64 * 1024 * 1024)
        .request_timeout(Duration::from_secs(120))
        .build(&cli.node)
        .map_err(|e| eyre::eyre!("--node {}: {e}", cli.node))?;
    let status = client.status().await.map_err(|e| eyre::eyre!("--node {}: {e}", cli.node))?;
    let registry = Registry::try_from(client.get_registry(None).await?.registry)?;
    let dom = domain(status.chain_id.to(), status.settlement);
    let load = fleet_load(&registry, cli.requests, cli.seed, &honest, &lazy, &dom);

    let mut admitted = 0usize;
    for chunk in load.chunks(cli.per_call) {
        let inputs =
            chunk.iter().map(|d| DecisionInput::Rlp(rlp::encode(&d.signed).into())).collect();
        for (result, d) in client.submit_decisions(inputs).await?.into_iter().zip(chunk) {
            match result {
                SubmitResult::Receipt(_) => admitted += 1,
                SubmitResult::Error(error) => eyre::bail!(
                    "request {} was refused: {} ({})",
                    d.signed.decision.request.id,
                    error.message(),
                    error.code()
                ),
            }
        }
    }
    let count = |c: Conduct| load.iter().filter(|d| d.conduct == c).count();
    println!("submitted {admitted} decisions from 2 routers (registry epoch {})", registry.epoch());
    println!("  honest router {}: {} decisions", honest.address(), load.len().div_ceil(2));
    println!(
        "  lazy router   {}: {} decisions, {} skipped to fallback at peak load, {} duplicate generation",
        lazy.address(),
        load.len() / 2,
        count(Conduct::SkippedToFallback),
        count(Conduct::DuplicateGeneration)
    );
    println!("  decisions that break a rule: {}", load.iter().filter(|d| d.breaks_rules).count());

    if cli.wait_secs > 0 {
        let deadline = Instant::now() + Duration::from_secs(cli.wait_secs);
        loop {
            let s = client.status().await?;
            if s.pending == U64::ZERO && s.uncommitted_batches == U64::ZERO {
                println!("sequenced: {} batches committed", s.committed_batches);
                break;
            }
            eyre::ensure!(
                Instant::now() < deadline,
                "not sequenced after {} s: {} pending, {} batches not committed",
                cli.wait_secs,
                s.pending,
                s.uncommitted_batches
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}
