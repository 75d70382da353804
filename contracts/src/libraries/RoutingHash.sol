// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

/// One attempt at a provider (mirror of `sol::Attempt` in crates/primitives/src/abi.rs).
struct Attempt {
    address provider;
    uint8 tier;
    uint8 outcome;
    uint32 latencyMs;
}

/// A routing decision with the request's fields inlined (mirror of `sol::RoutingDecision`).
struct RoutingDecision {
    bytes32 requestId;
    uint32 modelClass;
    uint64 submitMs;
    uint64 deadlineMs;
    uint8 retryBudget;
    Attempt[] attempts;
    address finalProvider;
    uint8 finalTier;
    uint8 retryCount;
    uint8 trigger;
    uint8 resolution;
    uint64 registryEpoch;
    uint32 budgetTokens;
    address router;
}

/// A provider's registry entry (mirror of `sol::ProviderEntry`).
struct ProviderEntry {
    address provider;
    uint32 modelClass;
    uint8 tier;
    uint32 reliabilityPpm;
    uint64 cooldownUntilMs;
}

/// A router's retry-throttling state in the registry (mirror of `sol::RouterBudget`).
struct RouterBudget {
    address router;
    uint32 tokens;
}

/// The registry's epoch and the policy parameters it carries (mirror of `sol::RegistryParams`).
struct RegistryParams {
    uint64 epoch;
    uint32 providerCount;
    uint8 maxAttempts;
    uint8 fallbackTier;
    uint8 retryableMask;
    uint32 reliabilityFloorPpm;
    uint32 tokenMax;
    uint32 tokenRatio;
    uint32 tokenFailureCost;
    uint32 ewmaAlphaPpm;
    uint32 cooldownFailures;
    uint64 cooldownMs;
}

/// The committed part of a batch header (mirror of `sol::BatchHeader`).
struct BatchHeader {
    uint64 batchId;
    bytes32 prevHash;
    bytes32 decisionsRoot;
    bytes32 registryRoot;
    uint32 count;
}

/// @title RoutingHash
/// @notice Recomputes, bit for bit, the commitments of the Rust crates: Merkle leaves
/// (crates/primitives/src/abi.rs), the EIP-712 digest a router signs
/// (crates/primitives/src/signing.rs) and the rendezvous score (crates/policy/src/route.rs).
library RoutingHash {
    /// @dev keccak256 of the EIP-712 `encodeType` of `Attempt`.
    bytes32 internal constant ATTEMPT_TYPEHASH =
        keccak256("Attempt(address provider,uint8 tier,uint8 outcome,uint32 latencyMs)");

    /// @dev keccak256 of the EIP-712 `encodeType` of `RoutingDecision` (with `Attempt` appended).
    bytes32 internal constant DECISION_TYPEHASH = keccak256(
        "RoutingDecision(bytes32 requestId,uint32 modelClass,uint64 submitMs,uint64 deadlineMs,uint8 retryBudget,"
        "Attempt[] attempts,address finalProvider,uint8 finalTier,uint8 retryCount,uint8 trigger,uint8 resolution,"
        "uint64 registryEpoch,uint32 budgetTokens,address router)"
        "Attempt(address provider,uint8 tier,uint8 outcome,uint32 latencyMs)"
    );

    /// @dev EIP-712 domain name and version of the settlement contract.
    string internal constant DOMAIN_NAME = "RoutingSettlement";
    string internal constant DOMAIN_VERSION = "1";

    /// @notice OpenZeppelin `StandardMerkleTree` leaf of already ABI-encoded bytes.
    function doubleHash(bytes memory encoded) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(encoded)));
    }

    /// @notice The decision's Merkle leaf: `keccak256(bytes.concat(keccak256(abi.encode(d))))`.
    function leaf(RoutingDecision memory d) internal pure returns (bytes32) {
        return doubleHash(abi.encode(d));
    }

    /// @notice `leaf` of a decision still in calldata.
    function leafCalldata(RoutingDecision calldata d) internal pure returns (bytes32) {
        return doubleHash(abi.encode(d));
    }

    /// @notice A provider entry's registry leaf.
    function providerLeaf(ProviderEntry memory p) internal pure returns (bytes32) {
        return doubleHash(abi.encode(p));
    }

    /// @notice A router budget's registry leaf.
    function routerLeaf(RouterBudget memory b) internal pure returns (bytes32) {
        return doubleHash(abi.encode(b));
    }

    /// @notice The registry's parameter leaf.
    function paramsLeaf(RegistryParams memory p) internal pure returns (bytes32) {
        return doubleHash(abi.encode(p));
    }

    /// @notice `keccak256(abi.encode(h))`: the hash the next header chains to.
    function headerHash(BatchHeader memory h) internal pure returns (bytes32) {
        return keccak256(abi.encode(h));
    }

    /// @notice EIP-712 `hashStruct` of one attempt.
    function hashAttempt(Attempt memory a) internal pure returns (bytes32) {
        return keccak256(abi.encode(ATTEMPT_TYPEHASH, a.provider, a.tier, a.outcome, a.latencyMs));
    }

    /// @notice EIP-712 `hashStruct(decision)`; the `Attempt[]` member is the keccak256 of the
    /// concatenated `hashStruct`s of its elements.
    function hashStruct(RoutingDecision memory d) internal pure returns (bytes32) {
        uint256 n = d.attempts.length;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            hashes[i] = hashAttempt(d.attempts[i]);
        }
        bytes32 attemptsHash = keccak256(abi.encodePacked(hashes));
        // Two encodes keep the stack shallow; their concatenation is the 15-word encodeData.
        return keccak256(
            bytes.concat(
                abi.encode(
                    DECISION_TYPEHASH, d.requestId, d.modelClass, d.submitMs, d.deadlineMs, d.retryBudget, attemptsHash
                ),
                abi.encode(
                    d.finalProvider,
                    d.finalTier,
                    d.retryCount,
                    d.trigger,
                    d.resolution,
                    d.registryEpoch,
                    d.budgetTokens,
                    d.router
                )
            )
        );
    }

    /// @notice The EIP-712 digest a router signs: `keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(d))`.
    function digest(bytes32 domainSeparator, RoutingDecision memory d) internal pure returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(domainSeparator, hashStruct(d));
    }

    /// @notice Reliability-weighted rendezvous score: the top 64 bits of
    /// `keccak256(abi.encode(requestId, provider))` times `reliabilityPpm`.
    function hrwScore(bytes32 requestId, address provider, uint32 reliabilityPpm) internal pure returns (uint256) {
        return uint256(uint64(uint256(keccak256(abi.encode(requestId, provider))) >> 192)) * reliabilityPpm;
    }
}
