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
use alloy_primitives::{Address, Bytes, Signature, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{Eip712Domain, SolStruct};

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

impl Decision {
    /// The EIP-712 digest the router signs: `keccak256("\x19\x01" || domainSeparator ||
    /// hashStruct(decision))`.
    pub fn signing_hash(&self, domain: &Eip712Domain) -> B256 {
        sol::RoutingDecision::from(self).eip712_signing_hash(domain)
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
        let sig = parse_signature(&self.signature)?;
        let recovered = recover_signer(&sig, &self.decision.signing_hash(domain))?;
        if recovered != self.decision.router {
            return Err(SignatureError::WrongSigner { recovered, router: self.decision.router });
        }
        Ok(self.decision.leaf_hash())
    }
}
