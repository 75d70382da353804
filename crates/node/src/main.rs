//! `routing-node`: the routing settlement node.

use clap::{Args, Parser, Subcommand};
use routing_contracts::devnet;
use routing_node::{config::Config, dev, init_logging, LogFormat};
use std::{net::SocketAddr, path::PathBuf};

/// The routing settlement node: sequences routers' signed routing decisions into batches,
/// commits them to the settlement contract on an OP Stack L2, follows the chain, and serves
/// proofs and replays over the `routing_` JSON-RPC namespace.
///
/// Start a complete local L2 with one command:   routing-node dev
/// Attach to an execution client:                routing-node run --el-rpc ws://127.0.0.1:8546 --config node.toml
/// Write a configuration file to edit:           routing-node config > node.toml
///
/// Logs go to stderr (RUST_LOG filters them, e.g. RUST_LOG=routing=debug); Prometheus metrics are
/// served on a separate port (/metrics). Ctrl-C (or SIGTERM) shuts down cleanly.
#[derive(Debug, Parser)]
#[command(name = "routing-node", version, verbatim_doc_comment)]
struct Cli {
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a local L2 (anvil in OP Stack mode, the contracts pre-deployed, funded dev
    /// accounts) with the node on top. Stops the chain on exit; nothing is kept.
    Dev(DevArgs),
    /// Attach to an existing OP Stack execution client (op-reth, op-geth, anvil).
    Run(RunArgs),
    /// Print a complete configuration file with every default (edit it, pass it to `run`).
    Config,
}

#[derive(Debug, Args)]
struct NodeArgs {
    /// The routing_ JSON-RPC listen address (HTTP and WebSocket).
    #[arg(long)]
    rpc_addr: Option<SocketAddr>,
    /// The Prometheus metrics listen address.
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// Seal a batch at this many pending decisions.
    #[arg(long)]
    max_decisions: Option<usize>,
    /// Seal pending decisions once the oldest has waited this many milliseconds.
    #[arg(long)]
    max_age_ms: Option<u64>,
}

impl NodeArgs {
    fn apply(&self, config: &mut Config) {
        if let Some(a) = self.rpc_addr {
            config.rpc.addr = a;
        }
        if let Some(a) = self.metrics_addr {
            config.metrics.addr = Some(a);
        }
        if let Some(n) = self.max_decisions {
            config.batcher.max_decisions = n;
        }
        if let Some(ms) = self.max_age_ms {
            config.batcher.max_age_ms = ms;
        }
    }
}

#[derive(Debug, Args)]
struct DevArgs {
    /// Where anvil listens (HTTP and WebSocket).
    #[arg(long, default_value = "127.0.0.1:8545")]
    el_addr: SocketAddr,
    /// Seconds between L2 blocks (0: a block per transaction).
    #[arg(long, default_value_t = 1)]
    block_time: u64,
    /// The anvil binary (default: $ANVIL_BIN, the project's .tools/bin/anvil, or anvil on PATH).
    #[arg(long)]
    anvil: Option<PathBuf>,
    /// Folder for the node's store and anvil's log (default: a fresh temporary folder, removed
    /// on exit).
    #[arg(long)]
    datadir: Option<PathBuf>,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The execution client's JSON-RPC URL (ws:// subscribes to new heads, http:// polls).
    #[arg(long)]
    el_rpc: Option<String>,
    /// A configuration file (see `routing-node config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the node keeps its store.
    #[arg(long)]
    datadir: Option<PathBuf>,
    /// A file with the sequencer's private key (0x hex); or set ROUTING_SEQUENCER_KEY.
    #[arg(long)]
    sequencer_key_file: Option<PathBuf>,
    #[command(flatten)]
    node: NodeArgs,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Config => {
            print!("{}", Config::default().to_toml());
            Ok(())
        }
        Command::Run(args) => run(args).await,
        Command::Dev(args) => dev_mode(args).await,
    }
}

