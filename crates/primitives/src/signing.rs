//! The EIP-712 digest a router signs, and signing and recovery.
//!
//! The domain is `{name: "RoutingSettlement", version: "1", chainId, verifyingContract}`, so a
//! signature made for one chain and settlement contract does not verify anywhere else. The typed
//! struct is [`sol::RoutingDecision`](crate::abi::sol::RoutingDecision) with its nested `Attempt[]`.
//!
//! Recovery is the admission bottleneck. [`recover_signer`] uses the C `libsecp256k1` backend
//! (alloy-primitives' `secp256k1` feature), measured about 4.6× faster than the pure-Rust `k256`
//! path that [`recover_signer_k256`] keeps for comparison (see the crate's benchmarks).

use crate::{abi::sol, Decision, SignedDecision};
use alloy_primitives::{keccak256, Address, Bytes, Signature, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{Eip712Domain, SolStruct};
use std::sync::LazyLock;

/// EIP-712 domain name.
pub const DOMAIN_NAME: &str = "RoutingSettlement";
/// EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";

/// Half the secp256k1 group order: signatures with a larger `s` are malleable copies and are
/// refused, as OpenZeppelin's `ECDSA.recover` refuses them.
const SECP256K1_HALF_N: U256 = U256::from_be_bytes(alloy_primitives::hex!(
    "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"
));

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not 65 bytes.
    #[error("signature must be 65 bytes, got {0}")]
    Length(usize),
    /// `v` is not 27, 28, 0 or 1.
    #[error("signature v value {0} is invalid")]
    InvalidV(u8),
    /// `s` is in the upper half of the curve order.
    #[error("signature s value is not in the lower half of the curve order")]
    HighS,
    /// The curve arithmetic refused the signature.
    #[error("signature does not recover to a public key")]
    Unrecoverable,
    /// The signature recovers to someone other than the decision's router.
    #[error("signature recovers to {recovered}, not the decision's router {router}")]
    WrongSigner {
        /// Address recovered from the signature.
        recovered: Address,
        /// The router named in the decision.
        router: Address,
    },
    /// The signer backend failed.
    #[error("signing failed: {0}")]
    Signer(String),
}

/// The EIP-712 domain of a settlement contract on a chain.
pub fn domain(chain_id: u64, settlement: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        Some(U256::from(chain_id)),
        Some(settlement),
        None,
    )
}

/// `keccak256` of the EIP-712 `encodeType` of `Attempt`.
static ATTEMPT_TYPEHASH: LazyLock<B256> =
    LazyLock::new(|| keccak256(<sol::Attempt as SolStruct>::eip712_encode_type().as_bytes()));
/// `keccak256` of the EIP-712 `encodeType` of `RoutingDecision` (with `Attempt` appended).
static DECISION_TYPEHASH: LazyLock<B256> = LazyLock::new(|| {
    keccak256(<sol::RoutingDecision as SolStruct>::eip712_encode_type().as_bytes())
});

/// Left-pads a value into a 32-byte EIP-712 word.
fn word(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(std::iter::repeat_n(0u8, 32 - bytes.len()));
    out.extend_from_slice(bytes);
}

impl Decision {
    /// EIP-712 `hashStruct(decision)`, computed directly from the fields with cached type
    /// hashes (equal to alloy's derived implementation, which re-derives the type strings on
    /// every call; see the tests).
    pub fn eip712_hash_struct(&self) -> B256 {
        let mut attempts = Vec::with_capacity(32 * self.attempts.len());
        let mut buf = Vec::with_capacity(32 * 15);
        for a in &self.attempts {
            buf.clear();
            buf.extend_from_slice(ATTEMPT_TYPEHASH.as_slice());
            word(&mut buf, a.provider.as_slice());
            word(&mut buf, &[a.tier]);
            word(&mut buf, &[a.outcome.as_u8()]);
            word(&mut buf, &a.latency_ms.to_be_bytes());
            attempts.extend_from_slice(keccak256(&buf).as_slice());
        }
        let r = &self.request;
        buf.clear();
        buf.extend_from_slice(DECISION_TYPEHASH.as_slice());
        buf.extend_from_slice(r.id.as_slice());
        word(&mut buf, &r.model_class.to_be_bytes());
        word(&mut buf, &r.submit_ms.to_be_bytes());
        word(&mut buf, &r.deadline_ms.to_be_bytes());
        word(&mut buf, &[r.retry_budget]);
        buf.extend_from_slice(keccak256(&attempts).as_slice());
        word(&mut buf, self.final_provider.as_slice());
        word(&mut buf, &[self.final_tier]);
        word(&mut buf, &[self.retry_count]);
        word(&mut buf, &[self.trigger.as_u8()]);
        word(&mut buf, &[self.resolution.as_u8()]);
        word(&mut buf, &self.registry_epoch.to_be_bytes());
        word(&mut buf, &self.budget_tokens.to_be_bytes());
        word(&mut buf, self.router.as_slice());
        keccak256(&buf)
    }

