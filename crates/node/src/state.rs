//! What the node's tasks share.

use crate::config::Config;
use alloy_primitives::B256;
use routing_exex::BlockRef;
use routing_policy::Registry;
use routing_rpc_api::BatchEvent;
use routing_store::{Store, StoreError};
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};
use tokio::sync::{broadcast, Notify};

/// How many registries the in-memory cache keeps (older ones are read from the store).
const REGISTRY_CACHE: usize = 64;

/// State shared by admission, the batcher, the poster, the indexer and the RPC server.
pub(crate) struct Shared {
    /// The configuration.
    pub config: Config,
    /// The store.
    pub store: Store,
    /// The L2 chain id.
    pub chain_id: u64,
    /// The EIP-712 domain separator routers sign under.
    pub separator: B256,
    /// Batch events for `routing_subscribeBatches` (bounded: slow subscribers lag and skip).
    pub events: broadcast::Sender<BatchEvent>,
    sealer: Notify,
    poster: Notify,
    open_epoch: AtomicU64,
    committed_through: AtomicU64,
    chain_tip: AtomicU64,
    head: Mutex<Option<BlockRef>>,
    registries: Mutex<BTreeMap<u64, Arc<Registry>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("chain_id", &self.chain_id).finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(config: Config, store: Store, chain_id: u64) -> Result<Self, StoreError> {
        let separator = routing_primitives::domain(chain_id, config.chain.settlement).separator();
        let open_epoch = store.next_batch_id()?;
        let counts = store.counts()?;
        let head = store.head()?;
        let (events, _) = broadcast::channel(1_024);
        Ok(Self {
            config,
            store,
            chain_id,
            separator,
            events,
            sealer: Notify::new(),
            poster: Notify::new(),
            open_epoch: AtomicU64::new(open_epoch),
            committed_through: AtomicU64::new(counts.committed),
            chain_tip: AtomicU64::new(head.map_or(0, |h| h.number)),
            head: Mutex::new(head),
            registries: Mutex::new(BTreeMap::new()),
        })
    }

    /// The registry epoch decisions are routed against now: the id of the batch being filled.
    pub(crate) fn open_epoch(&self) -> u64 {
        self.open_epoch.load(Ordering::Acquire)
    }

    pub(crate) fn set_open_epoch(&self, epoch: u64) {
        self.open_epoch.store(epoch, Ordering::Release);
    }

    /// The highest batch id committed on the canonical chain (all below it are too).
    pub(crate) fn committed_through(&self) -> u64 {
        self.committed_through.load(Ordering::Acquire)
    }

    pub(crate) fn set_committed_through(&self, id: u64) {
        self.committed_through.store(id, Ordering::Release);
    }

    /// The latest block number the execution client reported.
    pub(crate) fn chain_tip(&self) -> u64 {
        self.chain_tip.load(Ordering::Acquire)
    }

    pub(crate) fn observe_tip(&self, number: u64) {
        self.chain_tip.fetch_max(number, Ordering::AcqRel);
    }

    /// The last block the extension applied.
    pub(crate) fn head(&self) -> Option<BlockRef> {
        *self.head.lock().expect("not poisoned")
    }

    pub(crate) fn set_head(&self, head: Option<BlockRef>) {
        *self.head.lock().expect("not poisoned") = head;
        if let Some(h) = head {
            self.observe_tip(h.number);
        }
    }

    pub(crate) fn wake_sealer(&self) {
        self.sealer.notify_one();
    }

    pub(crate) async fn sealer_woken(&self) {
        self.sealer.notified().await;
    }

    pub(crate) fn wake_poster(&self) {
        self.poster.notify_one();
    }

    pub(crate) async fn poster_woken(&self) {
        self.poster.notified().await;
    }

    /// The registry of `epoch`, from the cache or the store.
    pub(crate) fn registry(&self, epoch: u64) -> Result<Option<Arc<Registry>>, StoreError> {
        if let Some(r) = self.registries.lock().expect("not poisoned").get(&epoch) {
            return Ok(Some(r.clone()));
        }
        let Some(data) = self.store.registry(epoch)? else { return Ok(None) };
        let registry = Registry::try_from(data).map_err(|e| StoreError::Corrupt {
            table: "registries",
            reason: format!("epoch {epoch}: {e}"),
        })?;
        let registry = Arc::new(registry);
        self.cache_registry(registry.clone());
        Ok(Some(registry))
    }

    pub(crate) fn cache_registry(&self, registry: Arc<Registry>) {
        let mut cache = self.registries.lock().expect("not poisoned");
        cache.insert(registry.epoch(), registry);
        while cache.len() > REGISTRY_CACHE {
            cache.pop_first();
        }
    }
}
