//! The routing node: the product a node operator runs next to (or inside) an OP Stack execution
//! client.
//!
//! - **Extension** (`routing_exex`): follows the chain (committed, reverted and reorged blocks),
//!   marks batches committed when the settlement contract's `BatchCommitted` logs land, sends
//!   them back to the poster when their block is reorged away, and persists its head with every
//!   block so it resumes where it stopped.
//! - **Admission**: routers submit signed decisions over `routing_submitDecision(s)`; the node
//!   verifies the EIP-712 signature, checks the router's stake and registry epoch, stores the
//!   decision durably (idempotent by request id, conflicting decisions kept as evidence) and
//!   answers with a receipt.
//! - **Batcher**: seals pending decisions at `max_decisions` or `max_age_ms`, computes the next
//!   registry, and posts each batch to the settlement contract with the sequencer key, again
//!   after a reorg or a lost transaction.
//! - **Store** (`routing_store`, redb): crash-safe; `kill -9` at any moment loses nothing.
//! - **JSON-RPC** (`routing_rpc_api`): the `routing_` namespace over HTTP and WebSocket on one
//!   port; Prometheus metrics on another.
//!
//! `routing-node dev` runs all of it against a local anvil in OP Stack mode; `routing-node run`
//! attaches to an existing execution client; [`launch_with_source`] runs it on another event
//! source (op-reth's ExEx notifications).
//!
//! ## Feature flags
//! None.

pub mod config;
pub mod dev;

mod admission;
mod batcher;
mod indexer;
mod metrics;
mod node;
mod rpc;
mod staking;
mod state;
mod views;

pub use config::{Config, ConfigError};
pub use node::{launch_with_source, start, start_with_source, wait_for_chain, RunningNode};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Log output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the tracing subscriber: `RUST_LOG` filters (default `info`).
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(true).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
