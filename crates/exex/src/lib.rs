//! The routing execution extension, independent of any node implementation.
//!
//! It consumes an ordered stream of [`ChainEvent`]s (committed, reverted and reorged segments of
//! blocks with their logs, exactly reth's ExEx model) from an [`EventSource`], applies them to a
//! [`BlockHandler`] that persists each block's effects with the head, and reports the height it
//! has finished after every block.
//!
//! ## Feature flags
//! None.

mod extension;
mod types;

pub use extension::{
    BlockHandler, EventSource, ExExError, Processed, RoutingExEx, SourceError,
};
pub use types::{Block, BlockRef, Chain, ChainError, ChainEvent, LogEntry};
