//! [`RpcSource`]: an [`EventSource`] that follows any OP Stack execution client (op-reth,
//! op-geth, anvil) over JSON-RPC.
//!
//! ```no_run
//! use alloy_primitives::Address;
//! use routing_exex::{BlockHandler, RoutingExEx, RpcSource, RpcSourceOptions, StartFrom};
//!
//! async fn index<H: BlockHandler>(
//!     handler: H,
//!     settlement: Address,
//! ) -> Result<H, Box<dyn std::error::Error>> {
//!     // Resume after the persisted head, or start a fresh handler at block 0.
//!     let start = StartFrom::resume_or(handler.head()?, 0);
//!     let options = RpcSourceOptions::new(settlement, start);
//!     let source = RpcSource::connect("ws://127.0.0.1:8546", options).await?;
//!     // Runs until `options.shutdown` is cancelled.
//!     Ok(RoutingExEx::new(source, handler).run().await?)
//! }
//! ```
//!
//! ## What it emits
//!
//! Blocks carry number, hash, parent hash, timestamp and the settlement contract's logs (with
//! transaction hash and index and log index); logs of other contracts are never fetched. Events
//! come in chain order:
//!
//! - [`ChainEvent::Committed`]: up to [`RpcSourceOptions::max_range`] consecutive blocks on top of
//!   the last block emitted (a backfill is a run of such events).
//! - [`ChainEvent::Reorged`]: the remembered blocks after the fork point (`old`, with the logs
//!   they were emitted with) and the canonical blocks after it (`new`), up to the node's latest
//!   block but at most `max(max_range, old.len())` of them (the rest follows as `Committed`).
//! - [`ChainEvent::Reverted`]: the node's chain got shorter than the last block emitted (a
//!   rollback), or the persisted head was reorged away while the source was down.
//!
//! ## Following
//!
//! `http(s)://` URLs poll the node's latest block header every
//! [`RpcSourceOptions::poll_interval`]. The header rather than `eth_blockNumber`: a reorg that
//! keeps the height (anvil's `anvil_reorg`, an unsafe-head reorg of the same length) changes
//! only the hash. `ws(s)://` URLs subscribe to `newHeads` and take every notification as a cue
//! to look at the latest header; they also look every `poll_interval`, so a missed
//! notification delays the source but never stalls it.
//!
//! When the latest block differs from the last block emitted (the tip), the source fetches the
//! headers of `tip + 1 ..` (`eth_getBlockByNumber` without transactions), checks that each
//! block's parent hash is the hash of the block before it (the tip for the first), fetches the
//! range's settlement logs with one `eth_getLogs` (address filter) and attaches them by block
//! number. If a log's block hash is not its header's hash, or the header at the range's end
//! changed meanwhile, the chain moved between the calls and the range is fetched again.
//!
//! If the first new block does not build on the tip, or the latest block is at or below the tip
//! with another hash, the source looks for the fork point: it walks back through the window of
//! the last [`RpcSourceOptions::window`] blocks it emitted (default 256), comparing each with the
//! node's canonical hash at that height, and emits one `Reorged` (or `Reverted`, if the node has
//! no block above the fork point). A node whose chain got shorter while the source follows it
//! is taken at its word (a rollback, such as op-node resetting the unsafe head): the blocks above
//! its latest are reverted, and committed again if they come back.
//!
//! ## Resuming
//!
//! [`StartFrom::Block`] starts a fresh handler at a block number (inclusive); a later reorg that
//! reaches below that block reverts only from it (the handler never had the blocks before).
//! [`StartFrom::Head`] resumes after the head the handler persisted: once the node has reached
//! that height (a node still syncing after a restart is waited for, not taken for a rollback),
//! the source compares the head's hash with the node's canonical hash at its height. If they
//! match, following starts after it. If not, the head was reorged away while the source was down
//! and the source emits one `Reverted` event for the part of the handler's chain it can prove
//! stale, then backfills the canonical chain from the fork point with `Committed` events.
//!
//! Beyond its window (always, after a restart, where it remembers nothing but the head) the
//! source walks back by asking the node for the stale blocks by hash (`eth_getBlockByHash`):
//! op-geth and op-reth keep side-chain blocks, so a stale block's parent hash leads to the next
//! one down until a block is canonical again (at most 1,024 blocks). Blocks found that way are
//! reverted with their header but without logs: the handler reverts by number and hash (see
//! [`BlockHandler::revert_block`](crate::BlockHandler::revert_block)). Blocks from the window
//! are reverted with the logs they were committed with.
//!
//! **Limit.** A node that no longer has a stale block (anvil drops reorged-away blocks) ends the
//! walk there: that block is reported with the node's canonical block below it as its parent,
//! timestamp 0 and no logs. So a reorg deeper than the window, or one that happened while the
//! source was down, is reported as reverting the stale blocks the node still knows, or just the
//! head; if the handler's blocks below those were stale too, the handler is not told. A genesis
//! block that does not match is another chain, and an error.
//!
//! ## Failures and shutdown
//!
//! Transient failures (connection refused, timeouts after
//! [`RpcSourceOptions::request_timeout`], a node restarting, a closed subscription, JSON-RPC
//! errors) are logged with `tracing` (target `routing::source`) and retried after an exponential
//! backoff between [`Backoff::min`] and [`Backoff::max`], reconnecting; they are never returned.
//! [`EventSource::next_event`] fails only for configuration errors: an unsupported URL scheme
//! (rejected by [`RpcSource::connect`]) or a node serving another chain (another genesis block).
//! It returns `Ok(None)` once [`RpcSourceOptions::shutdown`] is cancelled, also while it waits
//! or backs off. Neither that nor dropping a `next_event` future loses an event: the source's
//! state changes only when it hands an event out.
//!
//! [`EventSource::finished_height`] is recorded ([`RpcSource::finished`]); there is nothing to
//! prune over JSON-RPC.

