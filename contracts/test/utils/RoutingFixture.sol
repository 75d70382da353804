// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProviderEntry, RegistryParams} from "../../src/libraries/RoutingHash.sol";
import {PayloadBuilder} from "./PayloadBuilder.sol";

/// @title RoutingFixture
/// @notice The registry the settlement tests route against: the Rust default policy parameters
///         (`PolicyParams::default`) and nine providers in two model classes.
///         - chat (class 1): tier 0 `chat-a`, `chat-b`, `chat-c`; tier 1 `chat-d` and
///           `chat-weak` (reliability below the floor); fallback tier 2 `chat-fb1`, `chat-fb2`.
///         - code (class 2): tier 0 `code-a`; fallback tier 2 `code-fb`.
///         - class 3 has no provider at all.
library RoutingFixture {
    uint32 internal constant CLASS_CHAT = 1;
    uint32 internal constant CLASS_CODE = 2;
    uint32 internal constant CLASS_EMPTY = 3;
    uint8 internal constant FALLBACK_TIER = 2;
    uint32 internal constant TOKEN_MAX = 10_000;
    uint256 internal constant PROVIDER_COUNT = 9;
    /// @dev Timeout, provider error and overloaded are retryable (bits 1, 2, 4).
    uint8 internal constant RETRYABLE_MASK = (1 << 1) | (1 << 2) | (1 << 4);

    /// @notice A provider's address, derived from its name.
    function addr(string memory name) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked("provider:", name)))));
    }

    /// @notice The parameter record of the registry of epoch `epoch` (batch `epoch` routes on it).
    function params(uint64 epoch) internal pure returns (RegistryParams memory) {
        return RegistryParams({
            epoch: epoch,
            // forge-lint: disable-next-line(unsafe-typecast)
            providerCount: uint32(PROVIDER_COUNT),
            maxAttempts: 3,
            fallbackTier: FALLBACK_TIER,
            retryableMask: RETRYABLE_MASK,
            reliabilityFloorPpm: 500_000,
            tokenMax: TOKEN_MAX,
            tokenRatio: 100,
            tokenFailureCost: 1_000,
            ewmaAlphaPpm: 20_000,
            cooldownFailures: 50,
            cooldownMs: 5_000
        });
    }

    /// @notice Every provider entry, ascending by address.
    function providers() internal pure returns (ProviderEntry[] memory ps) {
        ps = new ProviderEntry[](PROVIDER_COUNT);
        ps[0] = _entry("chat-a", CLASS_CHAT, 0, 990_000);
        ps[1] = _entry("chat-b", CLASS_CHAT, 0, 950_000);
        ps[2] = _entry("chat-c", CLASS_CHAT, 0, 910_000);
        ps[3] = _entry("chat-d", CLASS_CHAT, 1, 980_000);
        ps[4] = _entry("chat-weak", CLASS_CHAT, 1, 450_000);
        ps[5] = _entry("chat-fb1", CLASS_CHAT, FALLBACK_TIER, 999_000);
        ps[6] = _entry("chat-fb2", CLASS_CHAT, FALLBACK_TIER, 970_000);
        ps[7] = _entry("code-a", CLASS_CODE, 0, 960_000);
        ps[8] = _entry("code-fb", CLASS_CODE, FALLBACK_TIER, 940_000);
        PayloadBuilder.sortProviders(ps);
    }

    /// @notice The entry of the provider named `name`.
    function entry(string memory name) internal pure returns (ProviderEntry memory) {
        ProviderEntry[] memory ps = providers();
        address a = addr(name);
        for (uint256 i; i < ps.length; ++i) {
            if (ps[i].provider == a) return ps[i];
        }
        revert PayloadBuilder.UnknownProvider(a);
    }

    function _entry(string memory name, uint32 modelClass, uint8 tier, uint32 reliabilityPpm)
        private
        pure
        returns (ProviderEntry memory)
    {
        return ProviderEntry({
            provider: addr(name), modelClass: modelClass, tier: tier, reliabilityPpm: reliabilityPpm, cooldownUntilMs: 0
        });
    }
}
