//! The routing-decision data model.

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

/// Upper bound on the attempts one decision may carry. Anything longer is rejected by the decoder
/// before the policy ever sees it.
pub const MAX_ATTEMPTS: usize = 16;

/// Upper bound on the number of decisions in one batch payload.
pub const MAX_BATCH_DECISIONS: usize = 10_000;

/// Defines a `#[repr(u8)]` enum whose wire form is its discriminant, with a checked conversion
/// from `u8` that refuses unknown values.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[repr(u8)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value ),+
        }

        impl $name {
            /// Every variant, in discriminant order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// The name of the field this enum fills, used in decode errors.
            pub const FIELD: &'static str = $field;

            /// The wire value.
            pub const fn as_u8(self) -> u8 {
                self as u8
            }
        }

        impl TryFrom<u8> for $name {
            type Error = crate::DecodeError;

            fn try_from(value: u8) -> Result<Self, Self::Error> {
                match value {
                    $( $value => Ok(Self::$variant), )+
                    _ => Err(crate::DecodeError::UnknownValue { field: $field, value }),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                value as u8
            }
        }
    };
}

wire_enum! {
    /// How one attempt at a provider ended.
    OutcomeClass, "outcome" {
        /// The provider answered with a valid response.
        Success = 0,
        /// No answer within the attempt's timeout.
        Timeout = 1,
        /// The provider failed (5xx-like).
        ProviderError = 2,
        /// The provider answered, but the answer failed validation. The response was committed,
        /// so retrying would be a duplicate generation.
        ValidationFailed = 3,
        /// The provider refused for load (429-like).
        Overloaded = 4,
        /// The provider rejected the request for good (4xx-like): retrying cannot help.
        RejectedTerminal = 5,
    }
}

impl OutcomeClass {
    /// Bit of this class in a retryable-class mask.
    pub const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Whether this outcome counts as a failure for reliability and retry throttling.
    pub const fn is_failure(self) -> bool {
        !matches!(self, Self::Success)
    }
}

wire_enum! {
    /// Why a decision moved to the fallback tier.
    FallbackTrigger, "trigger" {
        /// No fallback happened.
        None = 0,
        /// The request's own attempt cap was spent on the primary tiers.
        RetryBudgetExhausted = 1,
        /// The router's fleet-wide retry tokens were at or below the throttling threshold.
        FleetBudgetExhausted = 2,
        /// Every eligible primary provider was tried.
        TiersExhausted = 3,
        /// No primary provider was eligible for the first attempt at all.
        NoPrimaryProvider = 4,
    }
}

wire_enum! {
    /// How a decision ended.
    Resolution, "resolution" {
        /// The last attempt succeeded.
        Served = 0,
        /// The logical deadline passed before another attempt could start.
        DeadlineExceeded = 1,
        /// The last attempt ended with an outcome class the policy does not retry.
        NonRetryable = 2,
        /// Nothing was left to try: the fallback attempt failed or no provider was eligible.
        Exhausted = 3,
    }
}

/// An inference request as the router saw it. All times are logical milliseconds recorded in
/// the request, never read from a clock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// Unique request id chosen by the client.
    pub id: B256,
    /// The model class asked for; only providers registered for it are eligible.
    pub model_class: u32,
    /// Logical submission time.
    pub submit_ms: u64,
    /// Logical absolute deadline; no attempt may start at or after it.
    pub deadline_ms: u64,
    /// Retries allowed on the primary tiers, on top of the first attempt.
    pub retry_budget: u8,
}

/// One attempt at one provider.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The provider tried.
    pub provider: Address,
    /// The tier the provider was tried in.
    pub tier: u8,
    /// How it ended.
    pub outcome: OutcomeClass,
    /// Logical time the attempt took; the next attempt starts this much later.
    pub latency_ms: u32,
}

/// A complete routing decision: the request, every attempt in order, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The request routed.
    pub request: Request,
    /// Every attempt, in the order made.
    pub attempts: Vec<Attempt>,
    /// Provider of the last attempt, or zero when no attempt was made.
    pub final_provider: Address,
    /// Tier of the last attempt, or zero when no attempt was made.
    pub final_tier: u8,
    /// Number of attempts after the first.
    pub retry_count: u8,
    /// Why the decision moved to the fallback tier, if it did.
    pub trigger: FallbackTrigger,
    /// How the decision ended.
    pub resolution: Resolution,
    /// Epoch of the registry snapshot the decision was made against.
    pub registry_epoch: u64,
    /// The router's retry-throttling tokens (in milli-tokens) before this decision's first
    /// attempt.
    pub budget_tokens: u32,
    /// The router that made (and signs) the decision.
    pub router: Address,
}