use crate::{Block, BlockRef, Chain, ChainEvent, EventSource, LogEntry, SourceError};
use alloy::{
    eips::BlockNumberOrTag,
    network::Ethereum,
    providers::{DynProvider, Provider, ProviderBuilder, RootProvider},
    pubsub::RawSubscription,
    rpc::types::{Filter, Log},
    transports::{http::reqwest::Url, ws::WsConnect, TransportResult},
};
use alloy_primitives::{Address, B256};
use futures::{StreamExt, TryStreamExt};
use std::{collections::VecDeque, future::IntoFuture, time::Duration};
use tokio::sync::broadcast::error::TryRecvError;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// The `tracing` target of the source's logs.
pub const LOG_TARGET: &str = "routing::source";

/// How many headers are fetched concurrently.
const HEADER_CONCURRENCY: usize = 8;

/// How many times in a row the chain may move under a fetch before that counts as a failure
/// (and is retried after a backoff instead of at once).
const MAX_CHANGED_STREAK: u32 = 8;

/// How many stale blocks the source looks up by hash, beyond its window, before it stops.
const MAX_WALK_BY_HASH: usize = 1024;

/// Where a source starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartFrom {
    /// The head the handler persisted: resume after it (first reverting it if it is no longer
    /// canonical).
    Head(BlockRef),
    /// A fresh handler: start at this block number, inclusive.
    Block(u64),
}

impl StartFrom {
    /// `Head(head)` for a handler that has a head, else `Block(first)`.
    pub const fn resume_or(head: Option<BlockRef>, first: u64) -> Self {
        match head {
            Some(head) => Self::Head(head),
            None => Self::Block(first),
        }
    }
}

/// Bounds of the exponential backoff between retries after a transient failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay (also after a success).
    pub min: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 250 ms doubling up to 30 s.
    fn default() -> Self {
        Self { min: Duration::from_millis(250), max: Duration::from_secs(30) }
    }
}

/// How an [`RpcSource`] follows the node.
#[derive(Clone, Debug)]
pub struct RpcSourceOptions {
    /// The settlement contract: only its logs are fetched.
    pub settlement: Address,
    /// Where to start.
    pub start: StartFrom,
    /// How often to look at the node's latest block: the polling period over HTTP, the fallback
    /// for missed `newHeads` notifications over WebSocket. Default 1 s.
    pub poll_interval: Duration,
    /// Most blocks per `Committed` event (and per `eth_getLogs` range). Default 100.
    pub max_range: u64,
    /// How many of the last emitted blocks the source remembers for reorg detection. Default
    /// 256.
    pub window: usize,
    /// Backoff between retries after a transient failure.
    pub reconnect: Backoff,
    /// How long one JSON-RPC request (or connecting) may take before it counts as failed.
    /// Default 30 s.
    pub request_timeout: Duration,
    /// Cancel to stop the source: `next_event` then returns `Ok(None)`.
    pub shutdown: CancellationToken,
}

