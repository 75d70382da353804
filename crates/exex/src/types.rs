//! The extension's own chain-event types: what any source (a JSON-RPC follower, op-reth's ExEx
//! notifications) turns the chain into. They mirror reth's `ExExNotification`: committed,
//! reverted and reorged segments of consecutive blocks.

use alloy_primitives::{Address, Bytes, B256};
use serde::{Deserialize, Serialize};

/// A block by number and hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRef {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// A log emitted in a block, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Emitting contract.
    pub address: Address,
    /// Topics (topic 0 is the event signature).
    pub topics: Vec<B256>,
    /// Non-indexed data.
    pub data: Bytes,
    /// Hash of the transaction that emitted it.
    pub transaction_hash: B256,
    /// Index of that transaction in the block.
    pub transaction_index: u64,
    /// Index of the log in the block.
    pub log_index: u64,
}

/// A block as the extension needs it: its place in the chain and the logs of interest.
///
/// A source may leave out logs of contracts the extension does not watch (the settlement
/// contract), but must not leave out any log of a watched contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    /// Number and hash.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent block hash.
    pub parent_hash: B256,
    /// Block timestamp (seconds).
    pub timestamp: u64,
    /// Logs, in block order.
    pub logs: Vec<LogEntry>,
}

impl Block {
    /// This block's number and hash.
    pub const fn block_ref(&self) -> BlockRef {
        BlockRef { number: self.number, hash: self.hash }
    }

    /// The parent's number and hash (number 0 for the genesis block's "parent").
    pub const fn parent_ref(&self) -> BlockRef {
        BlockRef { number: self.number.saturating_sub(1), hash: self.parent_hash }
    }
}

/// Why a segment is not a valid chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No blocks.
    #[error("a chain segment needs at least one block")]
    Empty,
    /// Block `number` does not follow the block before it (number or parent hash).
    #[error("block {number} does not extend the block before it")]
    NotConsecutive {
        /// The block that breaks the segment.
        number: u64,
    },
}

/// A non-empty run of consecutive blocks, oldest first (reth's `Chain`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Block>", into = "Vec<Block>")]
pub struct Chain {
    blocks: Vec<Block>,
}

impl TryFrom<Vec<Block>> for Chain {
    type Error = ChainError;

    fn try_from(blocks: Vec<Block>) -> Result<Self, ChainError> {
        Self::new(blocks)
    }
}

impl From<Chain> for Vec<Block> {
    fn from(c: Chain) -> Self {
        c.blocks
    }
}

impl Chain {
    /// A segment of `blocks`, which must be consecutive (each one's number one above, and its
    /// parent hash the hash of, the block before it).
    pub fn new(blocks: Vec<Block>) -> Result<Self, ChainError> {
        if blocks.is_empty() {
            return Err(ChainError::Empty);
        }
        if let Some(w) = blocks
            .windows(2)
            .find(|w| w[1].number != w[0].number + 1 || w[1].parent_hash != w[0].hash)
        {
            return Err(ChainError::NotConsecutive { number: w[1].number });
        }
        Ok(Self { blocks })
    }

    /// The blocks, oldest first.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The oldest block.
    pub fn first(&self) -> &Block {
        &self.blocks[0]
    }

    /// The newest block (the tip).
    pub fn tip(&self) -> &Block {
        self.blocks.last().expect("a chain is never empty")
    }

    /// The block this segment builds on.
    pub fn fork_point(&self) -> BlockRef {
        self.first().parent_ref()
    }
}

/// What happened to the canonical chain, in the order it happened (reth's `ExExNotification`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ChainEvent {
    /// `new` was appended to the canonical chain.
    Committed {
        /// The new blocks.
        new: Chain,
    },
    /// `old` was removed from the tip of the canonical chain.
    Reverted {
        /// The removed blocks.
        old: Chain,
    },
    /// `old` was replaced by `new` (both start after the same fork point).
    Reorged {
        /// The removed blocks.
        old: Chain,
        /// The blocks that replace them.
        new: Chain,
    },
}

impl ChainEvent {
    /// The chain that was removed, if any.
    pub const fn reverted(&self) -> Option<&Chain> {
        match self {
            Self::Committed { .. } => None,
            Self::Reverted { old } | Self::Reorged { old, .. } => Some(old),
        }
    }

    /// The chain that was added, if any.
    pub const fn committed(&self) -> Option<&Chain> {
        match self {
            Self::Reverted { .. } => None,
            Self::Committed { new } | Self::Reorged { new, .. } => Some(new),
        }
    }
}