async fn run(args: RunArgs) -> eyre::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(url) = args.el_rpc {
        config.chain.el_rpc = url;
    }
    if let Some(dir) = args.datadir {
        config.datadir = dir;
    }
    if let Some(file) = args.sequencer_key_file {
        config.sequencer.key_file = Some(file);
    }
    args.node.apply(&mut config);
    config.validate()?;
    let node = routing_node::start(config).await?;
    routing_node::shutdown_signal().await;
    node.shutdown().await;
    Ok(())
}

async fn dev_mode(args: DevArgs) -> eyre::Result<()> {
    let (dir, temporary) = match args.datadir {
        Some(dir) => (dir, false),
        None => (std::env::temp_dir().join(format!("routing-dev-{}", std::process::id())), true),
    };
    if dir.join("node.redb").exists() {
        // The dev chain starts from genesis every time: an old store would describe another chain.
        std::fs::remove_file(dir.join("node.redb"))?;
    }
    let anvil = args.anvil.unwrap_or_else(dev::find_anvil);
    let mut chain = dev::DevChain::start(&dev::DevChainOptions {
        anvil,
        addr: args.el_addr,
        block_time: args.block_time,
        dir: dir.join("chain"),
    })?;
    let mut config = Config { datadir: dir.clone(), ..Config::default() };
    config.chain.el_rpc = chain.ws_url();
    config.sequencer.key = Some(devnet::DEV_KEYS[devnet::OWNER_INDEX]);
    args.node.apply(&mut config);
    if let Err(e) =
        routing_node::wait_for_chain(&chain.http_url(), std::time::Duration::from_secs(30)).await
    {
        return Err(e.wrap_err(format!("anvil did not start; see {}", chain.log().display())));
    }
    let node = routing_node::start(config.clone()).await?;
    print_banner(&chain, &node, &config);
    tokio::select! {
        () = routing_node::shutdown_signal() => {}
        () = async {
            loop {
                if chain.exited().is_some() { break; }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        } => tracing::error!(target: "routing::dev", log = %chain.log().display(), "anvil exited"),
    }
    node.shutdown().await;
    chain.stop();
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    tracing::info!(target: "routing::dev", "anvil stopped");
    Ok(())
}

fn print_banner(chain: &dev::DevChain, node: &routing_node::RunningNode, config: &Config) {
    let mut out = String::new();
    out += "\nrouting-node dev: a local OP Stack L2 (anvil --network optimism) with routing settlement\n\n";
    out += &format!("  L2 JSON-RPC        {}  ({})\n", chain.http_url(), chain.ws_url());
    out += &format!("  routing_ JSON-RPC  {}  ({})\n", node.rpc_url(), node.ws_url());
    if let Some(m) = config.metrics.addr {
        out += &format!("  metrics            http://{m}/metrics\n");
    }
    out += &format!("  chain id           {}\n", devnet::CHAIN_ID);
    out += &format!("  RoutingStakeToken  {}\n", devnet::STAKE_TOKEN);
    out += &format!("  Staking            {}\n", devnet::STAKING);
    out += &format!("  RoutingSettlement  {}\n", devnet::SETTLEMENT);
    out += &format!("  datadir            {}\n\n", config.datadir.display());
    out += "  Dev accounts (10,000 ETH and 1,000,000 RSTAKE each; account 0 is the sequencer and owner):\n";
    for (i, key) in devnet::DEV_KEYS.iter().enumerate() {
        out += &format!("  ({i}) {}  {key}\n", devnet::dev_address(i));
    }
    out +=
        "\n  A router stakes at least 1,000 RSTAKE before submitting decisions, e.g. with cast:\n";
    out += &format!(
        "    cast send {} 'approve(address,uint256)' {} 1000000000000000000000 --rpc-url {} --private-key <key>\n",
        devnet::STAKE_TOKEN,
        devnet::STAKING,
        chain.http_url()
    );
    out += &format!(
        "    cast send {} 'stake(uint256)' 1000000000000000000000 --rpc-url {} --private-key <key>\n\n",
        devnet::STAKING,
        chain.http_url()
    );
    out += "  Ctrl-C stops the node and the chain.\n";
    eprintln!("{out}");
}