impl RpcSourceOptions {
    /// Options with the defaults for a settlement contract and a start.
    pub fn new(settlement: Address, start: StartFrom) -> Self {
        Self {
            settlement,
            start,
            poll_interval: Duration::from_secs(1),
            max_range: 100,
            window: 256,
            reconnect: Backoff::default(),
            request_timeout: Duration::from_secs(30),
            shutdown: CancellationToken::new(),
        }
    }

    fn validate(&self) -> Result<(), SourceError> {
        let bad = |what: &str| Err(SourceError(format!("invalid RpcSource options: {what}")));
        if self.max_range == 0 {
            return bad("max_range must be at least 1");
        }
        if self.window == 0 {
            return bad("window must be at least 1");
        }
        if self.poll_interval.is_zero() || self.request_timeout.is_zero() {
            return bad("poll_interval and request_timeout must be positive");
        }
        if self.reconnect.min.is_zero() || self.reconnect.min > self.reconnect.max {
            return bad("reconnect backoff needs 0 < min <= max");
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Http,
    Ws,
}

/// A live connection: the provider and, over WebSocket, the `newHeads` subscription.
struct Conn {
    provider: DynProvider<Ethereum>,
    heads: Option<RawSubscription>,
}

/// Why a step did not produce its outcome.
#[derive(Debug)]
enum Failure {
    /// The chain moved between two calls: look again at once.
    Changed(&'static str),
    /// A transient failure: back off, reconnect and look again.
    Transient(String),
    /// A configuration error: give up.
    Fatal(String),
}

type Res<T> = Result<T, Failure>;

/// What a step found.
enum Outcome {
    /// The persisted head is canonical: follow from it.
    Resumed(Block),
    /// An event to hand out. `base` is the fork point of a reverted chain: the window's tip once
    /// the reverted blocks are dropped from it.
    Emit { event: ChainEvent, base: Option<Block> },
}

/// Headers of a range, or the sign that the range does not build on the expected parent.
enum Fetched {
    Blocks(Vec<Block>),
    ParentMismatch,
}

/// Follows an OP Stack execution client over JSON-RPC (HTTP polling or WebSocket `newHeads`)
/// and turns its canonical chain into [`ChainEvent`]s; see the [module docs](crate::rpc_source).
pub struct RpcSource {
    url: Url,
    transport: Transport,
    opts: RpcSourceOptions,
    conn: Option<Conn>,
    /// The persisted head still to be checked (`StartFrom::Head`).
    resume: Option<BlockRef>,
    /// The lowest block the handler has ever had (`StartFrom::Block`), 0 if unknown.
    floor: u64,
    /// The first block to fetch while nothing was emitted (`StartFrom::Block`).
    next: u64,
    /// The last emitted canonical blocks, oldest first; the back is the tip.
    window: VecDeque<Block>,
    finished: Option<BlockRef>,
    delay: Duration,
    changed_streak: u32,
}

impl std::fmt::Debug for RpcSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcSource")
            .field("url", &redact(&self.url))
            .field("transport", &self.transport)
            .field("connected", &self.conn.is_some())
            .field("tip", &self.tip())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl RpcSource {
    /// A source following the node at `url` (`http://`, `https://`, `ws://` or `wss://`).
    ///
    /// Fails only on a bad URL or bad options. It tries to connect once; a node that is not
    /// reachable yet is retried by [`EventSource::next_event`].
    pub async fn connect(url: &str, options: RpcSourceOptions) -> Result<Self, SourceError> {
        let parsed =
            Url::parse(url).map_err(|e| SourceError(format!("bad node URL {url:?}: {e}")))?;
        let transport = match parsed.scheme() {
            "http" | "https" => Transport::Http,
            "ws" | "wss" => Transport::Ws,
            other => {
                return Err(SourceError(format!(
                    "unsupported node URL scheme {other:?}: use http, https, ws or wss"
                )))
            }
        };
        options.validate()?;
        let (resume, floor, next) = match options.start {
            StartFrom::Head(head) => (Some(head), 0, head.number + 1),
            StartFrom::Block(number) => (None, number, number),
        };
        let delay = options.reconnect.min;
        let mut source = Self {
            url: parsed,
            transport,
            opts: options,
            conn: None,
            resume,
            floor,
            next,
            window: VecDeque::new(),
            finished: None,
            delay,
            changed_streak: 0,
        };
        match source.open().await {
            Ok(conn) => source.conn = Some(conn),
            Err(e) => warn!(
                target: LOG_TARGET,
                url = %redact(&source.url),
                error = %describe(&e),
                "node not reachable yet; will retry"
            ),
        }
        info!(target: LOG_TARGET, url = %redact(&source.url), start = ?source.opts.start, "following");
        Ok(source)
    }

    /// The last height the extension reported finished ([`EventSource::finished_height`]).
    pub const fn finished(&self) -> Option<BlockRef> {
        self.finished
    }

    /// The last block handed out as canonical (after a revert: the fork point), if any.
    pub fn tip(&self) -> Option<BlockRef> {
        self.window.back().map(Block::block_ref).or(self.resume)
    }

    /// The options the source runs with.
    pub const fn options(&self) -> &RpcSourceOptions {
        &self.opts
    }

    async fn open(&self) -> Res<Conn> {
        match self.transport {
            Transport::Http => {
                let provider = RootProvider::<Ethereum>::new_http(self.url.clone()).erased();
                Ok(Conn { provider, heads: None })
            }
            Transport::Ws => {
                // One reconnect attempt inside alloy; the source's own backoff does the rest.
                let ws = WsConnect::new(self.url.as_str())
                    .with_max_retries(1)
                    .with_retry_interval(self.opts.reconnect.min);
                let provider = self
                    .call(
                        "connect",
                        ProviderBuilder::new().disable_recommended_fillers().connect_ws(ws),
                    )
                    .await?
                    .erased();
                let heads = self.call("eth_subscribe", provider.subscribe_blocks()).await?;
                Ok(Conn { provider, heads: Some(heads.into_raw()) })
            }
        }
    }

    /// One request with the request timeout; every failure is transient.
    async fn call<T, F>(&self, what: &'static str, request: F) -> Res<T>
    where
        F: IntoFuture<Output = TransportResult<T>>,
    {
        match tokio::time::timeout(self.opts.request_timeout, request.into_future()).await {
            Ok(Ok(value)) => Ok(value),
            // Transport errors quote the URL, which may hold an API key.
            Ok(Err(e)) => Err(Failure::Transient(
                format!("{what}: {e}").replace(self.url.as_str(), &redact(&self.url)),
            )),
            Err(_) => Err(Failure::Transient(format!(
                "{what}: no answer within {:?}",
                self.opts.request_timeout
            ))),
        }
    }

    /// The canonical block at `number` (header only), `None` above the node's chain.
    async fn header(&self, p: &DynProvider<Ethereum>, number: u64) -> Res<Option<Block>> {
        let block = self.call("eth_getBlockByNumber", p.get_block_by_number(number.into())).await?;
        Ok(block.map(|b| header_block(&b.header)))
    }

    async fn latest(&self, p: &DynProvider<Ethereum>) -> Res<Block> {
        let block = self
            .call("eth_getBlockByNumber", p.get_block_by_number(BlockNumberOrTag::Latest))
            .await?;
        block
            .map(|b| header_block(&b.header))
            .ok_or_else(|| Failure::Transient("the node has no latest block".into()))
    }

    async fn block_by_hash(&self, p: &DynProvider<Ethereum>, hash: B256) -> Res<Option<Block>> {
        let block = self.call("eth_getBlockByHash", p.get_block_by_hash(hash)).await?;
        Ok(block.map(|b| header_block(&b.header)))
    }

    /// Waits until the node's latest block satisfies `ready`, and returns it.
    async fn wait_for(&self, conn: &mut Conn, ready: impl Fn(&Block) -> bool) -> Res<Block> {
        loop {
            // Notifications that arrived while the source was busy are covered by the look below.
            if let Some(heads) = conn.heads.as_mut() {
                loop {
                    match heads.try_recv() {
                        Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Closed) => {
                            return Err(Failure::Transient("newHeads subscription closed".into()))
                        }
                    }
                }
            }
            let latest = self.latest(&conn.provider).await?;
            if ready(&latest) {
                return Ok(latest);
            }
            match conn.heads.as_mut() {
                Some(heads) => {
                    tokio::select! {
                        next = heads.recv() => {
                            if let Err(tokio::sync::broadcast::error::RecvError::Closed) = next {
                                return Err(Failure::Transient("newHeads subscription closed".into()));
                            }
                        }
                        () = tokio::time::sleep(self.opts.poll_interval) => {}
                    }
                }
                None => tokio::time::sleep(self.opts.poll_interval).await,
            }
        }
    }

    /// The blocks `from..=to` with their settlement logs, checked to be consecutive and, with
    /// `parent`, to build on it.
    async fn fetch_range(
        &self,
        p: &DynProvider<Ethereum>,
        from: u64,
        to: u64,
        parent: Option<B256>,
    ) -> Res<Fetched> {
        let headers: Vec<Option<Block>> = futures::stream::iter(from..=to)
            .map(|n| self.header(p, n))
            .buffered(HEADER_CONCURRENCY)
            .try_collect()
            .await?;
        let mut blocks: Vec<Block> = headers
            .into_iter()
            .collect::<Option<_>>()
            .ok_or(Failure::Changed("a block of the range disappeared"))?;
        if blocks.windows(2).any(|w| w[1].parent_hash != w[0].hash) {
            return Err(Failure::Changed("the range's headers do not link"));
        }
        if parent.is_some_and(|parent| blocks[0].parent_hash != parent) {
            return Ok(Fetched::ParentMismatch);
        }
        let filter = Filter::new().address(self.opts.settlement).from_block(from).to_block(to);
        let logs = self.call("eth_getLogs", p.get_logs(&filter)).await?;
        for log in logs {
            let (number, block_hash, entry) = log_entry(log)?;
            let block = number
                .checked_sub(from)
                .and_then(|i| blocks.get_mut(i as usize))
                .ok_or(Failure::Changed("a log outside the requested range"))?;
            if block_hash != block.hash {
                return Err(Failure::Changed("a log's block hash is not its header's"));
            }
            block.logs.push(entry);
        }
        for block in &mut blocks {
            block.logs.sort_by_key(|l| l.log_index);
        }
        // The logs belong to these headers only if the range's end is still canonical.
        let end = self.header(p, to).await?;
        if end.map(|b| b.hash) != Some(blocks[blocks.len() - 1].hash) {
            return Err(Failure::Changed("the range's last block changed while fetching logs"));
        }
        Ok(Fetched::Blocks(blocks))
    }

    /// Walks back from `cur`, a block the handler has, while it is not canonical, pushing the
    /// stale blocks onto `stale` (newest first); returns the canonical fork point.
    async fn walk_back(
        &self,
        p: &DynProvider<Ethereum>,
        stale: &mut Vec<Block>,
        mut cur: BlockRef,
    ) -> Res<Block> {
        let mut walked = 0;
        loop {
            let canonical = self.header(p, cur.number).await?;
            if let Some(block) = &canonical {
                if block.hash == cur.hash || cur.number < self.floor {
                    // Canonical, or a block the handler never had (below its first block).
                    return Ok(block.clone());
                }
            }
            if cur.number == 0 {
                return Err(Failure::Fatal(format!(
                    "the node's genesis block is {:?}, not the handler's {}: another chain",
                    canonical.map(|b| b.hash),
                    cur.hash
                )));
            }
            let old = if walked < MAX_WALK_BY_HASH {
                walked += 1;
                self.block_by_hash(p, cur.hash).await?
            } else {
                None
            };
            match old {
                Some(block) => {
                    cur = block.parent_ref();
                    stale.push(block);
                }
                None => {
                    // The node no longer has it: the limit of what can be proven stale.
                    let fork = self.header(p, cur.number - 1).await?.ok_or_else(|| {
                        Failure::Transient(format!(
                            "cannot place stale block {} ({}): the node has no block below it",
                            cur.number, cur.hash
                        ))
                    })?;
                    warn!(
                        target: LOG_TARGET,
                        number = cur.number,
                        hash = %cur.hash,
                        "the node no longer has this stale block; reverting down to it only"
                    );
                    stale.push(Block {
                        number: cur.number,
                        hash: cur.hash,
                        parent_hash: fork.hash,
                        timestamp: 0,
                        logs: Vec::new(),
                    });
                    return Ok(fork);
                }
            }
        }
    }

    /// The event replacing the stale blocks of the window (or `resume_head`, when resuming)
    /// with the canonical chain up to `latest`.
    async fn reorg(
        &self,
        conn: &Conn,
        latest: &Block,
        resume_head: Option<BlockRef>,
    ) -> Res<Outcome> {
        let p = &conn.provider;
        let mut stale = Vec::new();
        let mut fork = None;
        for block in self.window.iter().rev() {
            match self.header(p, block.number).await? {
                Some(canonical) if canonical.hash == block.hash => {
                    fork = Some(canonical);
                    break;
                }
                _ => stale.push(block.clone()),
            }
        }
        if let Some(genesis) = stale.last().filter(|b| b.number == 0) {
            return Err(Failure::Fatal(format!(
                "the node's genesis block is not the handler's {}: another chain",
                genesis.hash
            )));
        }
        let fork = match (fork, stale.last().map(Block::parent_ref), resume_head) {
            (Some(fork), _, _) => fork,
            (None, Some(below), _) => self.walk_back(p, &mut stale, below).await?,
            (None, None, Some(head)) => self.walk_back(p, &mut stale, head).await?,
            (None, None, None) => return Err(Failure::Changed("nothing to revert")),
        };
        if stale.is_empty() {
            return Err(Failure::Changed("the tip is canonical again"));
        }
        stale.reverse();
        let old = Chain::new(stale)
            .map_err(|e| Failure::Transient(format!("stale blocks do not form a chain: {e}")))?;
        let from = fork.number + 1;
        let event = if latest.number < from || resume_head.is_some() {
            ChainEvent::Reverted { old }
        } else {
            let span = self.opts.max_range.max(old.blocks().len() as u64);
            let to = latest.number.min(fork.number + span);
            match self.fetch_range(p, from, to, Some(fork.hash)).await? {
                Fetched::Blocks(new) => ChainEvent::Reorged {
                    old,
                    new: Chain::new(new).expect("fetch_range checks the links"),
                },
                Fetched::ParentMismatch => {
                    return Err(Failure::Changed("the fork point changed while fetching"))
                }
            }
        };
        Ok(Outcome::Emit { event, base: Some(fork) })
    }

    /// Looks at the node once (waiting for it to move past the tip) and says what to hand out.
    async fn step_with(&self, conn: &mut Conn) -> Res<Outcome> {
        if let Some(head) = self.resume {
            let latest = self.wait_for(conn, |l| l.number >= head.number).await?;
            let at_head = self
                .header(&conn.provider, head.number)
                .await?
                .ok_or(Failure::Changed("the head's height disappeared"))?;
            if at_head.hash == head.hash {
                return Ok(Outcome::Resumed(at_head));
            }
            return self.reorg(conn, &latest, Some(head)).await;
        }
        let Some(tip) = self.window.back().map(Block::block_ref) else {
            let next = self.next;
            let latest = self.wait_for(conn, |l| l.number >= next).await?;
            let to = latest.number.min(next + self.opts.max_range - 1);
            let Fetched::Blocks(new) = self.fetch_range(&conn.provider, next, to, None).await?
            else {
                unreachable!("no parent to mismatch")
            };
            let new = Chain::new(new).expect("fetch_range checks the links");
            return Ok(Outcome::Emit { event: ChainEvent::Committed { new }, base: None });
        };
        let latest = self.wait_for(conn, |l| l.hash != tip.hash).await?;
        if latest.number > tip.number {
            let to = latest.number.min(tip.number + self.opts.max_range);
            match self.fetch_range(&conn.provider, tip.number + 1, to, Some(tip.hash)).await? {
                Fetched::Blocks(new) => {
                    let new = Chain::new(new).expect("fetch_range checks the links");
                    return Ok(Outcome::Emit { event: ChainEvent::Committed { new }, base: None });
                }
                Fetched::ParentMismatch => {}
            }
        }
        self.reorg(conn, &latest, None).await
    }

    async fn step(&mut self) -> Res<Outcome> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.open().await?,
        };
        let outcome = self.step_with(&mut conn).await;
        if !matches!(outcome, Err(Failure::Transient(_))) {
            self.conn = Some(conn);
        }
        outcome
    }

    /// Moves the window past a handed-out event.
    fn advance(&mut self, event: &ChainEvent, base: Option<Block>) {
        if let Some(old) = event.reverted() {
            let first = old.first().number;
            while self.window.back().is_some_and(|b| b.number >= first) {
                self.window.pop_back();
            }
        }
        if let Some(base) = base {
            if self.window.back().map(|b| b.hash) != Some(base.hash) {
                self.window.clear();
                self.window.push_back(base);
            }
        }
        if let Some(new) = event.committed() {
            self.window.extend(new.blocks().iter().cloned());
        }
        while self.window.len() > self.opts.window {
            self.window.pop_front();
        }
        self.resume = None;
        if let Some(tip) = self.window.back() {
            self.next = tip.number + 1;
        }
    }
}

impl EventSource for RpcSource {
    async fn next_event(&mut self) -> Result<Option<ChainEvent>, SourceError> {
        let shutdown = self.opts.shutdown.clone();
        loop {
            if shutdown.is_cancelled() {
                return Ok(None);
            }
            let outcome = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(None),
                outcome = self.step() => outcome,
            };
            match outcome {
                Ok(Outcome::Resumed(head)) => {
                    info!(target: LOG_TARGET, number = head.number, hash = %head.hash, "persisted head is canonical; resuming after it");
                    self.window.clear();
                    self.window.push_back(head);
                    self.resume = None;
                    self.delay = self.opts.reconnect.min;
                    self.changed_streak = 0;
                }
                Ok(Outcome::Emit { event, base }) => {
                    log_event(&event);
                    self.advance(&event, base);
                    self.delay = self.opts.reconnect.min;
                    self.changed_streak = 0;
                    return Ok(Some(event));
                }
                Err(Failure::Changed(why)) if self.changed_streak < MAX_CHANGED_STREAK => {
                    self.changed_streak += 1;
                    debug!(target: LOG_TARGET, reason = why, "the chain moved while fetching; looking again");
                }
                Err(Failure::Changed(why)) => self.back_off(&shutdown, why.to_string()).await,
                Err(Failure::Transient(error)) => self.back_off(&shutdown, error).await,
                Err(Failure::Fatal(error)) => return Err(SourceError(error)),
            }
        }
    }

