//! Batch payload v1: the compact calldata of `RoutingSettlement.commitBatch`
//! (`docs/batch-payload.md`).
//!
//! Every address is posted once per batch in a table (routers first) and referenced by a `u16`
//! index; fields that restate others are left out behind [flags](SUMMARY_DERIVED); integers
//! are fixed-width big-endian; signatures are EIP-2098 compact (`r || vs`).
//!
//! [`encode`] is the canonical encoder. [`decode`] is strict: it refuses everything the spec
//! lists as invalid with a [`PayloadError`] that names the byte offset, and never panics.
//! Signatures are not checked by either.
//!
//! ```
//! use routing_primitives::{payload, SignedDecision};
//! # fn demo(batch: Vec<SignedDecision>) -> Result<(), payload::PayloadError> {
//! let bytes = payload::encode(7, &batch)?;
//! assert_eq!(payload::decode(7, &bytes)?, batch);
//! # Ok(()) }
//! ```

use crate::{
    Attempt, Decision, FallbackTrigger, OutcomeClass, Request, Resolution, SignatureError,
    SignedDecision, MAX_ATTEMPTS, MAX_BATCH_DECISIONS,
};
use alloy_primitives::{
    map::{AddressMap, Entry},
    Address, Bytes, B256,
};

/// The payload format version this module reads and writes.
pub const VERSION: u8 = 1;

/// Flag: the summary (`finalProvider`, `finalTier`, `retryCount`) is absent and derived from the
/// attempts: the last attempt's provider and tier and `attemptCount - 1`, or the zero address,
/// 0 and 0 when there are no attempts.
pub const SUMMARY_DERIVED: u8 = 0x01;

/// Flag: `registryEpoch` is absent and equals the batch id.
pub const EPOCH_IS_BATCH: u8 = 0x02;

/// Flag: the deadline is a `u32` delta after `submitMs` instead of an absolute `u64`.
pub const DEADLINE_RELATIVE: u8 = 0x04;

/// Every defined flag bit; the others must be zero.
pub const KNOWN_FLAGS: u8 = SUMMARY_DERIVED | EPOCH_IS_BATCH | DEADLINE_RELATIVE;

/// Upper bound on the address table (and so on the routers in it): its count is a `u16`.
pub const MAX_ADDRESSES: usize = u16::MAX as usize;

/// Bytes of the fixed header before the address table: version, router and address counts.
const HEADER_LEN: usize = 1 + 2 + 2;

/// Smallest encoded decision: every flag set, no attempts.
const MIN_DECISION_LEN: usize = 32 + 1 + 4 + 8 + 4 + 1 + 1 + 1 + 1 + 4 + 2 + 64;

/// Why a batch cannot be encoded, or a payload cannot be decoded.
///
/// Decode variants carry the byte `offset` of the field at fault, counted from the payload's
/// first byte (see [`PayloadError::offset`] for the one the contract reports); encode variants
/// carry the index of the decision at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    // --- decoding ---
    /// The version byte is not [`VERSION`].
    #[error("unsupported payload version {version} at byte 0")]
    Version {
        /// The version found.
        version: u8,
    },
    /// The payload ends inside a field.
    #[error("payload ends at byte {end} while reading {field} at byte {offset}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// The payload's length.
        end: usize,
    },
    /// More routers than addresses.
    #[error("router count {routers} at byte {offset} exceeds the address count {addresses}")]
    RouterCount {
        /// Routers declared.
        routers: u16,
        /// Addresses declared.
        addresses: u16,
        /// Offset of the router count.
        offset: usize,
    },
    /// The decision count is zero or above [`MAX_BATCH_DECISIONS`].
    #[error(
        "decision count {count} at byte {offset} is not between 1 and {max}",
        max = MAX_BATCH_DECISIONS
    )]
    DecisionCount {
        /// The count found.
        count: u16,
        /// Offset of the count.
        offset: usize,
    },
    /// A flag bit outside [`KNOWN_FLAGS`] is set.
    #[error("flag bits {bits:#04x} at byte {offset} are reserved")]
    ReservedFlags {
        /// The reserved bits that are set.
        bits: u8,
        /// Offset of the flags byte.
        offset: usize,
    },
    /// A decision declares more than [`MAX_ATTEMPTS`] attempts.
    #[error("attempt count {count} at byte {offset} exceeds the maximum of {max}", max = MAX_ATTEMPTS)]
    AttemptCount {
        /// The count found.
        count: u8,
        /// Offset of the count.
        offset: usize,
    },
    /// An outcome, trigger or resolution byte no variant has.
    #[error("unknown {field} {value} at byte {offset}")]
    UnknownValue {
        /// `outcome`, `trigger` or `resolution`.
        field: &'static str,
        /// The value found.
        value: u8,
        /// Offset of the byte.
        offset: usize,
    },
    /// A provider or final-provider index outside the address table.
    #[error("address index {index} at byte {offset} is not below the address count {count}")]
    AddressIndex {
        /// The index found.
        index: u16,
        /// Offset of the index.
        offset: usize,
        /// Entries in the address table.
        count: u16,
    },
    /// A router index outside the table's router section.
    #[error("router index {index} at byte {offset} is not below the router count {count}")]
    RouterIndex {
        /// The index found.
        index: u16,
        /// Offset of the index.
        offset: usize,
        /// Routers in the table.
        count: u16,
    },
    /// `submitMs + delta` overflows `u64`.
    #[error("deadline delta {delta} at byte {offset} overflows submit time {submit_ms}")]
    DeadlineOverflow {
        /// The submit time.
        submit_ms: u64,
        /// The delta found.
        delta: u32,
        /// Offset of the delta.
        offset: usize,
    },
    /// Bytes remain after the last decision.
    #[error("trailing bytes after the last decision at byte {offset}")]
    TrailingBytes {
        /// Where the last decision ends.
        offset: usize,
    },

    // --- encoding ---
    /// A payload needs at least one decision.
    #[error("cannot encode an empty batch")]
    EmptyBatch,
    /// More decisions than [`MAX_BATCH_DECISIONS`].
    #[error("{0} decisions exceed the maximum of {max}", max = MAX_BATCH_DECISIONS)]
    TooManyDecisions(usize),
    /// The batch names more than [`MAX_ADDRESSES`] distinct addresses.
    #[error("decision {decision} brings the address table past {max} entries", max = MAX_ADDRESSES)]
    TooManyAddresses {
        /// Index of the decision whose address did not fit.
        decision: usize,
    },
    /// A decision carries more than [`MAX_ATTEMPTS`] attempts.
    #[error("decision {decision} has {count} attempts, more than the maximum of {max}", max = MAX_ATTEMPTS)]
    TooManyAttempts {
        /// Index of the decision.
        decision: usize,
        /// Its attempts.
        count: usize,
    },
    /// A signature is not 65 bytes or its `v` is not 27, 28, 0 or 1.
    #[error("decision {decision}: {source}")]
    Signature {
        /// Index of the decision.
        decision: usize,
        /// What is wrong with the signature.
        source: SignatureError,
    },
    /// A signature's `s` has its top bit set, so EIP-2098 compact form cannot hold it.
    #[error("decision {decision}: signature s has its top bit set and has no compact form")]
    SignatureNotCompact {
        /// Index of the decision.
        decision: usize,
    },
}

