// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {
    Attempt,
    ProviderEntry,
    RegistryParams,
    RoutingDecision,
    RoutingHash
} from "../../src/libraries/RoutingHash.sol";

/// @title RoutingPolicy
/// @notice Test-side port of the Rust routing policy (`next_step` / `route` in
///         crates/policy/src/route.rs), used to build *honest* decisions: whatever the outcomes,
///         `RoutingCheck` must find no violation in them with the whole registry as evidence.
/// @dev Deliberately written from route.rs, not from RoutingCheck, so the two disagree if either
///      drifts from the Rust policy.
library RoutingPolicy {
    uint8 internal constant SUCCESS = 0;
    uint8 internal constant TIMEOUT = 1;
    uint8 internal constant PROVIDER_ERROR = 2;
    uint8 internal constant VALIDATION_FAILED = 3;
    uint8 internal constant OVERLOADED = 4;
    uint8 internal constant REJECTED_TERMINAL = 5;

    uint8 internal constant TRIGGER_NONE = 0;
    uint8 internal constant TRIGGER_RETRY_BUDGET = 1;
    uint8 internal constant TRIGGER_FLEET_BUDGET = 2;
    uint8 internal constant TRIGGER_TIERS_EXHAUSTED = 3;
    uint8 internal constant TRIGGER_NO_PRIMARY = 4;

    uint8 internal constant SERVED = 0;
    uint8 internal constant DEADLINE_EXCEEDED = 1;
    uint8 internal constant NON_RETRYABLE = 2;
    uint8 internal constant EXHAUSTED = 3;

    /// @dev Latency of an attempt past the end of the oracle's `latencies`.
    uint32 internal constant DEFAULT_LATENCY_MS = 100;

    /// @notice An inference request as the router saw it.
    struct Request {
        bytes32 id;
        uint32 modelClass;
        uint64 submitMs;
        uint64 deadlineMs;
        uint8 retryBudget;
    }

    /// @notice The outcome of every attempt: attempt `k` ends with `outcomes[k]` after
    ///         `latencies[k]` ms (success and `DEFAULT_LATENCY_MS` past the arrays' ends).
    struct Oracle {
        uint8[] outcomes;
        uint32[] latencies;
    }

    /// @dev The policy's next step: done with `resolution`, or try `providers[pick]` in `tier`.
    struct Step {
        bool done;
        uint8 resolution;
        uint256 pick;
        uint8 tier;
        uint8 trigger;
    }

    /// @notice Routes `r` to completion against the registry (`p`, `providers` ascending by
    ///         address) for `router`, starting with `budgetTokens` retry tokens; the decision is
    ///         unsigned, its epoch `p.epoch`.
    function route(
        Request memory r,
        RegistryParams memory p,
        ProviderEntry[] memory providers,
        address router,
        uint32 budgetTokens,
        Oracle memory oracle
    ) internal pure returns (RoutingDecision memory d) {
        if (budgetTokens > p.tokenMax) budgetTokens = p.tokenMax;
        Attempt[] memory buf = new Attempt[](16);
        uint256 n;
        uint8 trigger;
        uint8 resolution;
        while (true) {
            Step memory s = nextStep(r, p, providers, buf, n, budgetTokens);
            if (s.done) {
                resolution = s.resolution;
                break;
            }
            if (s.trigger != TRIGGER_NONE) trigger = s.trigger;
            buf[n] = Attempt({
                provider: providers[s.pick].provider,
                tier: s.tier,
                outcome: n < oracle.outcomes.length ? oracle.outcomes[n] : SUCCESS,
                latencyMs: n < oracle.latencies.length ? oracle.latencies[n] : DEFAULT_LATENCY_MS
            });
            ++n;
        }
        assembly ("memory-safe") {
            mstore(buf, n)
        }
        d.requestId = r.id;
        d.modelClass = r.modelClass;
        d.submitMs = r.submitMs;
        d.deadlineMs = r.deadlineMs;
        d.retryBudget = r.retryBudget;
        d.attempts = buf;
        if (n > 0) {
            d.finalProvider = buf[n - 1].provider;
            d.finalTier = buf[n - 1].tier;
            // forge-lint: disable-next-line(unsafe-typecast)
            d.retryCount = uint8(n - 1);
        }
        d.trigger = trigger;
        d.resolution = resolution;
        d.registryEpoch = p.epoch;
        d.budgetTokens = budgetTokens;
        d.router = router;
    }

    /// @notice `next_step`: what the policy does after the first `n` attempts in `buf`.
    function nextStep(
        Request memory r,
        RegistryParams memory p,
        ProviderEntry[] memory providers,
        Attempt[] memory buf,
        uint256 n,
        uint32 budgetTokens
    ) internal pure returns (Step memory s) {
        if (n > 0) {
            Attempt memory last = buf[n - 1];
            if (last.outcome == SUCCESS) return _done(SERVED);
            if (!retryable(p, last.outcome)) return _done(NON_RETRYABLE);
            if (last.tier >= p.fallbackTier) return _done(EXHAUSTED);
        }
        (uint64 start, uint32 tokens) = stateAfter(r, p, buf, n, budgetTokens);
        if (start >= r.deadlineMs) return _done(DEADLINE_EXCEEDED);

        uint8 gate = TRIGGER_NONE;
        if (n > 0) {
            uint256 primary;
            for (uint256 j; j < n; ++j) {
                if (buf[j].tier < p.fallbackTier) ++primary;
            }
            uint256 cap = uint256(r.retryBudget) + 1;
            if (cap > p.maxAttempts) cap = p.maxAttempts;
            if (primary >= cap) gate = TRIGGER_RETRY_BUDGET;
            else if (tokens <= p.tokenMax / 2) gate = TRIGGER_FLEET_BUDGET;
        }
        uint8 trigger = gate;
        if (gate == TRIGGER_NONE) {
            for (uint8 tier; tier < p.fallbackTier; ++tier) {
                (bool found, uint256 pick) = bestInTier(r, p, providers, tier, buf, n, start);
                if (found) return Step({done: false, resolution: 0, pick: pick, tier: tier, trigger: TRIGGER_NONE});
            }
            trigger = n == 0 ? TRIGGER_NO_PRIMARY : TRIGGER_TIERS_EXHAUSTED;
        }
        (bool ok, uint256 fb) = bestInTier(r, p, providers, p.fallbackTier, buf, n, start);
        if (!ok) return _done(EXHAUSTED);
        return Step({done: false, resolution: 0, pick: fb, tier: p.fallbackTier, trigger: trigger});
    }

    /// @notice Logical start of attempt `n` (saturating) and the router's tokens at that point.
    function stateAfter(Request memory r, RegistryParams memory p, Attempt[] memory buf, uint256 n, uint32 budgetTokens)
        internal
        pure
        returns (uint64 start, uint32 tokens)
    {
        uint256 t = r.submitMs;
        tokens = budgetTokens > p.tokenMax ? p.tokenMax : budgetTokens;
        for (uint256 j; j < n; ++j) {
            t += buf[j].latencyMs;
            if (t > type(uint64).max) t = type(uint64).max;
            tokens = applyOutcome(p, tokens, buf[j].outcome);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        start = uint64(t);
    }

    /// @notice The router's tokens after one attempt with `outcome`.
    function applyOutcome(RegistryParams memory p, uint32 tokens, uint8 outcome) internal pure returns (uint32) {
        if (outcome != SUCCESS) return tokens > p.tokenFailureCost ? tokens - p.tokenFailureCost : 0;
        uint256 t = uint256(tokens) + p.tokenRatio;
        // forge-lint: disable-next-line(unsafe-typecast)
        return t > p.tokenMax ? p.tokenMax : uint32(t);
    }

    /// @notice The router's tokens after decision `d` (what its next decision starts with).
    function tokensAfter(RoutingDecision memory d, RegistryParams memory p) internal pure returns (uint32 tokens) {
        tokens = d.budgetTokens > p.tokenMax ? p.tokenMax : d.budgetTokens;
        for (uint256 j; j < d.attempts.length; ++j) {
            tokens = applyOutcome(p, tokens, d.attempts[j].outcome);
        }
    }

    /// @notice The best eligible provider of `tier` by rendezvous score (ties: lowest address).
    function bestInTier(
        Request memory r,
        RegistryParams memory p,
        ProviderEntry[] memory providers,
        uint8 tier,
        Attempt[] memory buf,
        uint256 n,
        uint64 start
    ) internal pure returns (bool found, uint256 pick) {
        uint256 best;
        for (uint256 i; i < providers.length; ++i) {
            ProviderEntry memory e = providers[i];
            if (e.modelClass != r.modelClass || e.tier != tier || !eligible(p, e, buf, n, start)) continue;
            uint256 score = RoutingHash.hrwScore(r.id, e.provider, e.reliabilityPpm);
            // Ascending addresses: a strict comparison keeps the lowest address among equals.
            if (!found || score > best) {
                (found, pick, best) = (true, i, score);
            }
        }
    }

    /// @notice `eligibility` (model class is checked by the caller).
    function eligible(RegistryParams memory p, ProviderEntry memory e, Attempt[] memory buf, uint256 n, uint64 start)
        internal
        pure
        returns (bool)
    {
        if (e.tier > p.fallbackTier || e.cooldownUntilMs > start) return false;
        for (uint256 j; j < n; ++j) {
            if (buf[j].provider == e.provider) return false;
        }
        return n == 0 || e.reliabilityPpm >= p.reliabilityFloorPpm;
    }

    /// @notice Whether outcome class `outcome` may be retried under `p`.
    function retryable(RegistryParams memory p, uint8 outcome) internal pure returns (bool) {
        return (uint256(p.retryableMask) >> outcome) & 1 == 1;
    }

    function _done(uint8 resolution) private pure returns (Step memory s) {
        s.done = true;
        s.resolution = resolution;
    }
}