    fn finished_height(&mut self, height: BlockRef) {
        self.finished = Some(height);
    }
}

impl RpcSource {
    async fn back_off(&mut self, shutdown: &CancellationToken, error: String) {
        warn!(
            target: LOG_TARGET,
            url = %redact(&self.url),
            error = %error,
            retry_in = ?self.delay,
            "node request failed; retrying"
        );
        self.conn = None;
        self.changed_streak = 0;
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(self.delay) => {}
        }
        self.delay = (self.delay * 2).min(self.opts.reconnect.max);
    }
}

fn log_event(event: &ChainEvent) {
    let range = |c: &Chain| (c.first().number, c.tip().number);
    match event {
        ChainEvent::Committed { new } => {
            let (from, to) = range(new);
            debug!(target: LOG_TARGET, from, to, tip = %new.tip().hash, "committed");
        }
        ChainEvent::Reverted { old } => {
            let (from, to) = range(old);
            info!(target: LOG_TARGET, from, to, "reverted");
        }
        ChainEvent::Reorged { old, new } => {
            let (old_from, old_to) = range(old);
            let (new_from, new_to) = range(new);
            info!(target: LOG_TARGET, old_from, old_to, new_from, new_to, tip = %new.tip().hash, "reorged");
        }
    }
}

fn header_block(header: &alloy::rpc::types::Header) -> Block {
    Block {
        number: header.number,
        hash: header.hash,
        parent_hash: header.parent_hash,
        timestamp: header.timestamp,
        logs: Vec::new(),
    }
}

/// A log as its block's number and hash and the entry.
fn log_entry(log: Log) -> Res<(u64, B256, LogEntry)> {
    let (
        Some(number),
        Some(block_hash),
        Some(transaction_hash),
        Some(transaction_index),
        Some(log_index),
    ) = (
        log.block_number,
        log.block_hash,
        log.transaction_hash,
        log.transaction_index,
        log.log_index,
    )
    else {
        return Err(Failure::Changed("a log without its block or transaction (pending?)"));
    };
    if log.removed {
        return Err(Failure::Changed("a removed log"));
    }
    let entry = LogEntry {
        address: log.inner.address,
        topics: log.inner.data.topics().to_vec(),
        data: log.inner.data.data,
        transaction_hash,
        transaction_index,
        log_index,
    };
    Ok((number, block_hash, entry))
}

/// `scheme://host:port` of `url`: no credentials or API keys in logs.
fn redact(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => format!("{}://", url.scheme()),
    }
}

fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Changed(why) => (*why).to_string(),
        Failure::Transient(e) | Failure::Fatal(e) => e.clone(),
    }
}