impl PayloadError {
    /// The offset the settlement contract's `InvalidPayload(offset)` names for this error: the
    /// field's offset, or the payload's length when it ends early. `None` for encoder errors.
    ///
    /// The contract checks each field as it reads it and the length once per decision, so for a
    /// truncated payload it may name a field (read as the calldata past the end) instead.
    pub const fn offset(&self) -> Option<usize> {
        match *self {
            Self::Version { .. } => Some(0),
            Self::Truncated { end, .. } => Some(end),
            Self::RouterCount { offset, .. }
            | Self::DecisionCount { offset, .. }
            | Self::ReservedFlags { offset, .. }
            | Self::AttemptCount { offset, .. }
            | Self::UnknownValue { offset, .. }
            | Self::AddressIndex { offset, .. }
            | Self::RouterIndex { offset, .. }
            | Self::DeadlineOverflow { offset, .. }
            | Self::TrailingBytes { offset } => Some(offset),
            Self::EmptyBatch
            | Self::TooManyDecisions(_)
            | Self::TooManyAddresses { .. }
            | Self::TooManyAttempts { .. }
            | Self::Signature { .. }
            | Self::SignatureNotCompact { .. } => None,
        }
    }
}

/// The summary [`SUMMARY_DERIVED`] stands for: `(finalProvider, finalTier, retryCount)`.
fn derived_summary(attempts: &[Attempt]) -> (Address, u8, u8) {
    match attempts.last() {
        // At most MAX_ATTEMPTS attempts (checked by the callers), so the count fits in a u8.
        Some(last) => (last.provider, last.tier, (attempts.len() - 1) as u8),
        None => (Address::ZERO, 0, 0),
    }
}

/// The deadline delta [`DEADLINE_RELATIVE`] writes, if the deadline can be written that way.
fn deadline_delta(request: &Request) -> Option<u32> {
    request.deadline_ms.checked_sub(request.submit_ms).and_then(|d| u32::try_from(d).ok())
}

/// Converts a 65-byte `r || s || v` signature to EIP-2098 `r || vs`.
fn compact_signature(signature: &[u8], decision: usize) -> Result<[u8; 64], PayloadError> {
    let sig: &[u8; 65] = signature.try_into().map_err(|_| PayloadError::Signature {
        decision,
        source: SignatureError::Length(signature.len()),
    })?;
    let parity = match sig[64] {
        27 | 0 => 0u8,
        28 | 1 => 0x80,
        v => return Err(PayloadError::Signature { decision, source: SignatureError::InvalidV(v) }),
    };
    if sig[32] & 0x80 != 0 {
        return Err(PayloadError::SignatureNotCompact { decision });
    }
    let mut out = [0u8; 64];
    out.copy_from_slice(&sig[..64]);
    out[32] |= parity;
    Ok(out)
}

/// Address table under construction: entries in order of first appearance.
struct Table {
    addresses: Vec<Address>,
    index: AddressMap<u16>,
}

impl Table {
    /// The index of `address`, appending it if it is new.
    fn insert(&mut self, address: Address, decision: usize) -> Result<u16, PayloadError> {
        let len = self.addresses.len();
        match self.index.entry(address) {
            Entry::Occupied(slot) => Ok(*slot.get()),
            Entry::Vacant(slot) => {
                let idx = u16::try_from(len)
                    .ok()
                    .filter(|&i| usize::from(i) < MAX_ADDRESSES)
                    .ok_or(PayloadError::TooManyAddresses { decision })?;
                slot.insert(idx);
                self.addresses.push(address);
                Ok(idx)
            }
        }
    }
}

/// What the encoder works out for one decision before writing it.
struct Prepared {
    flags: u8,
    router: u16,
    signature: [u8; 64],
}