impl Decision {
    /// Logical start time of attempt `index`: the submit time plus the latencies of every
    /// earlier attempt. Saturates instead of overflowing.
    pub fn attempt_start_ms(&self, index: usize) -> u64 {
        self.attempts[..index.min(self.attempts.len())]
            .iter()
            .fold(self.request.submit_ms, |t, a| t.saturating_add(u64::from(a.latency_ms)))
    }

    /// Logical time the decision ended (after its last attempt).
    pub fn end_ms(&self) -> u64 {
        self.attempt_start_ms(self.attempts.len())
    }
}

/// A decision with the router's EIP-712 signature over it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedDecision {
    /// The decision.
    pub decision: Decision,
    /// 65-byte `r || s || v` signature (`v` is 27 or 28).
    pub signature: alloy_primitives::Bytes,
}

/// A provider's entry in the registry snapshot a batch is routed against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderEntry {
    /// The provider's address.
    pub provider: Address,
    /// The model class it serves.
    pub model_class: u32,
    /// Its tier (0 is the best; the policy's fallback tier is the last resort).
    pub tier: u8,
    /// Reliability in parts per million, a fixed-point EWMA over committed outcomes.
    pub reliability_ppm: u32,
    /// Logical time before which the provider is cooling down and not eligible.
    pub cooldown_until_ms: u64,
}

/// A router's retry-throttling state carried from one batch to the next.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterBudget {
    /// The router.
    pub router: Address,
    /// Its tokens in milli-tokens after the last batch it appeared in.
    pub tokens: u32,
}

/// The header a sequencer commits for a sealed batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchHeader {
    /// Sequential batch id, starting at 1.
    pub batch_id: u64,
    /// Hash of the previous batch's header, zero for the first batch.
    pub prev_hash: B256,
    /// Merkle root of the batch's decision leaves.
    pub decisions_root: B256,
    /// Merkle root of the registry the batch was routed against.
    pub registry_root: B256,
    /// Number of decisions in the batch.
    pub count: u32,
    /// First L2 block containing the batch's commitment, once known (zero before).
    pub l2_block_start: u64,
    /// Last L2 block containing the batch's commitment, once known (zero before).
    pub l2_block_end: u64,
}

/// The routing policy's parameters. They are part of the registry snapshot (and its root), so a
/// batch is always replayed under the parameters it was routed with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyParams {
    /// Fleet-wide cap on attempts at the primary tiers, whatever a request's own budget says
    /// (gRPC clients cap at 5).
    pub max_attempts: u8,
    /// The last-resort tier. Tiers below it are primary; tiers above it are never used.
    pub fallback_tier: u8,
    /// Bit mask of [`OutcomeClass`]es that may be retried (see [`OutcomeClass::bit`]).
    pub retryable_mask: u8,
    /// Providers below this reliability get no follow-up passes (attempts after the first).
    pub reliability_floor_ppm: u32,
    /// Retry-throttling bucket size in milli-tokens; retries stop at or below half of it.
    pub token_max: u32,
    /// Milli-tokens credited for a success (gRPC `tokenRatio`, × 1000).
    pub token_ratio: u32,
    /// Milli-tokens debited for a failure.
    pub token_failure_cost: u32,
    /// EWMA weight of one committed outcome in parts per million.
    pub ewma_alpha_ppm: u32,
    /// Failures within one batch that put a provider into cooldown.
    pub cooldown_failures: u32,
    /// Logical length of a cooldown, counted from the batch's last logical time.
    pub cooldown_ms: u64,
}

impl PolicyParams {
    /// Whether `outcome` may be retried.
    pub const fn is_retryable(&self, outcome: OutcomeClass) -> bool {
        self.retryable_mask & outcome.bit() != 0
    }

    /// Tokens at or below which retries are throttled.
    pub const fn token_threshold(&self) -> u32 {
        self.token_max / 2
    }

    /// Applies one outcome to a token balance, clamped to `0..=token_max`.
    pub fn apply_outcome(&self, tokens: u32, outcome: OutcomeClass) -> u32 {
        if outcome.is_failure() {
            tokens.saturating_sub(self.token_failure_cost)
        } else {
            tokens.saturating_add(self.token_ratio).min(self.token_max)
        }
    }
}

impl Default for PolicyParams {
    /// SRE-style defaults: three primary attempts at most, tier 2 as fallback, timeouts,
    /// provider errors and overload retried, a 10-token bucket credited 0.1 per success.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            fallback_tier: 2,
            retryable_mask: OutcomeClass::Timeout.bit()
                | OutcomeClass::ProviderError.bit()
                | OutcomeClass::Overloaded.bit(),
            reliability_floor_ppm: 500_000,
            token_max: 10_000,
            token_ratio: 100,
            token_failure_cost: 1_000,
            ewma_alpha_ppm: 20_000,
            cooldown_failures: 50,
            cooldown_ms: 5_000,
        }
    }
}
