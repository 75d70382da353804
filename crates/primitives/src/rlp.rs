//! The canonical binary encoding (RLP) used on the wire and in batch payloads.
//!
//! Encoding follows the field order of the Rust structs; enums are their `u8` discriminant.
//! Decoding is strict: it refuses trailing bytes, lists longer than [`MAX_ATTEMPTS`] or
//! [`MAX_BATCH_DECISIONS`], unknown enum values and signatures that are not 65 bytes, each with a
//! typed [`DecodeError`]. It never panics on any input.

use crate::{
    Attempt, BatchHeader, Decision, FallbackTrigger, OutcomeClass, Request, Resolution,
    SignedDecision, MAX_ATTEMPTS, MAX_BATCH_DECISIONS,
};
use alloy_primitives::{Address, Bytes, B256};
use alloy_rlp::{BufMut, Decodable, Encodable, Header};

/// Why bytes could not be decoded into a routing type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not well-formed RLP for the expected shape.
    #[error("malformed rlp: {0}")]
    Rlp(#[from] alloy_rlp::Error),
    /// Bytes remain after a complete value.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
    /// A list's payload was not consumed exactly by its fields.
    #[error("list payload length does not match its fields")]
    ListLengthMismatch,
    /// An enum field holds a value no variant has.
    #[error("unknown {field} value {value}")]
    UnknownValue {
        /// The field.
        field: &'static str,
        /// The value found.
        value: u8,
    },
    /// A decision carries more attempts than allowed.
    #[error("{len} attempts exceed the maximum of {max}", max = MAX_ATTEMPTS)]
    TooManyAttempts {
        /// Attempts found.
        len: usize,
    },
    /// A batch carries more decisions than allowed.
    #[error("{len} decisions exceed the maximum of {max}", max = MAX_BATCH_DECISIONS)]
    TooManyDecisions {
        /// Decisions found.
        len: usize,
    },
    /// A signature is not 65 bytes.
    #[error("signature must be 65 bytes, got {0}")]
    SignatureLength(usize),
}

/// Decodes a value that must fill `bytes` exactly.
pub trait RlpDecodeExact: Sized {
    /// Decodes one value from the front of `buf`, advancing it.
    fn rlp_decode(buf: &mut &[u8]) -> Result<Self, DecodeError>;

    /// Decodes one value that must use every byte of `bytes`.
    fn rlp_decode_exact(mut bytes: &[u8]) -> Result<Self, DecodeError> {
        let value = Self::rlp_decode(&mut bytes)?;
        if bytes.is_empty() {
            Ok(value)
        } else {
            Err(DecodeError::TrailingBytes(bytes.len()))
        }
    }
}

/// Encodes a value to a fresh buffer.
pub fn encode<T: Encodable + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.length());
    value.encode(&mut out);
    out
}

/// Reads a list header and returns its payload, advancing `buf` past the whole list.
fn list_payload<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let header = Header::decode(buf)?;
    if !header.list {
        return Err(alloy_rlp::Error::UnexpectedString.into());
    }
    // Header::decode has checked that the payload fits in the input.
    let (payload, rest) = buf.split_at(header.payload_length);
    *buf = rest;
    Ok(payload)
}

fn finish(payload: &[u8]) -> Result<(), DecodeError> {
    if payload.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::ListLengthMismatch)
    }
}

fn encode_list(fields: &[&dyn Encodable], out: &mut dyn BufMut) {
    let payload_length = fields.iter().map(|f| f.length()).sum();
    Header { list: true, payload_length }.encode(out);
    for f in fields {
        f.encode(out);
    }
}

fn list_length(fields: &[&dyn Encodable]) -> usize {
    let payload_length: usize = fields.iter().map(|f| f.length()).sum();
    payload_length + alloy_rlp::length_of_length(payload_length)
}

macro_rules! enum_rlp {
    ($($ty:ty),+) => {$(
        impl Encodable for $ty {
            fn encode(&self, out: &mut dyn BufMut) {
                self.as_u8().encode(out)
            }
            fn length(&self) -> usize {
                self.as_u8().length()
            }
        }

        impl RlpDecodeExact for $ty {
            fn rlp_decode(buf: &mut &[u8]) -> Result<Self, DecodeError> {
                <$ty>::try_from(u8::decode(buf)?)
            }
        }
    )+};
}
enum_rlp!(OutcomeClass, FallbackTrigger, Resolution);

