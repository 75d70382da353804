//! The routing execution extension, independent of any node implementation.
//!
//! It consumes an ordered stream of [`ChainEvent`]s (committed, reverted and reorged segments of
//! blocks with their logs, exactly reth's ExEx model) from an [`EventSource`], applies them to a
//! [`BlockHandler`] that persists each block's effects with the head, and reports the height it
//! has finished after every block.
//!
//! ## Feature flags
//! - `rpc-source` (default): [`RpcSource`], the event source that follows any OP Stack execution
//!   client (op-reth, op-geth, anvil) over JSON-RPC, built on alloy's providers. The native
//!   op-reth adapter turns it off and does without the alloy provider stack.

mod extension;
#[cfg(feature = "rpc-source")]
pub mod rpc_source;
mod types;

pub use extension::{BlockHandler, EventSource, ExExError, Processed, RoutingExEx, SourceError};
#[cfg(feature = "rpc-source")]
pub use rpc_source::{Backoff, RpcSource, RpcSourceOptions, StartFrom, LOG_TARGET};
/// The shutdown signal of [`RpcSourceOptions::shutdown`].
#[cfg(feature = "rpc-source")]
pub use tokio_util::sync::CancellationToken;
pub use types::{Block, BlockRef, Chain, ChainError, ChainEvent, LogEntry};