/// Encodes a batch as a v1 payload, canonically: routers first in order of first appearance,
/// then the other addresses the payload references (attempt providers, then the final provider
/// when it is written out, decision by decision) in order of first appearance, and every flag
/// whose condition holds.
///
/// Signatures must be 65-byte `r || s || v` with `v` 27/28 or 0/1 and the top bit of `s` clear
/// (every low-`s` signature qualifies); they are not verified.
pub fn encode(batch_id: u64, batch: &[SignedDecision]) -> Result<Vec<u8>, PayloadError> {
    if batch.is_empty() {
        return Err(PayloadError::EmptyBatch);
    }
    if batch.len() > MAX_BATCH_DECISIONS {
        return Err(PayloadError::TooManyDecisions(batch.len()));
    }

    // Validate each decision, choose its flags and put the routers in the table.
    let mut table = Table { addresses: Vec::with_capacity(16), index: AddressMap::default() };
    let mut prepared = Vec::with_capacity(batch.len());
    let mut attempts = 0;
    for (i, signed) in batch.iter().enumerate() {
        let d = &signed.decision;
        if d.attempts.len() > MAX_ATTEMPTS {
            return Err(PayloadError::TooManyAttempts { decision: i, count: d.attempts.len() });
        }
        attempts += d.attempts.len();
        let signature = compact_signature(&signed.signature, i)?;
        let mut flags = 0;
        if derived_summary(&d.attempts) == (d.final_provider, d.final_tier, d.retry_count) {
            flags |= SUMMARY_DERIVED;
        }
        if d.registry_epoch == batch_id {
            flags |= EPOCH_IS_BATCH;
        }
        if deadline_delta(&d.request).is_some() {
            flags |= DEADLINE_RELATIVE;
        }
        prepared.push(Prepared { flags, router: table.insert(d.router, i)?, signature });
    }
    // At most MAX_ADDRESSES, checked by `insert`.
    let router_count = table.addresses.len() as u16;

    // Then the other addresses, keeping every index written in payload order.
    let mut indices = Vec::with_capacity(attempts + batch.len());
    for (i, (signed, p)) in batch.iter().zip(&prepared).enumerate() {
        let d = &signed.decision;
        for a in &d.attempts {
            indices.push(table.insert(a.provider, i)?);
        }
        if p.flags & SUMMARY_DERIVED == 0 {
            indices.push(table.insert(d.final_provider, i)?);
        }
    }
    let mut indices = indices.into_iter().map(u16::to_be_bytes);
    let mut next_index = || indices.next().unwrap_or_default();

    let capacity = HEADER_LEN
        + 20 * table.addresses.len()
        + 2
        + batch.len() * (MIN_DECISION_LEN + 4 + 8 + 4 + 8)
        + attempts * 8;
    let mut out = Vec::with_capacity(capacity);
    out.push(VERSION);
    out.extend_from_slice(&router_count.to_be_bytes());
    out.extend_from_slice(&(table.addresses.len() as u16).to_be_bytes());
    for a in &table.addresses {
        out.extend_from_slice(a.as_slice());
    }
    out.extend_from_slice(&(batch.len() as u16).to_be_bytes());

    for (signed, p) in batch.iter().zip(&prepared) {
        let d = &signed.decision;
        let r = &d.request;
        out.extend_from_slice(r.id.as_slice());
        out.push(p.flags);
        out.extend_from_slice(&r.model_class.to_be_bytes());
        out.extend_from_slice(&r.submit_ms.to_be_bytes());
        match deadline_delta(r) {
            Some(delta) => out.extend_from_slice(&delta.to_be_bytes()),
            None => out.extend_from_slice(&r.deadline_ms.to_be_bytes()),
        }
        out.push(r.retry_budget);
        out.push(d.attempts.len() as u8);
        for a in &d.attempts {
            out.extend_from_slice(&next_index());
            out.push(a.tier);
            out.push(a.outcome.as_u8());
            out.extend_from_slice(&a.latency_ms.to_be_bytes());
        }
        if p.flags & SUMMARY_DERIVED == 0 {
            out.extend_from_slice(&next_index());
            out.push(d.final_tier);
            out.push(d.retry_count);
        }
        out.push(d.trigger.as_u8());
        out.push(d.resolution.as_u8());
        if p.flags & EPOCH_IS_BATCH == 0 {
            out.extend_from_slice(&d.registry_epoch.to_be_bytes());
        }
        out.extend_from_slice(&d.budget_tokens.to_be_bytes());
        out.extend_from_slice(&p.router.to_be_bytes());
        out.extend_from_slice(&p.signature);
    }
    debug_assert!(out.len() <= capacity);
    Ok(out)
}

