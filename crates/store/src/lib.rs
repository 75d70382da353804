//! The routing node's crash-safe store, on [redb](https://docs.rs/redb).
//!
//! Every change is one redb write transaction, committed durably before the caller hears of it:
//! a process killed at any moment (`kill -9`) restarts with either all or none of a change, so no
//! admitted decision is lost and none is sealed twice.
//!
//! | table | key → value |
//! | --- | --- |
//! | `decisions` | request id → admission sequence, leaf, batch position, admission time, RLP of the signed decision |
//! | `pending` | admission sequence → request id (the queue the batcher seals from, oldest first) |
//! | `batch_members` | (batch id, index) → request id |
//! | `batches` | batch id → header and status (sealed, posted, committed at a block) |
//! | `block_commits` | (block number, batch id) → block hash: which batches a block committed |
//! | `conflicts` | (request id, leaf) → a refused second decision for a sequenced request id (evidence) |
//! | `registries` | epoch → the registry snapshot of that epoch |
//! | `meta` | the head block, counters, the last header hash |
//!
//! ```
//! # use routing_store::*;
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path().join("node.redb")).unwrap();
//! assert_eq!(store.head().unwrap(), None);
//! assert_eq!(store.next_batch_id().unwrap(), 1);
//! ```
//!
//! ## Feature flags
//! None.

mod records;

pub use records::{BatchRecord, BatchStatus, Commit, Position, Receipt, StoredDecision};

use alloy_primitives::B256;
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use routing_exex::BlockRef;
use routing_policy::RegistryData;
use routing_primitives::{RlpDecodeExact, SignedDecision};
use std::path::Path;

const DECISIONS: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("decisions");
const PENDING: TableDefinition<'_, u64, [u8; 32]> = TableDefinition::new("pending");
const MEMBERS: TableDefinition<'_, (u64, u32), [u8; 32]> = TableDefinition::new("batch_members");
const BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("batches");
const BLOCK_COMMITS: TableDefinition<'_, (u64, u64), [u8; 32]> =
    TableDefinition::new("block_commits");
const CONFLICTS: TableDefinition<'_, ([u8; 32], [u8; 32]), &[u8]> =
    TableDefinition::new("conflicts");
const REGISTRIES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("registries");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

const NEXT_SEQ: &str = "next_seq";
const NEXT_BATCH: &str = "next_batch_id";
const LAST_HEADER: &str = "last_header_hash";
const HEAD: &str = "head";
const COMMITTED_THROUGH: &str = "committed_through";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (I/O, corruption).
    #[error("storage: {0}")]
    Db(#[from] redb::Error),
    /// A stored record does not decode (corruption or a version mismatch).
    #[error("corrupt record in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The caller asked for something inconsistent with the stored state.
    #[error("inconsistent request: {0}")]
    Inconsistent(String),
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Db(e.into())
            }
        }
    )*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One decision to admit: the signed decision, its leaf (the caller has verified the signature
/// and computed it) and its RLP encoding (stored as is).
#[derive(Clone, Debug)]
pub struct Admission {
    /// The signed decision.
    pub signed: SignedDecision,
    /// Its Merkle leaf.
    pub leaf: B256,
    /// Its RLP encoding.
    pub rlp: Vec<u8>,
}

/// What admitting one decision did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admitted {
    /// A new decision, now pending.
    New(Receipt),
    /// The same decision (same leaf) was admitted before: its receipt, unchanged.
    Existing(Receipt),
    /// Another decision for this request id was admitted before: refused, and kept as evidence.
    Conflict {
        /// The receipt of the decision admitted first.
        existing: Receipt,
    },
}

/// Counts for status reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Admitted decisions.
    pub decisions: u64,
    /// Decisions waiting to be sealed.
    pub pending: u64,
    /// Sealed batches.
    pub batches: u64,
    /// Batches committed on the canonical chain (a prefix of batch ids).
    pub committed: u64,
    /// Refused conflicting decisions kept as evidence.
    pub conflicts: u64,
}

/// The node's store. Cheap to clone; reads run concurrently with the one writer redb allows.
#[derive(Clone, Debug)]
pub struct Store {
    db: std::sync::Arc<Database>,
}

