//! The `routing_` JSON-RPC namespace of the routing node.
//!
//! One trait, [`RoutingApi`], gives both the server trait the node implements
//! ([`RoutingApiServer`]) and a typed client ([`RoutingApiClient`], usable with jsonrpsee's HTTP
//! and WebSocket clients). Conventions are Ethereum's: quantities are `0x` hex ([`U64`]), hashes
//! and byte strings `0x` data; errors carry a stable code from [`codes`] and a message that names
//! the problem.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use routing_rpc_api::{RoutingApiClient, U64};
//! let client = jsonrpsee::http_client::HttpClientBuilder::default().build("http://127.0.0.1:8547")?;
//! let status = client.status().await?;
//! let batch = client.get_batch(U64::from(1)).await?;
//! println!("head {:?}, batch 1 root {}", status.head, batch.decisions_root);
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//! None.

mod types;

pub use alloy_primitives::U64;
pub use types::*;

use alloy_primitives::B256;
use jsonrpsee::{core::SubscriptionResult, proc_macros::rpc, types::ErrorObjectOwned};

/// Error codes of the `routing_` namespace. JSON-RPC's own codes are used where they fit
/// (`-32700` parse error, `-32600` invalid request, `-32601` method not found, `-32602` invalid
/// params, `-32603` internal error); jsonrpsee's server answers limits with its own
/// (`-32007` request too big, `-32010` batch request too big). The node's own codes are
/// `-33010` and below, outside the range JSON-RPC reserves for servers (`-32000` to `-32099`).
pub mod codes {
    /// Malformed or wrongly typed parameters (JSON-RPC standard).
    pub const INVALID_PARAMS: i32 = -32602;
    /// An internal error (storage); the message says what failed.
    pub const INTERNAL: i32 = -32603;
    /// The decision's EIP-712 signature does not verify for its router.
    pub const INVALID_SIGNATURE: i32 = -33010;
    /// The decision's router is not actively staked (or jailed).
    pub const ROUTER_NOT_ACTIVE: i32 = -33011;
    /// Another decision for this request id was already admitted; the data carries its receipt.
    pub const CONFLICTING_DECISION: i32 = -33012;
    /// The decision names a registry epoch the node no longer (or not yet) accepts.
    pub const REGISTRY_EPOCH: i32 = -33013;
    /// The decision does not decode (RLP) or breaks a structural limit.
    pub const INVALID_DECISION: i32 = -33014;
    /// No batch with this id.
    pub const UNKNOWN_BATCH: i32 = -33020;
    /// No decision with this request id.
    pub const UNKNOWN_DECISION: i32 = -33021;
    /// No registry of this epoch.
    pub const UNKNOWN_REGISTRY: i32 = -33022;
    /// The decision is not in a batch yet, so it has no proof; retry after it is sealed.
    pub const NOT_SEALED: i32 = -33023;
    /// Too many decisions in one `routing_submitDecisions` call.
    pub const TOO_MANY_DECISIONS: i32 = -33030;
    /// The execution client is unreachable (the staking check cannot be made); retry later.
    pub const UNAVAILABLE: i32 = -33050;
}

/// An error object with `code` and `message`.
pub fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

/// An error object with `code`, `message` and structured `data`.
pub fn error_with<T: serde::Serialize>(
    code: i32,
    message: impl Into<String>,
    data: T,
) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), Some(data))
}

/// The `routing_` namespace.
#[rpc(server, client, namespace = "routing")]
pub trait RoutingApi {
    /// Admits one signed decision: verifies its signature, checks its router is actively staked
    /// and its registry epoch is accepted, and stores it durably before answering. Idempotent by
    /// request id: the same decision again returns the same receipt; another decision for an
    /// admitted request id is refused (`CONFLICTING_DECISION`) and kept as evidence.
    #[method(name = "submitDecision")]
    async fn submit_decision(
        &self,
        decision: DecisionInput,
    ) -> Result<DecisionReceipt, ErrorObjectOwned>;

    /// Admits many decisions in one call, in order (decisions of one router keep their order):
    /// one result per decision, a receipt or an error.
    #[method(name = "submitDecisions")]
    async fn submit_decisions(
        &self,
        decisions: Vec<DecisionInput>,
    ) -> Result<Vec<SubmitResult>, ErrorObjectOwned>;

    /// An admitted decision, its receipt and where it is.
    #[method(name = "getDecision")]
    async fn get_decision(&self, request_id: B256) -> Result<DecisionView, ErrorObjectOwned>;

    /// A sealed batch.
    #[method(name = "getBatch")]
    async fn get_batch(&self, batch_id: U64) -> Result<BatchView, ErrorObjectOwned>;

    /// A page of a batch's decisions in batch order (`offset` from 0, `limit` at most 1,000).
    #[method(name = "getBatchDecisions")]
    async fn get_batch_decisions(
        &self,
        batch_id: U64,
        offset: Option<U64>,
        limit: Option<U64>,
    ) -> Result<DecisionsPage, ErrorObjectOwned>;

    /// The Merkle proof of a sealed decision, as OpenZeppelin's `MerkleProof.verify` takes it,
    /// with the batch, root, and the L2 block and transaction that committed it.
    #[method(name = "getProof")]
    async fn get_proof(&self, request_id: B256) -> Result<ProofView, ErrorObjectOwned>;

    /// Replays a batch: recomputes its root, checks every decision against the registry of its
    /// epoch, verifies every signature and the retry-token chain, and recomputes the next
    /// registry.
    #[method(name = "replayBatch")]
    async fn replay_batch(&self, batch_id: U64) -> Result<ReplayView, ErrorObjectOwned>;

    /// A registry snapshot: `epoch`, or the current one (what routers route the next decisions
    /// against).
    #[method(name = "getRegistry")]
    async fn get_registry(&self, epoch: Option<U64>) -> Result<RegistryView, ErrorObjectOwned>;

    /// The node's state: chain head and finished height, pending and sealed work, lag.
    #[method(name = "status")]
    async fn status(&self) -> Result<StatusView, ErrorObjectOwned>;

    /// Batch events as they happen: sealed, committed, reverted (WebSocket).
    #[subscription(name = "subscribeBatches" => "batches", unsubscribe = "unsubscribeBatches", item = BatchEvent)]
    async fn subscribe_batches(&self) -> SubscriptionResult;
}