/// A cursor over the payload that reports the offset and field of every short read.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes<const N: usize>(&mut self, field: &'static str) -> Result<&'a [u8; N], PayloadError> {
        let bytes = self
            .pos
            .checked_add(N)
            .and_then(|end| self.buf.get(self.pos..end))
            .and_then(|s| <&[u8; N]>::try_from(s).ok())
            .ok_or(PayloadError::Truncated { field, offset: self.pos, end: self.buf.len() })?;
        self.pos += N;
        Ok(bytes)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, PayloadError> {
        self.bytes::<1>(field).map(|b| b[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, PayloadError> {
        self.bytes(field).map(|b| u16::from_be_bytes(*b))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, PayloadError> {
        self.bytes(field).map(|b| u32::from_be_bytes(*b))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, PayloadError> {
        self.bytes(field).map(|b| u64::from_be_bytes(*b))
    }

    /// Reads an index into `table[..count]` (`router` picks the error for a router index).
    fn index(
        &mut self,
        field: &'static str,
        table: &[Address],
        count: u16,
        router: bool,
    ) -> Result<Address, PayloadError> {
        let offset = self.pos;
        let index = self.u16(field)?;
        if index < count {
            // count <= table.len(), checked by the header.
            Ok(table.get(usize::from(index)).copied().unwrap_or_default())
        } else if router {
            Err(PayloadError::RouterIndex { index, offset, count })
        } else {
            Err(PayloadError::AddressIndex { index, offset, count })
        }
    }

    /// Reads an enum byte through its checked conversion.
    fn enum_u8<T: TryFrom<u8>>(&mut self, field: &'static str) -> Result<T, PayloadError> {
        let offset = self.pos;
        let value = self.u8(field)?;
        T::try_from(value).map_err(|_| PayloadError::UnknownValue { field, value, offset })
    }
}

/// Decodes a v1 payload posted for batch `batch_id` into its decisions, in batch order.
///
/// Strict: refuses every payload `docs/batch-payload.md` lists as invalid, with the offset of
/// the field at fault, and never panics. Signatures come back as 65-byte `r || s || v` with
/// `v` = 27 + yParity; they are not verified.
pub fn decode(batch_id: u64, payload: &[u8]) -> Result<Vec<SignedDecision>, PayloadError> {
    let mut r = Reader { buf: payload, pos: 0 };

    let version = r.u8("version")?;
    if version != VERSION {
        return Err(PayloadError::Version { version });
    }
    let router_count = r.u16("router count")?;
    let address_count = r.u16("address count")?;
    if router_count > address_count {
        return Err(PayloadError::RouterCount {
            routers: router_count,
            addresses: address_count,
            offset: 1,
        });
    }
    let table_len = 20 * usize::from(address_count);
    if payload.len() - r.pos < table_len {
        return Err(PayloadError::Truncated {
            field: "address table",
            offset: r.pos,
            end: payload.len(),
        });
    }
    let mut table = Vec::with_capacity(usize::from(address_count));
    for _ in 0..address_count {
        table.push(Address::from(*r.bytes::<20>("address")?));
    }

    let count_at = r.pos;
    let count = r.u16("decision count")?;
    if count == 0 || usize::from(count) > MAX_BATCH_DECISIONS {
        return Err(PayloadError::DecisionCount { count, offset: count_at });
    }

    let remaining = payload.len() - r.pos;
    let mut out = Vec::with_capacity(usize::from(count).min(remaining / MIN_DECISION_LEN + 1));
    for _ in 0..count {
        let id = B256::from(*r.bytes::<32>("request id")?);
        let flags_at = r.pos;
        let flags = r.u8("flags")?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(PayloadError::ReservedFlags {
                bits: flags & !KNOWN_FLAGS,
                offset: flags_at,
            });
        }
        let model_class = r.u32("model class")?;
        let submit_ms = r.u64("submit time")?;
        let deadline_ms = if flags & DEADLINE_RELATIVE != 0 {
            let offset = r.pos;
            let delta = r.u32("deadline delta")?;
            submit_ms.checked_add(u64::from(delta)).ok_or(PayloadError::DeadlineOverflow {
                submit_ms,
                delta,
                offset,
            })?
        } else {
            r.u64("deadline")?
        };
        let retry_budget = r.u8("retry budget")?;
        let attempts_at = r.pos;
        let attempt_count = r.u8("attempt count")?;
        if usize::from(attempt_count) > MAX_ATTEMPTS {
            return Err(PayloadError::AttemptCount { count: attempt_count, offset: attempts_at });
        }
        let mut attempts = Vec::with_capacity(usize::from(attempt_count));
        for _ in 0..attempt_count {
            attempts.push(Attempt {
                provider: r.index("attempt provider", &table, address_count, false)?,
                tier: r.u8("attempt tier")?,
                outcome: r.enum_u8::<OutcomeClass>(OutcomeClass::FIELD)?,
                latency_ms: r.u32("attempt latency")?,
            });
        }
        let (final_provider, final_tier, retry_count) = if flags & SUMMARY_DERIVED != 0 {
            derived_summary(&attempts)
        } else {
            (
                r.index("final provider", &table, address_count, false)?,
                r.u8("final tier")?,
                r.u8("retry count")?,
            )
        };
        let trigger = r.enum_u8::<FallbackTrigger>(FallbackTrigger::FIELD)?;
        let resolution = r.enum_u8::<Resolution>(Resolution::FIELD)?;
        let registry_epoch =
            if flags & EPOCH_IS_BATCH != 0 { batch_id } else { r.u64("registry epoch")? };
        let budget_tokens = r.u32("budget tokens")?;
        let router = r.index("router", &table, router_count, true)?;
        let rs = r.bytes::<64>("signature")?;

        let mut signature = Vec::with_capacity(65);
        signature.extend_from_slice(rs);
        let parity = signature[32] >> 7;
        signature[32] &= 0x7f;
        signature.push(27 + parity);

        out.push(SignedDecision {
            decision: Decision {
                request: Request { id, model_class, submit_ms, deadline_ms, retry_budget },
                attempts,
                final_provider,
                final_tier,
                retry_count,
                trigger,
                resolution,
                registry_epoch,
                budget_tokens,
                router,
            },
            signature: Bytes::from(signature),
        });
    }
    if r.pos != payload.len() {
        return Err(PayloadError::TrailingBytes { offset: r.pos });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arb;
    use alloy_primitives::hex;
    use proptest::prelude::*;

    const BATCH: u64 = 5;

    fn addr(last: u8) -> Address {
        Address::with_last_byte(last)
    }

    fn sig(r: u8, s: u8, v: u8) -> Bytes {
        let mut bytes = vec![r; 32];
        bytes.extend_from_slice(&[s; 32]);
        bytes.push(v);
        Bytes::from(bytes)
    }

    fn attempt(provider: Address, tier: u8, outcome: OutcomeClass, latency_ms: u32) -> Attempt {
        Attempt { provider, tier, outcome, latency_ms }
    }

    /// Decision 0 takes every flag; decision 1 none (its summary and epoch differ from the
    /// derived ones, its deadline is before its submit time) and signs with `v` = 0.
    fn sample() -> Vec<SignedDecision> {
        let d0 = Decision {
            request: Request {
                id: B256::repeat_byte(0x11),
                model_class: 7,
                submit_ms: 1_000,
                deadline_ms: 9_000,
                retry_budget: 2,
            },
            attempts: vec![
                attempt(addr(0xa1), 0, OutcomeClass::Timeout, 2_000),
                attempt(addr(0xb2), 0, OutcomeClass::Success, 350),
            ],
            final_provider: addr(0xb2),
            final_tier: 0,
            retry_count: 1,
            trigger: FallbackTrigger::None,
            resolution: Resolution::Served,
            registry_epoch: BATCH,
            budget_tokens: 9_000,
            router: addr(0xe1),
        };
        let d1 = Decision {
            request: Request {
                id: B256::repeat_byte(0x22),
                model_class: 1,
                submit_ms: 5_000,
                deadline_ms: 4_000,
                retry_budget: 0,
            },
            attempts: vec![attempt(addr(0xb2), 1, OutcomeClass::ProviderError, 10)],
            final_provider: addr(0xc3),
            final_tier: 2,
            retry_count: 3,
            trigger: FallbackTrigger::TiersExhausted,
            resolution: Resolution::Exhausted,
            registry_epoch: 4,
            budget_tokens: 0,
            router: addr(0xe1),
        };
        vec![
            SignedDecision { decision: d0, signature: sig(0x33, 0x44, 28) },
            SignedDecision { decision: d1, signature: sig(0x55, 0x66, 0) },
        ]
    }

    /// `sample()` written out by hand, one field (or one attempt, or the summary) per entry,
    /// with the byte offset of each entry. Spaces are ignored.
    const SAMPLE_HEADER: &[&str] = &[
        "01",                                       // @0 version
        "0001",                                     // @1 routerCount
        "0004",                                     // @3 addressCount
        "00000000000000000000000000000000000000e1", // @5 [0] router
        "00000000000000000000000000000000000000a1", // @25 [1] provider (d0 attempt 0)
        "00000000000000000000000000000000000000b2", // @45 [2] provider (d0 attempt 1)
        "00000000000000000000000000000000000000c3", // @65 [3] final provider (d1)
        "0002",                                     // @85 decisionCount
    ];
    const SAMPLE_D0: &[&str] = &[
        "1111111111111111111111111111111111111111111111111111111111111111", // @87 requestId
        "07",               // @119 flags: SUMMARY_DERIVED | EPOCH_IS_BATCH | DEADLINE_RELATIVE
        "00000007",         // @120 modelClass
        "00000000000003e8", // @124 submitMs 1000
        "00001f40",         // @132 deadline delta 8000
        "02",               // @136 retryBudget
        "02",               // @137 attemptCount
        "0001 00 01 000007d0", // @138 attempt: [1] a1, tier 0, Timeout, 2000 ms
        "0002 00 00 0000015e", // @146 attempt: [2] b2, tier 0, Success, 350 ms
        // summary derived: b2, 0, 1
        "00", // @154 trigger None
        "00", // @155 resolution Served
        // registryEpoch = batch id
        "00002328", // @156 budgetTokens 9000
        "0000",     // @160 router [0]
        "3333333333333333333333333333333333333333333333333333333333333333", // @162 r
        "c444444444444444444444444444444444444444444444444444444444444444", // @194 vs, parity 1
    ];
    const SAMPLE_D1: &[&str] = &[
        "2222222222222222222222222222222222222222222222222222222222222222", // @226 requestId
        "00",                                                               // @258 flags
        "00000001",                                                         // @259 modelClass
        "0000000000001388",                                                 // @263 submitMs 5000
        "0000000000000fa0",    // @271 deadline 4000 (before submit: absolute)
        "00",                  // @279 retryBudget
        "01",                  // @280 attemptCount
        "0002 01 02 0000000a", // @281 attempt: [2] b2, tier 1, ProviderError, 10 ms
        "0003 02 03",          // @289 summary: [3] c3, finalTier 2, retryCount 3
        "03",                  // @293 trigger TiersExhausted
        "03",                  // @294 resolution Exhausted
        "0000000000000004",    // @295 registryEpoch 4
        "00000000",            // @303 budgetTokens 0
        "0000",                // @307 router [0]
        "5555555555555555555555555555555555555555555555555555555555555555", // @309 r
        "6666666666666666666666666666666666666666666666666666666666666666", // @341 vs, parity 0
    ];

    /// Concatenates hex pieces, ignoring spaces.
    fn unhex(parts: &[&[&str]]) -> Vec<u8> {
        hex::decode(parts.concat().concat().replace(' ', "")).unwrap()
    }

    fn sample_payload() -> Vec<u8> {
        unhex(&[SAMPLE_HEADER, SAMPLE_D0, SAMPLE_D1])
    }

    /// The sample as the decoder returns it: `v` = 27 + yParity.
    fn sample_decoded() -> Vec<SignedDecision> {
        let mut batch = sample();
        batch[1].signature = sig(0x55, 0x66, 27);
        batch
    }

    fn with(payload: &[u8], at: usize, bytes: &[u8]) -> Vec<u8> {
        let mut p = payload.to_vec();
        p[at..at + bytes.len()].copy_from_slice(bytes);
        p
    }

    /// The flags of the first decision in a payload.
    fn flags_of(payload: &[u8]) -> u8 {
        let addresses = usize::from(u16::from_be_bytes([payload[3], payload[4]]));
        payload[HEADER_LEN + 20 * addresses + 2 + 32]
    }

    #[test]
    fn sample_payload_is_pinned_byte_for_byte() {
        let payload = encode(BATCH, &sample()).unwrap();
        let expected = sample_payload();
        assert_eq!(expected.len(), 87 + 139 + 147);
        assert_eq!(hex::encode(&payload), hex::encode(&expected));
        assert_eq!(decode(BATCH, &payload).unwrap(), sample_decoded());
    }

    #[test]
    fn v_zero_and_one_come_back_as_27_and_28() {
        let mut batch = sample();
        batch[0].signature = sig(0x33, 0x44, 1);
        batch[1].signature = sig(0x55, 0x66, 0);
        let back = decode(BATCH, &encode(BATCH, &batch).unwrap()).unwrap();
        assert_eq!(back[0].signature, sig(0x33, 0x44, 28));
        assert_eq!(back[1].signature, sig(0x55, 0x66, 27));
        // Same payload as with 27/28.
        assert_eq!(encode(BATCH, &batch).unwrap(), encode(BATCH, &sample_decoded()).unwrap());
    }

    #[test]
    fn derived_summary_takes_the_flag() {
        let mut one = vec![sample()[0].clone()];
        let full = encode(BATCH, &one).unwrap();
        assert_eq!(flags_of(&full) & SUMMARY_DERIVED, SUMMARY_DERIVED);

        // Any difference in the summary writes it out: 4 more bytes.
        for change in 0..3 {
            let d = &mut one[0].decision;
            *d = sample()[0].decision.clone();
            match change {
                0 => d.final_provider = addr(0xa1),
                1 => d.final_tier = 1,
                _ => d.retry_count = 0,
            }
            let p = encode(BATCH, &one).unwrap();
            assert_eq!(flags_of(&p) & SUMMARY_DERIVED, 0, "change {change}");
            assert_eq!(p.len(), full.len() + 4, "change {change}");
            assert_eq!(decode(BATCH, &p).unwrap(), one);
        }

        // No attempts: the derived summary is the zero address, 0, 0, which is not in the table.
        let d = &mut one[0].decision;
        d.attempts.clear();
        d.final_provider = Address::ZERO;
        d.final_tier = 0;
        d.retry_count = 0;
        let p = encode(BATCH, &one).unwrap();
        assert_eq!(flags_of(&p) & SUMMARY_DERIVED, SUMMARY_DERIVED);
        assert_eq!(&p[..5], &hex!("0100010001"), "only the router is in the table");
        assert_eq!(decode(BATCH, &p).unwrap(), one);
        one[0].decision.final_tier = 1;
        let p = encode(BATCH, &one).unwrap();
        assert_eq!(flags_of(&p) & SUMMARY_DERIVED, 0);
        assert_eq!(&p[..5], &hex!("0100010002"), "the zero address is written out");
        assert_eq!(decode(BATCH, &p).unwrap(), one);
    }

    #[test]
    fn epoch_equal_to_batch_id_takes_the_flag() {
        let one = vec![sample()[0].clone()];
        let p = encode(BATCH, &one).unwrap();
        assert_eq!(flags_of(&p) & EPOCH_IS_BATCH, EPOCH_IS_BATCH);
        let other = encode(BATCH + 1, &one).unwrap();
        assert_eq!(flags_of(&other) & EPOCH_IS_BATCH, 0);
        assert_eq!(other.len(), p.len() + 8);
        assert_eq!(decode(BATCH + 1, &other).unwrap(), one);
        // The flag means "the batch id", whatever it is at decode time.
        assert_eq!(decode(BATCH + 1, &p).unwrap()[0].decision.registry_epoch, BATCH + 1);
    }

    #[test]
    fn deadline_is_relative_only_when_the_delta_fits() {
        let base = sample()[0].clone();
        let len_of = |submit_ms: u64, deadline_ms: u64| {
            let mut s = base.clone();
            s.decision.request.submit_ms = submit_ms;
            s.decision.request.deadline_ms = deadline_ms;
            let p = encode(BATCH, std::slice::from_ref(&s)).unwrap();
            assert_eq!(decode(BATCH, &p).unwrap(), vec![s]);
            (flags_of(&p) & DEADLINE_RELATIVE != 0, p.len())
        };
        let (relative, short) = len_of(1_000, 9_000);
        assert!(relative);
        assert_eq!(len_of(1_000, 1_000), (true, short), "zero delta");
        assert_eq!(len_of(1_000, 1_000 + u64::from(u32::MAX)), (true, short), "largest delta");
        assert_eq!(len_of(u64::MAX - 5, u64::MAX), (true, short), "ends at u64::MAX");
        assert_eq!(len_of(1_000, 1_000 + (1 << 32)), (false, short + 4), "delta >= 2^32");
        assert_eq!(len_of(1_000, 999), (false, short + 4), "deadline before submit");
        assert_eq!(len_of(u64::MAX, 0), (false, short + 4), "deadline before submit");
    }

    #[test]
    fn table_lists_routers_first_then_others_in_order_of_first_appearance() {
        let mut batch = sample();
        // Decision 1 gets its own router, which is also decision 0's first provider.
        batch[1].decision.router = addr(0xa1);
        let p = encode(BATCH, &batch).unwrap();
        let table: Vec<Address> = p[5..5 + 20 * 4].chunks(20).map(Address::from_slice).collect();
        assert_eq!(&p[1..5], &hex!("00020004"));
        assert_eq!(table, vec![addr(0xe1), addr(0xa1), addr(0xb2), addr(0xc3)]);
        // Decision 0's first attempt references the router entry.
        assert_eq!(&p[138..140], &hex!("0001"));
        let mut expected = batch.clone();
        expected[1].signature = sig(0x55, 0x66, 27);
        assert_eq!(decode(BATCH, &p).unwrap(), expected);
    }

    #[test]
    fn non_canonical_payloads_decode_to_the_same_decisions() {
        // Duplicate and unused table entries, and decision 0 written out without any flag.
        let header = [
            "01",
            "0001",
            "0006",
            "00000000000000000000000000000000000000e1",
            "00000000000000000000000000000000000000a1",
            "00000000000000000000000000000000000000b2",
            "00000000000000000000000000000000000000c3",
            "00000000000000000000000000000000000000b2", // duplicate
            "00000000000000000000000000000000000000dd", // unused
            "0002",
        ];
        let d0 = [
            "1111111111111111111111111111111111111111111111111111111111111111",
            "00", // no flags
            "00000007",
            "00000000000003e8",
            "0000000000002328", // absolute deadline
            "02",
            "02",
            "0001 00 01 000007d0",
            "0004 00 00 0000015e", // the duplicate entry
            "0004 00 01",          // summary written out
            "00",
            "00",
            "0000000000000005", // epoch written out
            "00002328",
            "0000",
            "3333333333333333333333333333333333333333333333333333333333333333",
            "c444444444444444444444444444444444444444444444444444444444444444",
        ];
        let payload = unhex(&[&header, &d0, SAMPLE_D1]);
        assert_eq!(decode(BATCH, &payload).unwrap(), sample_decoded());
        assert_eq!(encode(BATCH, &decode(BATCH, &payload).unwrap()).unwrap(), sample_payload());
    }

    // --- the spec's "invalid" list, one test per item ---

    #[test]
    fn refuses_unknown_version() {
        for version in [0u8, 2, 0xff] {
            let p = with(&sample_payload(), 0, &[version]);
            assert_eq!(decode(BATCH, &p), Err(PayloadError::Version { version }));
        }
    }

    #[test]
    fn refuses_more_routers_than_addresses() {
        let p = with(&sample_payload(), 1, &[0, 5]);
        assert_eq!(
            decode(BATCH, &p),
            Err(PayloadError::RouterCount { routers: 5, addresses: 4, offset: 1 })
        );
        // Equal counts are fine (every address a router).
        assert!(decode(BATCH, &with(&sample_payload(), 1, &[0, 4])).is_ok());
    }

    #[test]
    fn refuses_zero_or_too_many_decisions() {
        let p = with(&sample_payload(), 85, &[0, 0]);
        assert_eq!(decode(BATCH, &p), Err(PayloadError::DecisionCount { count: 0, offset: 85 }));
        let p = with(&sample_payload(), 85, &10_001u16.to_be_bytes());
        assert_eq!(
            decode(BATCH, &p),
            Err(PayloadError::DecisionCount { count: 10_001, offset: 85 })
        );
        // 10_000 is allowed: the payload then ends early instead.
        let p = with(&sample_payload(), 85, &10_000u16.to_be_bytes());
        assert!(matches!(decode(BATCH, &p), Err(PayloadError::Truncated { offset: 373, .. })));
    }

    #[test]
    fn refuses_payloads_that_end_early() {
        let payload = sample_payload();
        for len in 0..payload.len() {
            assert!(
                matches!(decode(BATCH, &payload[..len]), Err(PayloadError::Truncated { end, .. }) if end == len),
                "prefix of {len} bytes"
            );
        }
        assert_eq!(
            decode(BATCH, &payload[..372]),
            Err(PayloadError::Truncated { field: "signature", offset: 309, end: 372 })
        );
        assert_eq!(
            decode(BATCH, &payload[..158]),
            Err(PayloadError::Truncated { field: "budget tokens", offset: 156, end: 158 })
        );
        assert_eq!(
            decode(BATCH, &payload[..50]),
            Err(PayloadError::Truncated { field: "address table", offset: 5, end: 50 })
        );
        assert_eq!(
            decode(BATCH, &payload[..0]),
            Err(PayloadError::Truncated { field: "version", offset: 0, end: 0 })
        );
        // An address count the payload cannot hold is refused before anything is allocated.
        assert_eq!(
            decode(BATCH, &hex!("010000ffff")),
            Err(PayloadError::Truncated { field: "address table", offset: 5, end: 5 })
        );
    }

    #[test]
    fn offsets_are_the_contracts() {
        let p = sample_payload();
        let offset = |bytes: &[u8]| decode(BATCH, bytes).unwrap_err().offset();
        assert_eq!(offset(&p[..100]), Some(100), "truncation names the payload length");
        assert_eq!(offset(&with(&p, 0, &[2])), Some(0));
        assert_eq!(offset(&with(&p, 160, &[0, 1])), Some(160));
        assert_eq!(offset(&[p.as_slice(), &[0]].concat()), Some(373));
        assert_eq!(encode(BATCH, &[]).unwrap_err().offset(), None);
    }

    #[test]
    fn refuses_trailing_bytes() {
        let mut p = sample_payload();
        p.push(0);
        assert_eq!(decode(BATCH, &p), Err(PayloadError::TrailingBytes { offset: 373 }));
    }

    #[test]
    fn refuses_reserved_flag_bits() {
        let p = with(&sample_payload(), 119, &[0x0f]);
        assert_eq!(decode(BATCH, &p), Err(PayloadError::ReservedFlags { bits: 0x08, offset: 119 }));
        let p = with(&sample_payload(), 258, &[0x80]);
        assert_eq!(decode(BATCH, &p), Err(PayloadError::ReservedFlags { bits: 0x80, offset: 258 }));
        assert_eq!(
            PayloadError::ReservedFlags { bits: 0x08, offset: 77 }.to_string(),
            "flag bits 0x08 at byte 77 are reserved"
        );
    }

    #[test]
    fn refuses_more_than_16_attempts() {
        let p = with(&sample_payload(), 137, &[17]);
        assert_eq!(decode(BATCH, &p), Err(PayloadError::AttemptCount { count: 17, offset: 137 }));
        let p = with(&sample_payload(), 137, &[0xff]);
        assert_eq!(decode(BATCH, &p), Err(PayloadError::AttemptCount { count: 255, offset: 137 }));
    }

    #[test]
    fn refuses_unknown_outcome_trigger_and_resolution() {
        let unknown =
            |field, value, offset| Err(PayloadError::UnknownValue { field, value, offset });
        let p = with(&sample_payload(), 141, &[6]);
        assert_eq!(decode(BATCH, &p), unknown("outcome", 6, 141));
        let p = with(&sample_payload(), 154, &[5]);
        assert_eq!(decode(BATCH, &p), unknown("trigger", 5, 154));
        let p = with(&sample_payload(), 294, &[4]);
        assert_eq!(decode(BATCH, &p), unknown("resolution", 4, 294));
        // The largest valid values decode.
        let p = with(&with(&with(&sample_payload(), 141, &[5]), 154, &[4]), 294, &[3]);
        assert!(decode(BATCH, &p).is_ok());
        assert_eq!(
            PayloadError::UnknownValue { field: "outcome", value: 7, offset: 90 }.to_string(),
            "unknown outcome 7 at byte 90"
        );
    }

    #[test]
    fn refuses_provider_indices_outside_the_table() {
        let p = with(&sample_payload(), 138, &[0, 4]);
        assert_eq!(
            decode(BATCH, &p),
            Err(PayloadError::AddressIndex { index: 4, offset: 138, count: 4 })
        );
        let p = with(&sample_payload(), 289, &[0xff, 0xff]);
        assert_eq!(
            decode(BATCH, &p),
            Err(PayloadError::AddressIndex { index: 0xffff, offset: 289, count: 4 })
        );
    }

    #[test]
    fn refuses_router_indices_outside_the_router_section() {
        // Index 1 is in the table, but not a router.
        let p = with(&sample_payload(), 160, &[0, 1]);
        assert_eq!(
            decode(BATCH, &p),
            Err(PayloadError::RouterIndex { index: 1, offset: 160, count: 1 })
        );
        assert_eq!(
            PayloadError::RouterIndex { index: 5, offset: 200, count: 3 }.to_string(),
            "router index 5 at byte 200 is not below the router count 3"
        );
    }

    #[test]
    fn refuses_relative_deadlines_that_overflow() {
        let p = with(&sample_payload(), 124, &(u64::MAX - 7_999).to_be_bytes());
        assert_eq!(
            decode(BATCH, &p),
            Err(PayloadError::DeadlineOverflow {
                submit_ms: u64::MAX - 7_999,
                delta: 8_000,
                offset: 132
            })
        );
        let p = with(&sample_payload(), 124, &(u64::MAX - 8_000).to_be_bytes());
        assert_eq!(decode(BATCH, &p).unwrap()[0].decision.request.deadline_ms, u64::MAX);
    }

    // --- encoder errors ---

    #[test]
    fn encoder_refuses_what_it_cannot_represent() {
        assert_eq!(encode(BATCH, &[]), Err(PayloadError::EmptyBatch));
        let many = vec![sample()[0].clone(); MAX_BATCH_DECISIONS + 1];
        assert_eq!(encode(BATCH, &many), Err(PayloadError::TooManyDecisions(10_001)));
        assert!(encode(BATCH, &many[..MAX_BATCH_DECISIONS]).is_ok());

        let mut batch = sample();
        batch[1].decision.attempts = vec![batch[1].decision.attempts[0].clone(); 17];
        assert_eq!(
            encode(BATCH, &batch),
            Err(PayloadError::TooManyAttempts { decision: 1, count: 17 })
        );

        let mut batch = sample();
        batch[1].signature = Bytes::from(vec![0; 64]);
        assert_eq!(
            encode(BATCH, &batch),
            Err(PayloadError::Signature { decision: 1, source: SignatureError::Length(64) })
        );
        batch[1].signature = sig(1, 2, 29);
        assert_eq!(
            encode(BATCH, &batch),
            Err(PayloadError::Signature { decision: 1, source: SignatureError::InvalidV(29) })
        );
        batch[1].signature = sig(1, 0x80, 27);
        assert_eq!(encode(BATCH, &batch), Err(PayloadError::SignatureNotCompact { decision: 1 }));
        // High s with the top bit clear is representable (the encoder does not judge it).
        batch[1].signature = sig(1, 0x7f, 28);
        let back = decode(BATCH, &encode(BATCH, &batch).unwrap()).unwrap();
        assert_eq!(back[1].signature, sig(1, 0x7f, 28));
    }

    #[test]
    fn encoder_refuses_more_than_65535_addresses() {
        let template = sample()[0].clone();
        let mut n = 0u32;
        let batch: Vec<SignedDecision> = (0..4_097)
            .map(|_| {
                let mut s = template.clone();
                s.decision.attempts = (0..16)
                    .map(|_| {
                        n += 1;
                        let mut a = [0u8; 20];
                        a[..4].copy_from_slice(&n.to_be_bytes());
                        attempt(Address::from(a), 0, OutcomeClass::Success, 1)
                    })
                    .collect();
                // Keep the summary derived, so no final provider joins the table.
                let d = &mut s.decision;
                (d.final_provider, d.final_tier, d.retry_count) = derived_summary(&d.attempts);
                s
            })
            .collect();
        // One router, then providers: the 65_535th provider (decision 4_095's
        // 15th attempt) would get index 65_535.
        assert_eq!(encode(BATCH, &batch), Err(PayloadError::TooManyAddresses { decision: 4_095 }));
        // 65_535 entries fit.
        let mut fits = batch[..4_096].to_vec();
        let d = &mut fits[4_095].decision;
        d.attempts.truncate(14);
        (d.final_provider, d.final_tier, d.retry_count) = derived_summary(&d.attempts);
        let p = encode(BATCH, &fits).unwrap();
        assert_eq!(&p[3..5], &hex!("ffff"));
        assert_eq!(decode(BATCH, &p).unwrap(), fits);
    }

    #[test]
    fn shared_addresses_cost_under_150_bytes_per_decision() {
        let routers = [addr(0xe1), addr(0xe2)];
        let providers: Vec<Address> = (1..=9).map(addr).collect();
        let batch: Vec<SignedDecision> = (0..1_200u64)
            .map(|i| {
                let k = i as usize;
                let first = providers[k % 9];
                let second = providers[(k + 4) % 9];
                let decision = Decision {
                    request: Request {
                        id: alloy_primitives::keccak256(i.to_be_bytes()),
                        model_class: 1,
                        submit_ms: 1_700_000_000_000 + i * 10,
                        deadline_ms: 1_700_000_000_000 + i * 10 + 30_000,
                        retry_budget: 2,
                    },
                    attempts: vec![
                        attempt(first, 0, OutcomeClass::Timeout, 2_000),
                        attempt(second, 1, OutcomeClass::Success, 420),
                    ],
                    final_provider: second,
                    final_tier: 1,
                    retry_count: 1,
                    trigger: FallbackTrigger::None,
                    resolution: Resolution::Served,
                    registry_epoch: BATCH,
                    budget_tokens: 9_000,
                    router: routers[k % 2],
                };
                let signature = sig(0x5a ^ (i as u8), 0x3c ^ (i as u8 & 0x7f), 27 + (i % 2) as u8);
                SignedDecision { decision, signature }
            })
            .collect();
        let p = encode(BATCH, &batch).unwrap();
        let per_decision = p.len() as f64 / batch.len() as f64;
        println!(
            "1200 decisions, 2 attempts each: {} bytes, {per_decision:.2} bytes per decision",
            p.len()
        );
        assert_eq!(p.len(), HEADER_LEN + 11 * 20 + 2 + 1_200 * 139);
        assert!(per_decision < 150.0);
        assert_eq!(decode(BATCH, &p).unwrap(), batch);
    }

    // --- properties ---

    /// Addresses the strategies draw from to make table entries shared.
    fn pool(i: u8) -> Address {
        [Address::ZERO, addr(1), addr(2), addr(3)][usize::from(i % 4)]
    }

    /// An arbitrary decision bent, by `knobs`, towards each flag and towards shared addresses,
    /// so every encoder path is taken.
    fn bend(
        mut s: SignedDecision,
        batch_id: u64,
        knobs: u8,
        delta: u32,
        pick: u8,
    ) -> SignedDecision {
        let d = &mut s.decision;
        if knobs & 0x08 != 0 {
            d.router = pool(pick);
        }
        if knobs & 0x10 != 0 {
            for (i, a) in d.attempts.iter_mut().enumerate() {
                a.provider = pool(pick.wrapping_add(i as u8));
            }
            d.final_provider = pool(pick >> 2);
        }
        if knobs & 0x01 != 0 {
            (d.final_provider, d.final_tier, d.retry_count) = derived_summary(&d.attempts);
        }
        if knobs & 0x02 != 0 {
            d.registry_epoch = batch_id;
        }
        if knobs & 0x04 != 0 {
            d.request.deadline_ms = d.request.submit_ms.saturating_add(u64::from(delta));
        }
        s
    }

    fn batch() -> impl Strategy<Value = (u64, Vec<SignedDecision>)> {
        any::<u64>().prop_flat_map(|batch_id| {
            let decision = (arb::signed_decision(), any::<u8>(), any::<u32>(), any::<u8>())
                .prop_map(move |(s, knobs, delta, pick)| bend(s, batch_id, knobs, delta, pick));
            (Just(batch_id), prop::collection::vec(decision, 1..50))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn round_trips((batch_id, batch) in batch()) {
            let payload = encode(batch_id, &batch).unwrap();
            prop_assert_eq!(&decode(batch_id, &payload).unwrap(), &batch);
        }

        #[test]
        fn v_zero_one_round_trip_as_27_28((batch_id, batch) in batch()) {
            let mut low = batch.clone();
            for s in &mut low {
                let mut sig = s.signature.to_vec();
                sig[64] -= 27;
                s.signature = Bytes::from(sig);
            }
            let payload = encode(batch_id, &low).unwrap();
            prop_assert_eq!(&payload, &encode(batch_id, &batch).unwrap());
            prop_assert_eq!(&decode(batch_id, &payload).unwrap(), &batch);
        }

        #[test]
        fn corruptions_never_panic_and_what_decodes_round_trips(
            (batch_id, batch) in batch(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut payload = encode(batch_id, &batch).unwrap();
            let at = at.index(payload.len());
            payload[at] = byte;
            if let Ok(decoded) = decode(batch_id, &payload) {
                let again = encode(batch_id, &decoded).unwrap();
                prop_assert_eq!(&decode(batch_id, &again).unwrap(), &decoded);
            }
        }

        #[test]
        fn truncations_are_refused((batch_id, batch) in batch(), cut in any::<prop::sample::Index>()) {
            let payload = encode(batch_id, &batch).unwrap();
            let len = cut.index(payload.len());
            let truncated = matches!(
                decode(batch_id, &payload[..len]),
                Err(PayloadError::Truncated { end, .. }) if end == len
            );
            prop_assert!(truncated);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4_096, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
            let _ = decode(1, &bytes);
        }

        /// Random bytes after a valid header, so the decision reader is reached.
        #[test]
        fn random_decisions_never_panic(
            routers in 0u16..3,
            extra in 0u16..3,
            count in 1u16..4,
            body in prop::collection::vec(any::<u8>(), 0..2_000),
        ) {
            let mut bytes = vec![VERSION];
            bytes.extend_from_slice(&routers.to_be_bytes());
            bytes.extend_from_slice(&(routers + extra).to_be_bytes());
            bytes.resize(bytes.len() + 20 * usize::from(routers + extra), 0xab);
            bytes.extend_from_slice(&count.to_be_bytes());
            bytes.extend_from_slice(&body);
            if let Ok(decoded) = decode(1, &bytes) {
                prop_assert_eq!(decode(1, &encode(1, &decoded).unwrap()).unwrap(), decoded);
            }
        }
    }
}