fn get_u64(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<u64>> {
    Ok(match meta.get(key)? {
        Some(v) => Some(u64::from_be_bytes(v.value().try_into().map_err(|_| {
            StoreError::Corrupt { table: "meta", reason: format!("{key} is not 8 bytes") }
        })?)),
        None => None,
    })
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = Database::create(path.as_ref())?;
        let tx = db.begin_write()?;
        {
            tx.open_table(DECISIONS)?;
            tx.open_table(PENDING)?;
            tx.open_table(MEMBERS)?;
            tx.open_table(BATCHES)?;
            tx.open_table(BLOCK_COMMITS)?;
            tx.open_table(CONFLICTS)?;
            tx.open_table(REGISTRIES)?;
            tx.open_table(META)?;
        }
        tx.commit()?;
        Ok(Self { db: std::sync::Arc::new(db) })
    }

    fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        let tx = self.db.begin_write()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    // ------------------------------------------------------------------ admission

    /// Admits `items` in one durable transaction, in order: each new request id gets the next
    /// admission sequence number and joins the pending queue; a request id seen before with the
    /// same leaf returns its existing receipt; with another leaf it is refused and the refused
    /// decision kept as conflict evidence.
    pub fn admit(&self, items: &[Admission], now_ms: u64) -> Result<Vec<Admitted>> {
        self.write(|tx| {
            let mut decisions = tx.open_table(DECISIONS)?;
            let mut pending = tx.open_table(PENDING)?;
            let mut conflicts = tx.open_table(CONFLICTS)?;
            let mut meta = tx.open_table(META)?;
            let mut seq = get_u64(&meta, NEXT_SEQ)?.unwrap_or(1);
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let id = item.signed.decision.request.id;
                let existing =
                    decisions.get(id.0)?.map(|v| records::decode_decision(id, v.value()));
                if let Some(existing) = existing {
                    let existing = existing?.receipt;
                    if existing.leaf == item.leaf {
                        out.push(Admitted::Existing(existing));
                    } else {
                        conflicts.insert((id.0, item.leaf.0), item.rlp.as_slice())?;
                        out.push(Admitted::Conflict { existing });
                    }
                    continue;
                }
                let receipt = Receipt {
                    request_id: id,
                    leaf: item.leaf,
                    seq,
                    position: None,
                    admitted_at_ms: now_ms,
                };
                decisions.insert(id.0, records::encode_decision(&receipt, &item.rlp).as_slice())?;
                pending.insert(seq, id.0)?;
                seq += 1;
                out.push(Admitted::New(receipt));
            }
            meta.insert(NEXT_SEQ, seq.to_be_bytes().as_slice())?;
            Ok(out)
        })
    }

    /// An admitted decision by request id.
    pub fn decision(&self, request_id: B256) -> Result<Option<StoredDecision>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(DECISIONS)?;
        let value = table.get(request_id.0)?;
        value.map(|v| records::decode_decision(request_id, v.value())).transpose()
    }

    /// The oldest `limit` pending decisions, in admission order.
    pub fn pending(&self, limit: usize) -> Result<Vec<StoredDecision>> {
        let tx = self.db.begin_read()?;
        let pending = tx.open_table(PENDING)?;
        let decisions = tx.open_table(DECISIONS)?;
        let mut out = Vec::with_capacity(limit.min(16_384));
        for entry in pending.iter()?.take(limit) {
            let (_, id) = entry?;
            let id = B256::from(id.value());
            let record = decisions.get(id.0)?.ok_or_else(|| StoreError::Corrupt {
                table: "pending",
                reason: format!("pending request {id} has no decision"),
            })?;
            out.push(records::decode_decision(id, record.value())?);
        }
        Ok(out)
    }

    /// Conflicting decisions refused for `request_id`.
    pub fn conflicts(&self, request_id: B256) -> Result<Vec<SignedDecision>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(CONFLICTS)?;
        let range = table.range((request_id.0, [0u8; 32])..=(request_id.0, [0xffu8; 32]))?;
        range
            .map(|entry| {
                let (_, rlp) = entry?;
                SignedDecision::rlp_decode_exact(rlp.value())
                    .map_err(|e| StoreError::Corrupt { table: "conflicts", reason: e.to_string() })
            })
            .collect()
    }

    /// Table sizes for status reports.
    pub fn counts(&self) -> Result<Counts> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        Ok(Counts {
            decisions: tx.open_table(DECISIONS)?.len()?,
            pending: tx.open_table(PENDING)?.len()?,
            batches: tx.open_table(BATCHES)?.len()?,
            committed: get_u64(&meta, COMMITTED_THROUGH)?.unwrap_or(0),
            conflicts: tx.open_table(CONFLICTS)?.len()?,
        })
    }

    // ------------------------------------------------------------------ batches

    /// The id the next sealed batch gets.
    pub fn next_batch_id(&self) -> Result<u64> {
        let tx = self.db.begin_read()?;
        Ok(get_u64(&tx.open_table(META)?, NEXT_BATCH)?.unwrap_or(1))
    }

    /// Hash of the last sealed batch's header (zero before the first).
    pub fn last_header_hash(&self) -> Result<B256> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        let value = meta.get(LAST_HEADER)?;
        Ok(value.map_or(B256::ZERO, |v| B256::from_slice(v.value())))
    }

    /// Records a sealed batch, atomically: `record.header` must be the next batch id chained to
    /// the last header, and `members` the oldest pending request ids in order (they leave the
    /// pending queue and get their batch position); `next_registry` (the registry of the next
    /// epoch) is stored with it.
    pub fn seal(
        &self,
        record: &BatchRecord,
        members: &[B256],
        next_registry: &RegistryData,
    ) -> Result<()> {
        self.write(|tx| {
            let mut meta = tx.open_table(META)?;
            let id = record.header.batch_id;
            let expected = get_u64(&meta, NEXT_BATCH)?.unwrap_or(1);
            if id != expected {
                return Err(StoreError::Inconsistent(format!(
                    "sealing batch {id}, next is {expected}"
                )));
            }
            let last = meta.get(LAST_HEADER)?.map_or(B256::ZERO, |v| B256::from_slice(v.value()));
            if record.header.prev_hash != last {
                return Err(StoreError::Inconsistent(format!(
                    "batch {id} chains to {}, last header is {last}",
                    record.header.prev_hash
                )));
            }
            if members.len() != record.header.count as usize {
                return Err(StoreError::Inconsistent(format!(
                    "batch {id} counts {} decisions, {} given",
                    record.header.count,
                    members.len()
                )));
            }
            let mut pending = tx.open_table(PENDING)?;
            let mut decisions = tx.open_table(DECISIONS)?;
            let mut batch_members = tx.open_table(MEMBERS)?;
            let oldest: Vec<(u64, B256)> = pending
                .iter()?
                .take(members.len())
                .map(|e| e.map(|(k, v)| (k.value(), B256::from(v.value()))))
                .collect::<Result<_, _>>()?;
            if oldest.len() != members.len() || oldest.iter().zip(members).any(|((_, a), b)| a != b)
            {
                return Err(StoreError::Inconsistent(format!(
                    "batch {id} members are not the oldest pending decisions"
                )));
            }
            for (index, (seq, request_id)) in oldest.iter().enumerate() {
                let index = u32::try_from(index).expect("a batch has at most 10,000 decisions");
                let bytes =
                    decisions.get(request_id.0)?.map(|v| v.value().to_vec()).ok_or_else(|| {
                        StoreError::Corrupt {
                            table: "decisions",
                            reason: format!("{request_id} missing"),
                        }
                    })?;
                let updated = records::set_position(&bytes, Position { batch_id: id, index })?;
                decisions.insert(request_id.0, updated.as_slice())?;
                pending.remove(*seq)?;
                batch_members.insert((id, index), request_id.0)?;
            }
            tx.open_table(BATCHES)?
                .insert(id, serde_json::to_vec(record).expect("serializes").as_slice())?;
            tx.open_table(REGISTRIES)?.insert(
                next_registry.epoch,
                serde_json::to_vec(next_registry).expect("serializes").as_slice(),
            )?;
            meta.insert(NEXT_BATCH, (id + 1).to_be_bytes().as_slice())?;
            meta.insert(LAST_HEADER, record.header.hash().as_slice())?;
            Ok(())
        })
    }

    /// A batch by id.
    pub fn batch(&self, batch_id: u64) -> Result<Option<BatchRecord>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BATCHES)?;
        let value = table.get(batch_id)?;
        value.map(|v| records::decode_batch(v.value())).transpose()
    }

    /// Batches with ids from `from` on, at most `limit`, in id order.
    pub fn batches_from(&self, from: u64, limit: usize) -> Result<Vec<BatchRecord>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BATCHES)?;
        table.range(from..)?.take(limit).map(|e| records::decode_batch(e?.1.value())).collect()
    }

    /// Batches not committed on the canonical chain, in id order (the poster's work list).
    pub fn uncommitted_batches(&self) -> Result<Vec<BatchRecord>> {
        let through = self.counts()?.committed;
        self.batches_from(through + 1, usize::MAX)
    }

    /// Request ids of batch `batch_id` from position `offset`, at most `limit`.
    pub fn batch_members(&self, batch_id: u64, offset: u32, limit: usize) -> Result<Vec<B256>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(MEMBERS)?;
        table
            .range((batch_id, offset)..=(batch_id, u32::MAX))?
            .take(limit)
            .map(|e| Ok(B256::from(e?.1.value())))
            .collect()
    }

    /// The decisions of batch `batch_id`, in batch order.
    pub fn batch_decisions(&self, batch_id: u64) -> Result<Vec<StoredDecision>> {
        self.map_members(batch_id, records::decode_decision)
    }

    /// The leaves of batch `batch_id`'s decisions, in batch order (for proofs; no decoding).
    pub fn batch_leaves(&self, batch_id: u64) -> Result<Vec<B256>> {
        self.map_members(batch_id, |_, record| records::leaf_of(record))
    }

    /// `f(request id, stored record)` for each member of batch `batch_id`, in batch order.
    fn map_members<T>(
        &self,
        batch_id: u64,
        f: impl Fn(B256, &[u8]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let tx = self.db.begin_read()?;
        let members = tx.open_table(MEMBERS)?;
        let decisions = tx.open_table(DECISIONS)?;
        members
            .range((batch_id, 0)..=(batch_id, u32::MAX))?
            .map(|e| {
                let id = B256::from(e?.1.value());
                let v = decisions.get(id.0)?.ok_or_else(|| StoreError::Corrupt {
                    table: "batch_members",
                    reason: format!("member {id} has no decision"),
                })?;
                f(id, v.value())
            })
            .collect()
    }

    /// Records that batch `batch_id`'s commit transaction was sent.
    pub fn mark_posted(&self, batch_id: u64, tx_hash: B256, nonce: u64, now_ms: u64) -> Result<()> {
        self.update_batch(batch_id, |record| {
            if !matches!(record.status, BatchStatus::Committed { .. }) {
                record.status = BatchStatus::Posted { tx_hash, nonce, posted_at_ms: now_ms };
            }
        })
    }

    fn update_batch(&self, batch_id: u64, f: impl FnOnce(&mut BatchRecord)) -> Result<()> {
        self.write(|tx| {
            let mut batches = tx.open_table(BATCHES)?;
            let mut record = match batches.get(batch_id)? {
                Some(v) => records::decode_batch(v.value())?,
                None => return Err(StoreError::Inconsistent(format!("no batch {batch_id}"))),
            };
            f(&mut record);
            batches
                .insert(batch_id, serde_json::to_vec(&record).expect("serializes").as_slice())?;
            Ok(())
        })
    }

    // ------------------------------------------------------------------ chain

    /// The last block applied (`None` before the first).
    pub fn head(&self) -> Result<Option<BlockRef>> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        let value = meta.get(HEAD)?;
        value.map(|v| records::decode_block_ref(v.value())).transpose()
    }

    /// Applies a canonical block, atomically with the new head: each of `commits` (the
    /// settlement's `BatchCommitted` logs in the block) marks its batch committed at `block`.
    /// A block at or below the head is ignored (already applied). Returns the ids of the commits
    /// that do not match a batch of this store (another sequencer's, or a different header):
    /// they are not applied.
    pub fn apply_block(&self, block: BlockRef, commits: &[Commit]) -> Result<Vec<u64>> {
        self.write(|tx| {
            let mut meta = tx.open_table(META)?;
            let head = meta.get(HEAD)?.map(|v| records::decode_block_ref(v.value())).transpose()?;
            if head.is_some_and(|h| h.number >= block.number) {
                return Ok(Vec::new());
            }
            let mut batches = tx.open_table(BATCHES)?;
            let mut block_commits = tx.open_table(BLOCK_COMMITS)?;
            let mut through = get_u64(&meta, COMMITTED_THROUGH)?.unwrap_or(0);
            let mut foreign = Vec::new();
            for c in commits {
                let record = batches
                    .get(c.batch_id)?
                    .map(|v| records::decode_batch(v.value()))
                    .transpose()?;
                let Some(mut record) = record.filter(|r| r.header.hash() == c.header_hash) else {
                    foreign.push(c.batch_id);
                    continue;
                };
                record.status =
                    BatchStatus::Committed { block, tx_hash: c.tx_hash, log_index: c.log_index };
                record.header.l2_block_start = block.number;
                record.header.l2_block_end = block.number;
                batches.insert(
                    c.batch_id,
                    serde_json::to_vec(&record).expect("serializes").as_slice(),
                )?;
                block_commits.insert((block.number, c.batch_id), block.hash.0)?;
                if c.batch_id == through + 1 {
                    through = c.batch_id;
                }
            }
            meta.insert(COMMITTED_THROUGH, through.to_be_bytes().as_slice())?;
            meta.insert(HEAD, records::encode_block_ref(&block).as_slice())?;
            Ok(foreign)
        })
    }

    /// Undoes a block removed from the tip of the canonical chain, atomically with the new head
    /// (`parent`): the batches it committed go back to waiting for a commit (the poster sends
    /// them again unless they land in the new chain). Returns their ids. A block above the head
    /// was never applied and is ignored.
    pub fn revert_block(&self, block: BlockRef, parent: BlockRef) -> Result<Vec<u64>> {
        self.write(|tx| {
            let mut meta = tx.open_table(META)?;
            let head = meta.get(HEAD)?.map(|v| records::decode_block_ref(v.value())).transpose()?;
            if head.is_none_or(|h| h.number < block.number) {
                return Ok(Vec::new());
            }
            let mut batches = tx.open_table(BATCHES)?;
            let mut block_commits = tx.open_table(BLOCK_COMMITS)?;
            let reverted: Vec<u64> = block_commits
                .range((block.number, 0)..=(block.number, u64::MAX))?
                .map(|e| e.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            let mut through = get_u64(&meta, COMMITTED_THROUGH)?.unwrap_or(0);
            for &id in &reverted {
                block_commits.remove((block.number, id))?;
                let record =
                    batches.get(id)?.map(|v| records::decode_batch(v.value())).transpose()?;
                if let Some(mut record) = record {
                    record.status = BatchStatus::Sealed;
                    record.header.l2_block_start = 0;
                    record.header.l2_block_end = 0;
                    batches
                        .insert(id, serde_json::to_vec(&record).expect("serializes").as_slice())?;
                }
                through = through.min(id - 1);
            }
            meta.insert(COMMITTED_THROUGH, through.to_be_bytes().as_slice())?;
            meta.insert(HEAD, records::encode_block_ref(&parent).as_slice())?;
            Ok(reverted)
        })
    }

    // ------------------------------------------------------------------ registries

    /// The registry snapshot of `epoch`.
    pub fn registry(&self, epoch: u64) -> Result<Option<RegistryData>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(REGISTRIES)?;
        let value = table.get(epoch)?;
        value
            .map(|v| {
                serde_json::from_slice(v.value())
                    .map_err(|e| StoreError::Corrupt { table: "registries", reason: e.to_string() })
            })
            .transpose()
    }

    /// Stores the registry of its epoch if none is stored yet (the genesis registry at first
    /// start); returns the stored one.
    pub fn init_registry(&self, registry: &RegistryData) -> Result<RegistryData> {
        self.write(|tx| {
            let mut table = tx.open_table(REGISTRIES)?;
            let existing = table.get(registry.epoch)?.map(|v| v.value().to_vec());
            if let Some(bytes) = existing {
                return serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                    table: "registries",
                    reason: e.to_string(),
                });
            }
            table.insert(
                registry.epoch,
                serde_json::to_vec(registry).expect("serializes").as_slice(),
            )?;
            Ok(registry.clone())
        })
    }
}
