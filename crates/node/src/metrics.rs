//! Prometheus metrics: names, descriptions, and the exporter on its own port.

use std::net::SocketAddr;

/// Decisions admitted (new).
pub(crate) const ADMITTED: &str = "routing_decisions_admitted_total";
/// Decisions submitted again (same decision, same receipt).
pub(crate) const DUPLICATES: &str = "routing_decisions_duplicate_total";
/// Decisions refused, by error code.
pub(crate) const REJECTED: &str = "routing_decisions_rejected_total";
/// Time to admit one submit call.
pub(crate) const SUBMIT_SECONDS: &str = "routing_submit_seconds";
/// Time of one group commit of admissions.
pub(crate) const STORE_COMMIT_SECONDS: &str = "routing_store_commit_seconds";
/// Decisions waiting for a batch.
pub(crate) const PENDING: &str = "routing_pending_decisions";
/// Batches sealed.
pub(crate) const SEALED: &str = "routing_batches_sealed_total";
/// Commit transactions sent.
pub(crate) const POSTED: &str = "routing_batch_posts_total";
/// Batches committed on the canonical chain (the highest contiguous id).
pub(crate) const COMMITTED_THROUGH: &str = "routing_batches_committed";
/// Batches whose block was reorged away.
pub(crate) const REVERTED: &str = "routing_batches_reverted_total";
/// The extension's head block.
pub(crate) const HEAD: &str = "routing_head_block";
/// The execution client's latest block.
pub(crate) const CHAIN_TIP: &str = "routing_chain_tip_block";
/// Time from admission to commit on-chain, per decision batch.
pub(crate) const SEQUENCED_SECONDS: &str = "routing_submit_to_sequenced_seconds";

/// Describes the metrics and serves `/metrics` on `addr`.
pub(crate) fn install(addr: SocketAddr) -> eyre::Result<()> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|e| eyre::eyre!("cannot serve metrics on {addr}: {e}"))?;
    describe();
    Ok(())
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(ADMITTED, "Decisions admitted");
    describe_counter!(DUPLICATES, "Decisions submitted again and answered with their receipt");
    describe_counter!(REJECTED, "Decisions refused, by JSON-RPC error code");
    describe_histogram!(SUBMIT_SECONDS, Unit::Seconds, "Time to admit one submit call");
    describe_histogram!(
        STORE_COMMIT_SECONDS,
        Unit::Seconds,
        "Time of one group commit of admissions"
    );
    describe_gauge!(PENDING, "Decisions waiting for a batch");
    describe_counter!(SEALED, "Batches sealed");
    describe_counter!(POSTED, "Commit transactions sent");
    describe_gauge!(COMMITTED_THROUGH, "Highest batch id committed on the canonical chain");
    describe_counter!(REVERTED, "Batches whose commit block was reorged away");
    describe_gauge!(HEAD, "The extension's head block");
    describe_gauge!(CHAIN_TIP, "The execution client's latest block");
    describe_histogram!(
        SEQUENCED_SECONDS,
        Unit::Seconds,
        "Admission to on-chain commit, per batch"
    );
}