    /// The EIP-712 digest under an already computed domain separator (callers that verify
    /// many decisions for one domain compute [`Eip712Domain::separator`] once).
    pub fn signing_hash_with_separator(&self, separator: &B256) -> B256 {
        let mut buf = [0u8; 66];
        buf[0] = 0x19;
        buf[1] = 0x01;
        buf[2..34].copy_from_slice(separator.as_slice());
        buf[34..].copy_from_slice(self.eip712_hash_struct().as_slice());
        keccak256(buf)
    }

    /// The EIP-712 digest the router signs: `keccak256("\x19\x01" || domainSeparator ||
    /// hashStruct(decision))`.
    pub fn signing_hash(&self, domain: &Eip712Domain) -> B256 {
        self.signing_hash_with_separator(&domain.separator())
    }

    /// Signs the decision with `signer`, producing the wire form.
    pub fn sign(
        self,
        signer: &PrivateKeySigner,
        domain: &Eip712Domain,
    ) -> Result<SignedDecision, SignatureError> {
        let sig = signer
            .sign_hash_sync(&self.signing_hash(domain))
            .map_err(|e| SignatureError::Signer(e.to_string()))?;
        Ok(SignedDecision { decision: self, signature: Bytes::from(sig.as_bytes().to_vec()) })
    }
}

/// Parses a 65-byte `r || s || v` signature, refusing malleable (high-`s`) ones.
pub fn parse_signature(bytes: &[u8]) -> Result<Signature, SignatureError> {
    if bytes.len() != 65 {
        return Err(SignatureError::Length(bytes.len()));
    }
    let v = bytes[64];
    let parity = match v {
        27 | 0 => false,
        28 | 1 => true,
        _ => return Err(SignatureError::InvalidV(v)),
    };
    let r = U256::from_be_slice(&bytes[..32]);
    let s = U256::from_be_slice(&bytes[32..64]);
    if s > SECP256K1_HALF_N {
        return Err(SignatureError::HighS);
    }
    Ok(Signature::new(r, s, parity))
}

/// Recovers the signer of `digest` with the C `libsecp256k1` backend.
pub fn recover_signer(sig: &Signature, digest: &B256) -> Result<Address, SignatureError> {
    let key =
        sig.recover_from_prehash_secp256k1(digest).map_err(|_| SignatureError::Unrecoverable)?;
    Ok(Address::from_raw_public_key(&key.serialize_uncompressed()[1..]))
}

/// Recovers the signer of `digest` with the pure-Rust `k256` backend (alloy's default path),
/// kept to measure against [`recover_signer`].
pub fn recover_signer_k256(sig: &Signature, digest: &B256) -> Result<Address, SignatureError> {
    let key = sig.recover_from_prehash(digest).map_err(|_| SignatureError::Unrecoverable)?;
    Ok(Address::from_public_key(&key))
}

impl SignedDecision {
    /// Verifies the signature against the decision's router under `domain` and returns the
    /// decision's leaf hash.
    pub fn verify(&self, domain: &Eip712Domain) -> Result<B256, SignatureError> {
        self.verify_with_separator(&domain.separator())
    }

    /// [`SignedDecision::verify`] under an already computed domain separator.
    pub fn verify_with_separator(&self, separator: &B256) -> Result<B256, SignatureError> {
        let sig = parse_signature(&self.signature)?;
        let recovered =
            recover_signer(&sig, &self.decision.signing_hash_with_separator(separator))?;
        if recovered != self.decision.router {
            return Err(SignatureError::WrongSigner { recovered, router: self.decision.router });
        }
        Ok(self.decision.leaf_hash())
    }
}
