//! The native op-reth adapter for the routing execution extension.
//!
//! [`RethSource`] is a [`routing_exex::EventSource`] over reth's execution-extension (ExEx)
//! notifications: every `ExExNotification` (`ChainCommitted`, `ChainReverted`, `ChainReorged`)
//! becomes a [`routing_exex::ChainEvent`] of the same kind, with a [`routing_exex::Block`] per reth
//! block (number, hash, parent hash, timestamp, and the logs emitted by the settlement contract,
//! each with its transaction hash, transaction index and log index in the block). The extension's
//! finished height goes back to reth as `ExExEvent::FinishedHeight` after every block, so reth may
//! prune below it and replays from it after a restart.
//!
//! On construction the source hands reth the head the extension persisted
//! (`ExExContext::set_notifications_with_head`): reth first reverts that head if it is no longer
//! canonical (from its ExEx write-ahead log), then backfills, by re-executing, the blocks between
//! it and the node's tip, then streams live notifications. A fresh extension (no head yet) starts
//! from the genesis block, so no settlement log is ever skipped.
//!
//! The reth-facing code is generic over `Node: FullNodeComponents` and names no Ethereum-only or
//! OP-only type; the `op-reth-routing` binary (`src/main.rs`) installs it into op-reth:
//!
//! ```ignore
//! let handle = builder
//!     .node(OpNode::new(rollup_args))
//!     .install_exex(EXEX_ID, move |ctx| async move {
//!         Ok(routing_node::launch_with_source(config, RethSource::new(ctx, head, settlement)))
//!     })
//!     .launch_with_debug_capabilities()
//!     .await?;
//! ```
//!
//! This crate is pinned to reth `v1.10.2` from git and is not part of the repository's workspace
//! or CI (see the README).
//!
//! ## Feature flags
//! - `jemalloc` (default): jemalloc as the binary's global allocator, as in op-reth.

mod mapping;

pub use mapping::{block_from_parts, chain_from_blocks};

use alloy_consensus::{BlockHeader, TxReceipt};
use alloy_eips::{eip2718::Encodable2718, BlockNumHash};
use alloy_primitives::Address;
use futures::TryStreamExt;
use reth_chainspec::EthChainSpec;
use reth_execution_types::Chain as RethChain;
use reth_exex::{ExExContext, ExExEvent, ExExHead, ExExNotification};
use reth_node_api::FullNodeComponents;
use reth_primitives_traits::{BlockBody, NodePrimitives};
use routing_exex::{BlockRef, ChainEvent, EventSource, SourceError};
use std::path::PathBuf;
use tracing::{debug, info, warn};

/// The id the routing extension is installed under (`install_exex(EXEX_ID, ..)`); reth names the
/// extension by it in its logs and metrics.
pub const EXEX_ID: &str = "routing";

/// Tracing target of this crate.
const TARGET: &str = "routing::exex_reth";

/// The routing extension's command-line arguments, added to op-reth's `node` command.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Routing")]
pub struct RoutingArgs {
    /// The routing node's configuration file (TOML): settlement contract, store, batcher, RPC.
    #[arg(long = "routing.config", value_name = "PATH")]
    pub config: PathBuf,
}

/// A [`routing_exex::EventSource`] over reth's ExEx notifications.
///
/// Generic over the node, so it runs in op-reth and in reth alike; it only reads block headers,
/// transaction hashes and receipt logs through reth's primitive traits.
pub struct RethSource<Node: FullNodeComponents> {
    ctx: ExExContext<Node>,
    settlement: Address,
}

impl<Node: FullNodeComponents> std::fmt::Debug for RethSource<Node> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RethSource")
            .field("settlement", &self.settlement)
            .field("node_head_at_launch", &self.ctx.head)
            .finish_non_exhaustive()
    }
}