macro_rules! struct_rlp {
    ($ty:ty { $($field:ident : $fty:ty),+ $(,)? }) => {
        impl Encodable for $ty {
            fn encode(&self, out: &mut dyn BufMut) {
                encode_list(&[$(&self.$field),+], out)
            }
            fn length(&self) -> usize {
                list_length(&[$(&self.$field),+])
            }
        }

        impl RlpDecodeExact for $ty {
            fn rlp_decode(buf: &mut &[u8]) -> Result<Self, DecodeError> {
                let mut payload = list_payload(buf)?;
                let value = Self { $($field: <$fty as FieldDecode>::field_decode(&mut payload)?),+ };
                finish(payload)?;
                Ok(value)
            }
        }
    };
}

/// Field decoding: plain RLP for primitives, the strict decoders for routing types.
trait FieldDecode: Sized {
    fn field_decode(buf: &mut &[u8]) -> Result<Self, DecodeError>;
}

macro_rules! plain_field {
    ($($ty:ty),+) => {$(
        impl FieldDecode for $ty {
            fn field_decode(buf: &mut &[u8]) -> Result<Self, DecodeError> {
                Ok(<$ty as Decodable>::decode(buf)?)
            }
        }
    )+};
}
plain_field!(u8, u32, u64, Address, B256);

macro_rules! strict_field {
    ($($ty:ty),+) => {$(
        impl FieldDecode for $ty {
            fn field_decode(buf: &mut &[u8]) -> Result<Self, DecodeError> {
                <$ty as RlpDecodeExact>::rlp_decode(buf)
            }
        }
    )+};
}
strict_field!(OutcomeClass, FallbackTrigger, Resolution, Request, Decision, Attempt);

impl FieldDecode for Vec<Attempt> {
    fn field_decode(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_list(buf, MAX_ATTEMPTS, |len| DecodeError::TooManyAttempts { len })
    }
}

impl FieldDecode for Bytes {
    fn field_decode(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let bytes = Header::decode_bytes(buf, false)?;
        if bytes.len() != 65 {
            return Err(DecodeError::SignatureLength(bytes.len()));
        }
        Ok(Bytes::copy_from_slice(bytes))
    }
}

/// Decodes a list of at most `max` strict items. Counting stops as soon as the limit is passed,
/// so an oversize list costs no more than `max + 1` items of work.
fn decode_list<T: RlpDecodeExact>(
    buf: &mut &[u8],
    max: usize,
    too_many: impl Fn(usize) -> DecodeError,
) -> Result<Vec<T>, DecodeError> {
    let mut payload = list_payload(buf)?;
    let mut items = Vec::new();
    while !payload.is_empty() {
        if items.len() == max {
            return Err(too_many(max + count_items(payload)));
        }
        items.push(T::rlp_decode(&mut payload)?);
    }
    Ok(items)
}

/// Counts the remaining top-level items of a list payload (for error messages only).
fn count_items(mut payload: &[u8]) -> usize {
    let mut n = 0usize;
    while !payload.is_empty() {
        match Header::decode(&mut payload) {
            Ok(h) => {
                payload = &payload[h.payload_length..];
                n += 1;
            }
            Err(_) => break,
        }
    }
    n
}

struct_rlp!(Request {
    id: B256,
    model_class: u32,
    submit_ms: u64,
    deadline_ms: u64,
    retry_budget: u8
});
struct_rlp!(Attempt { provider: Address, tier: u8, outcome: OutcomeClass, latency_ms: u32 });
struct_rlp!(Decision {
    request: Request,
    attempts: Vec<Attempt>,
    final_provider: Address,
    final_tier: u8,
    retry_count: u8,
    trigger: FallbackTrigger,
    resolution: Resolution,
    registry_epoch: u64,
    budget_tokens: u32,
    router: Address,
});
struct_rlp!(SignedDecision { decision: Decision, signature: Bytes });
struct_rlp!(BatchHeader {
    batch_id: u64,
    prev_hash: B256,
    decisions_root: B256,
    registry_root: B256,
    count: u32,
    l2_block_start: u64,
    l2_block_end: u64,
});

/// Encodes a batch payload: the RLP list of its signed decisions, in batch order.
pub fn encode_batch(decisions: &[SignedDecision]) -> Vec<u8> {
    let payload_length: usize = decisions.iter().map(Encodable::length).sum();
    let mut out = Vec::with_capacity(payload_length + 9);
    Header { list: true, payload_length }.encode(&mut out);
    for d in decisions {
        d.encode(&mut out);
    }
    out
}

/// Decodes a batch payload, refusing more than [`MAX_BATCH_DECISIONS`] decisions and trailing
/// bytes.
pub fn decode_batch(mut bytes: &[u8]) -> Result<Vec<SignedDecision>, DecodeError> {
    let items =
        decode_list(&mut bytes, MAX_BATCH_DECISIONS, |len| DecodeError::TooManyDecisions { len })?;
    if !bytes.is_empty() {
        return Err(DecodeError::TrailingBytes(bytes.len()));
    }
    Ok(items)
}
