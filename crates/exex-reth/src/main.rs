//! `op-reth-routing`: op-reth with the routing execution extension installed.
//!
//! op-reth's own command line (every `op-reth node` flag, `--chain`, `--rollup.*`, `--http.*`, ...)
//! plus `--routing.config <PATH>`, the routing node's configuration file. The `node` command
//! launches `OpNode` exactly as op-reth does and installs the extension with `install_exex`; the
//! other subcommands (`init`, `db`, `stage`, ...) are op-reth's, unchanged.
//!
//! ```sh
//! op-reth-routing node --chain genesis.json --datadir data --authrpc.jwtsecret jwt.hex \
//!     --http --routing.config node.toml
//! ```

use clap::{Args, Parser};
use eyre::WrapErr;
use reth_optimism_cli::{chainspec::OpChainSpecParser, Cli};
use reth_optimism_node::{args::RollupArgs, OpNode};
use routing_exex_reth::{RethSource, RoutingArgs, EXEX_ID};
use tracing::info;

#[global_allocator]
static ALLOC: reth_cli_util::allocator::Allocator = reth_cli_util::allocator::new_allocator();

/// op-reth's rollup arguments and the routing extension's, as the `node` command's extension
/// arguments.
#[derive(Debug, Args)]
struct RollupArgsWithRouting {
    /// op-reth's `--rollup.*` arguments.
    #[command(flatten)]
    rollup: RollupArgs,
    /// `--routing.config`.
    #[command(flatten)]
    routing: RoutingArgs,
}

fn main() {
    reth_cli_util::sigsegv_handler::install();

    if let Err(err) =
        Cli::<OpChainSpecParser, RollupArgsWithRouting>::parse().run(|builder, args| async move {
            // The routing node's side, read before the node starts so a bad configuration fails
            // fast. `routing-node` is issue #4: `Config::load`, `Config::settlement`,
            // `Config::persisted_head` and `launch_with_source` are the interface this binary
            // expects from it (see the README).
            let path = args.routing.config;
            let config = routing_node::Config::load(&path)
                .wrap_err_with(|| format!("loading the routing config {}", path.display()))?;
            let settlement = config.settlement();
            let head = config.persisted_head().wrap_err("reading the routing extension's head")?;
            info!(
                target: "reth::cli",
                config = %path.display(),
                %settlement,
                head = ?head.map(|h| h.number),
                "Launching op-reth with the routing extension"
            );

            let handle = builder
                .node(OpNode::new(args.rollup))
                .install_exex(EXEX_ID, move |ctx| async move {
                    Ok(routing_node::launch_with_source(
                        config,
                        RethSource::new(ctx, head, settlement),
                    ))
                })
                .launch_with_debug_capabilities()
                .await?;
            handle.wait_for_node_exit().await
        })
    {
        eprintln!("Error: {err:?}");
        std::process::exit(1);
    }
}
