//! The extension loop: events in, handler effects persisted block by block, finished height out,
//! notifications to subscribers that never hold the loop up.

use crate::{Block, BlockRef, ChainEvent};
use std::future::Future;
use tokio::sync::broadcast;

/// Where chain events come from: a JSON-RPC follower, op-reth's ExEx notifications, a test.
pub trait EventSource: Send {
    /// The next event, in chain order; `Ok(None)` when the source has ended (shutdown).
    ///
    /// A source resumes from the head the handler persisted (given to its constructor): it
    /// first reverts anything past that head that is no longer canonical, then backfills.
    fn next_event(
        &mut self,
    ) -> impl Future<Output = Result<Option<ChainEvent>, SourceError>> + Send;

    /// Reports that every block up to and including `height` is processed and persisted (reth's
    /// `ExExEvent::FinishedHeight`). Called after every block, not only at a segment's tip.
    fn finished_height(&mut self, height: BlockRef);
}

/// A source failure the extension cannot recover from (transient failures, such as a node that
/// went away, are the source's to retry).
#[derive(Debug, thiserror::Error)]
#[error("event source: {0}")]
pub struct SourceError(pub String);

/// Applies blocks to the extension's state. Each call persists its effects together with the new
/// head, atomically, so a crash between two calls loses nothing and repeats nothing.
pub trait BlockHandler: Send {
    /// The error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The persisted head: the last block applied (`None` before the first).
    fn head(&self) -> Result<Option<BlockRef>, Self::Error>;

    /// Applies `block`, appended to the canonical chain on top of the head; the head becomes
    /// `block`. A block at or below the head is already applied and must be ignored.
    fn commit_block(&mut self, block: &Block) -> Result<(), Self::Error>;

    /// Undoes `block`, removed from the tip of the canonical chain; the head becomes its parent.
    /// Must work from the block's number and hash alone: a source that restarted may no longer
    /// have the logs of blocks it is told to revert.
    fn revert_block(&mut self, block: &Block) -> Result<(), Self::Error>;
}

/// Why the extension stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExExError {
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The handler failed (a storage error): the extension stops rather than skip a block.
    #[error("handler: {0}")]
    Handler(Box<dyn std::error::Error + Send + Sync>),
}

/// What subscribers are told after each processed block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Processed {
    /// The block was applied.
    Committed(BlockRef),
    /// The block was undone.
    Reverted(BlockRef),
}

/// The extension: drains a [`EventSource`] into a [`BlockHandler`].
///
/// For every event it handles the reverted chain first (newest block first), then the committed
/// chain (oldest first); after every block it reports the finished height to the source and
/// notifies subscribers through a bounded broadcast channel, whose slow receivers lag and skip
/// rather than block the extension.
pub struct RoutingExEx<S, H> {
    source: S,
    handler: H,
    notifications: Option<broadcast::Sender<Processed>>,
}

impl<S, H> std::fmt::Debug for RoutingExEx<S, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutingExEx").finish_non_exhaustive()
    }
}

impl<S: EventSource, H: BlockHandler> RoutingExEx<S, H> {
    /// An extension reading `source` into `handler`.
    pub const fn new(source: S, handler: H) -> Self {
        Self { source, handler, notifications: None }
    }

    /// Notifies `sender`'s subscribers after every processed block.
    pub fn with_notifications(mut self, sender: broadcast::Sender<Processed>) -> Self {
        self.notifications = Some(sender);
        self
    }

    /// Runs until the source ends; returns the handler.
    pub async fn run(mut self) -> Result<H, ExExError> {
        while let Some(event) = self.source.next_event().await? {
            self.apply(&event)?;
        }
        Ok(self.handler)
    }

    /// Applies one event: the reverted chain first, newest block first, then the committed
    /// chain, oldest first.
    pub fn apply(&mut self, event: &ChainEvent) -> Result<(), ExExError> {
        let fail = |e: H::Error| ExExError::Handler(Box::new(e));
        if let Some(old) = event.reverted() {
            for block in old.blocks().iter().rev() {
                self.handler.revert_block(block).map_err(fail)?;
                self.source.finished_height(block.parent_ref());
                self.notify(Processed::Reverted(block.block_ref()));
            }
        }
        if let Some(new) = event.committed() {
            for block in new.blocks() {
                self.handler.commit_block(block).map_err(fail)?;
                self.source.finished_height(block.block_ref());
                self.notify(Processed::Committed(block.block_ref()));
            }
        }
        Ok(())
    }

    fn notify(&self, processed: Processed) {
        if let Some(tx) = &self.notifications {
            // No receivers is fine; a full channel drops the oldest for lagging receivers.
            let _ = tx.send(processed);
        }
    }

    /// The handler.
    pub const fn handler(&self) -> &H {
        &self.handler
    }
}