impl<Node: FullNodeComponents> RethSource<Node> {
    /// A source that resumes after `head`, the last block the extension persisted, and keeps the
    /// logs of the `settlement` contract.
    ///
    /// It sets reth's notification stream to start after `head`
    /// (`ExExContext::set_notifications_with_head`), so after a restart reth first reverts `head`
    /// if a reorg removed it while the node was down, then backfills up to the node's tip. With no
    /// head (a fresh extension) it starts after the genesis block. Call it before the extension
    /// first polls the notifications, that is, in the `install_exex` closure.
    pub fn new(mut ctx: ExExContext<Node>, head: Option<BlockRef>, settlement: Address) -> Self {
        let block = match head {
            Some(head) => BlockNumHash::new(head.number, head.hash),
            None => BlockNumHash::new(0, ctx.config.chain.genesis_hash()),
        };
        info!(
            target: TARGET,
            from = block.number,
            hash = %block.hash,
            fresh = head.is_none(),
            node_head = ctx.head.number,
            %settlement,
            "resuming ExEx notifications after the extension's head"
        );
        ctx.set_notifications_with_head(ExExHead { block });
        Self { ctx, settlement }
    }

    /// The settlement contract whose logs are kept.
    pub const fn settlement(&self) -> Address {
        self.settlement
    }
}

impl<Node: FullNodeComponents> EventSource for RethSource<Node> {
    async fn next_event(&mut self) -> Result<Option<ChainEvent>, SourceError> {
        let notification = match self.ctx.notifications.try_next().await {
            Ok(Some(notification)) => notification,
            Ok(None) => {
                info!(target: TARGET, "ExEx notification stream ended");
                return Ok(None);
            }
            Err(err) => return Err(SourceError(format!("reth ExEx notifications: {err:#}"))),
        };
        chain_event(&notification, self.settlement).map(Some)
    }

    fn finished_height(&mut self, height: BlockRef) {
        let block = BlockNumHash::new(height.number, height.hash);
        if let Err(err) = self.ctx.events.send(ExExEvent::FinishedHeight(block)) {
            // Only when reth's ExEx manager is gone, i.e. the node is shutting down.
            warn!(target: TARGET, number = height.number, %err, "could not report the finished height");
        }
    }
}

/// Maps one reth notification onto the extension's event of the same kind.
fn chain_event<N: NodePrimitives>(
    notification: &ExExNotification<N>,
    settlement: Address,
) -> Result<ChainEvent, SourceError> {
    let event = match notification {
        ExExNotification::ChainCommitted { new } => {
            ChainEvent::Committed { new: convert_chain(new, settlement)? }
        }
        ExExNotification::ChainReverted { old } => {
            ChainEvent::Reverted { old: convert_chain(old, settlement)? }
        }
        ExExNotification::ChainReorged { old, new } => ChainEvent::Reorged {
            old: convert_chain(old, settlement)?,
            new: convert_chain(new, settlement)?,
        },
    };
    debug!(
        target: TARGET,
        reverted = ?event.reverted().map(|c| (c.first().number, c.tip().number)),
        committed = ?event.committed().map(|c| (c.first().number, c.tip().number)),
        settlement_logs = event
            .reverted()
            .into_iter()
            .chain(event.committed())
            .flat_map(|c| c.blocks())
            .map(|b| b.logs.len())
            .sum::<usize>(),
        "ExEx notification"
    );
    Ok(event)
}

/// Converts a reth chain segment: each block's header fields, and the settlement contract's logs
/// from its receipts (paired with the block's transactions, in order).
fn convert_chain<N: NodePrimitives>(
    chain: &RethChain<N>,
    settlement: Address,
) -> Result<routing_exex::Chain, SourceError> {
    let mut blocks = Vec::with_capacity(chain.len());
    for (block, receipts) in chain.blocks_and_receipts() {
        let header = block.header();
        let transactions = block.body().transactions();
        if transactions.len() != receipts.len() {
            return Err(SourceError(format!(
                "block {} ({}) has {} transactions but {} receipts",
                header.number(),
                block.hash(),
                transactions.len(),
                receipts.len()
            )));
        }
        blocks.push(block_from_parts(
            header.number(),
            block.hash(),
            header.parent_hash(),
            header.timestamp(),
            settlement,
            transactions.iter().zip(receipts.iter()).enumerate().map(|(index, (tx, receipt))| {
                // The EIP-2718 hash, which is the transaction hash for every envelope (legacy,
                // typed, OP deposit); reth's envelopes return their cached hash here.
                (tx.trie_hash(), index as u64, receipt.logs())
            }),
        ));
    }
    if blocks.len() != chain.len() {
        return Err(SourceError(format!(
            "reth chain segment {:?}: receipts for {} of its {} blocks",
            chain.range(),
            blocks.len(),
            chain.len()
        )));
    }
    chain_from_blocks(blocks)
}
