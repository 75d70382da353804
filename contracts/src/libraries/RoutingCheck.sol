// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Attempt, ProviderEntry, RegistryParams, RoutingDecision, RoutingHash} from "./RoutingHash.sol";

/// @title RoutingCheck
/// @notice The routing policy's `check`, ported from Rust (`check_evidence` in
///         crates/policy/src/evidence.rs), for one decision against the registry parameters and the
///         provider entries a challenger proves.
/// @dev It returns the first rule the decision breaks under *every* registry that carries `p` and
///      contains `entries`, so a clever choice of entries can never convict an honest router:
///      - rules decidable from the decision alone are always found;
///      - the entry of the provider an attempt used proves a tier mismatch or an ineligible provider;
///      - an eligible entry in a better tier, or with a higher rendezvous score in the same tier,
///        proves a skipped tier, an unjustified fallback, a wrong provider or a premature stop;
///      - with every provider's entry (`entries.length == p.providerCount`) the verdict is exact,
///        which is the only way to prove an unregistered provider.
///      The checks run in the Rust order; the differential test (crates/contracts) asserts the two
///      return the same verdict, code and attempt, on tens of thousands of random cases.
library RoutingCheck {
    // Verdict codes (`Offence` in Rust); 0 means nothing is proven.
    uint8 internal constant NONE = 0;
    uint8 internal constant WRONG_REGISTRY_EPOCH = 1;
    uint8 internal constant BUDGET_TOKENS_OUT_OF_RANGE = 2;
    uint8 internal constant ATTEMPT_AFTER_SERVED = 3;
    uint8 internal constant NON_RETRYABLE_RETRIED = 4;
    uint8 internal constant ATTEMPT_AFTER_FALLBACK = 5;
    uint8 internal constant ATTEMPT_AFTER_DEADLINE = 6;
    uint8 internal constant TIER_BEYOND_FALLBACK = 7;
    uint8 internal constant RETRY_BUDGET_EXCEEDED = 8;
    uint8 internal constant FLEET_BUDGET_EXCEEDED = 9;
    uint8 internal constant TIER_MISMATCH = 10;
    uint8 internal constant INELIGIBLE_PROVIDER = 11;
    uint8 internal constant UNKNOWN_PROVIDER = 12;
    uint8 internal constant TIER_SKIPPED = 13;
    uint8 internal constant UNJUSTIFIED_FALLBACK = 14;
    uint8 internal constant WRONG_PROVIDER = 15;
    uint8 internal constant PREMATURE_STOP = 16;
    uint8 internal constant WRONG_RESOLUTION = 17;
    uint8 internal constant WRONG_TRIGGER = 18;
    uint8 internal constant SUMMARY_MISMATCH = 19;

    // Wire values of the Rust enums.
    uint8 internal constant OUTCOME_SUCCESS = 0;
    uint8 internal constant TRIGGER_NONE = 0;
    uint8 internal constant TRIGGER_RETRY_BUDGET = 1;
    uint8 internal constant TRIGGER_FLEET_BUDGET = 2;
    uint8 internal constant TRIGGER_TIERS_EXHAUSTED = 3;
    uint8 internal constant TRIGGER_NO_PRIMARY = 4;
    uint8 internal constant RESOLUTION_SERVED = 0;
    uint8 internal constant RESOLUTION_DEADLINE = 1;
    uint8 internal constant RESOLUTION_NON_RETRYABLE = 2;
    uint8 internal constant RESOLUTION_EXHAUSTED = 3;
    /// @dev "No resolution due yet" while checking how a decision ends.
    uint8 internal constant RESOLUTION_OPEN = type(uint8).max;

    /// @dev Where the walk through the attempts stands: the next attempt's logical start, the
    ///      router's retry tokens, and the gate (a trigger, or `TRIGGER_NONE`) in front of it.
    struct Cursor {
        uint256 k;
        uint256 start;
        uint256 tokens;
        uint8 gate;
    }

    /// @notice The first rule `d` provably breaks, or `(NONE, 0)`.
    /// @param d The decision (its inclusion and signature are checked by the caller).
    /// @param p The registry's parameter record, proven against the batch's registry root.
    /// @param entries Distinct provider entries, proven against the same root.
    /// @return code The verdict code (0: nothing proven).
    /// @return attempt The attempt at fault; the attempt count for rules about how the decision
    ///         ends; zero for epoch and token rules.
    function check(RoutingDecision memory d, RegistryParams memory p, ProviderEntry[] memory entries)
        internal
        pure
        returns (uint8 code, uint8 attempt)
    {
        if (d.registryEpoch != p.epoch) return (WRONG_REGISTRY_EPOCH, 0);
        if (d.budgetTokens > p.tokenMax) return (BUDGET_TOKENS_OUT_OF_RANGE, 0);

        uint256 n = d.attempts.length;
        Cursor memory c = Cursor({k: 0, start: d.submitMs, tokens: d.budgetTokens, gate: TRIGGER_NONE});
        uint8 expectedTrigger = TRIGGER_NONE;
        for (; c.k < n; ++c.k) {
            Attempt memory a = d.attempts[c.k];
            code = _checkAttempt(d, p, entries, c, a);
            // forge-lint: disable-next-line(unsafe-typecast)
            if (code != NONE) return (code, uint8(c.k));
            if (a.tier == p.fallbackTier) {
                expectedTrigger =
                    c.gate != TRIGGER_NONE ? c.gate : (c.k == 0 ? TRIGGER_NO_PRIMARY : TRIGGER_TIERS_EXHAUSTED);
            }
            // Rust saturates at 2^64 - 1; 256-bit sums compare the same against 64-bit times.
            c.start += a.latencyMs;
            if (a.outcome == OUTCOME_SUCCESS) {
                uint256 t = c.tokens + p.tokenRatio;
                c.tokens = t < p.tokenMax ? t : p.tokenMax;
            } else {
                c.tokens = c.tokens > p.tokenFailureCost ? c.tokens - p.tokenFailureCost : 0;
            }
        }

        // At most 16 attempts: the payload decoder refuses more, so no committed decision has more.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint8 end = uint8(n);
        code = _checkEnd(d, p, entries, c);
        if (code != NONE) return (code, end);
        if (d.trigger != expectedTrigger) return (WRONG_TRIGGER, end);
        (address finalProvider, uint8 finalTier) =
            n == 0 ? (address(0), uint8(0)) : (d.attempts[n - 1].provider, d.attempts[n - 1].tier);
        if (d.finalProvider != finalProvider || d.finalTier != finalTier || d.retryCount != (n == 0 ? 0 : n - 1)) {
            return (SUMMARY_MISMATCH, end);
        }
        return (NONE, 0);
    }

    /// @dev The rules for attempt `c.k`; sets `c.gate`.
    function _checkAttempt(
        RoutingDecision memory d,
        RegistryParams memory p,
        ProviderEntry[] memory entries,
        Cursor memory c,
        Attempt memory a
    ) private pure returns (uint8) {
        uint256 k = c.k;
        if (k > 0) {
            Attempt memory prev = d.attempts[k - 1];
            if (prev.outcome == OUTCOME_SUCCESS) return ATTEMPT_AFTER_SERVED;
            if (!_retryable(p, prev.outcome)) return NON_RETRYABLE_RETRIED;
            if (prev.tier >= p.fallbackTier) return ATTEMPT_AFTER_FALLBACK;
        }
        if (c.start >= d.deadlineMs) return ATTEMPT_AFTER_DEADLINE;
        if (a.tier > p.fallbackTier) return TIER_BEYOND_FALLBACK;
        c.gate = _gate(d, p, k, c.tokens);
        if (c.gate != TRIGGER_NONE && a.tier < p.fallbackTier) {
            return c.gate == TRIGGER_RETRY_BUDGET ? RETRY_BUDGET_EXCEEDED : FLEET_BUDGET_EXCEEDED;
        }

        (bool found, uint256 own) = _find(entries, a.provider);
        if (found) {
            if (entries[own].tier != a.tier) return TIER_MISMATCH;
            if (!_eligible(d, p, entries[own], k, c.start)) return INELIGIBLE_PROVIDER;
        } else {
            if (_tried(d, a.provider, k)) return INELIGIBLE_PROVIDER;
            if (entries.length == p.providerCount) return UNKNOWN_PROVIDER;
        }

        bool skipped;
        bool outscored;
        uint256 ownScore = found ? RoutingHash.hrwScore(d.requestId, a.provider, entries[own].reliabilityPpm) : 0;
        for (uint256 i; i < entries.length; ++i) {
            ProviderEntry memory e = entries[i];
            if (e.provider == a.provider || !_searched(p, e.tier, c.gate) || !_eligible(d, p, e, k, c.start)) {
                continue;
            }
            if (e.tier < a.tier) {
                skipped = true;
            } else if (found && e.tier == a.tier) {
                uint256 s = RoutingHash.hrwScore(d.requestId, e.provider, e.reliabilityPpm);
                if (s > ownScore || (s == ownScore && e.provider < a.provider)) outscored = true;
            }
        }
        if (skipped) return a.tier < p.fallbackTier ? TIER_SKIPPED : UNJUSTIFIED_FALLBACK;
        if (outscored) return WRONG_PROVIDER;
        return NONE;
    }

    /// @dev The rules for how the decision ends, after its last attempt.
    function _checkEnd(
        RoutingDecision memory d,
        RegistryParams memory p,
        ProviderEntry[] memory entries,
        Cursor memory c
    ) private pure returns (uint8) {
        uint256 n = d.attempts.length;
        uint8 done = RESOLUTION_OPEN;
        if (n > 0) {
            Attempt memory last = d.attempts[n - 1];
            if (last.outcome == OUTCOME_SUCCESS) done = RESOLUTION_SERVED;
            else if (!_retryable(p, last.outcome)) done = RESOLUTION_NON_RETRYABLE;
            else if (last.tier >= p.fallbackTier) done = RESOLUTION_EXHAUSTED;
        }
        if (done == RESOLUTION_OPEN && c.start >= d.deadlineMs) done = RESOLUTION_DEADLINE;
        if (done != RESOLUTION_OPEN) return d.resolution == done ? NONE : WRONG_RESOLUTION;

        uint8 gate = _gate(d, p, n, c.tokens);
        for (uint256 i; i < entries.length; ++i) {
            if (_searched(p, entries[i].tier, gate) && _eligible(d, p, entries[i], n, c.start)) return PREMATURE_STOP;
        }
        // Nothing in the evidence is left to try: the policy stops with `Exhausted` or tries a
        // provider the evidence does not show; any other resolution is wrong either way.
        return d.resolution == RESOLUTION_EXHAUSTED ? NONE : WRONG_RESOLUTION;
    }

    /// @dev What stops retries on the primary tiers before attempt `k`: the request's attempt
    ///      cap, then the router's retry tokens.
    function _gate(RoutingDecision memory d, RegistryParams memory p, uint256 k, uint256 tokens)
        private
        pure
        returns (uint8)
    {
        if (k == 0) return TRIGGER_NONE;
        uint256 cap = uint256(d.retryBudget) + 1;
        if (cap > p.maxAttempts) cap = p.maxAttempts;
        uint256 primary;
        for (uint256 j; j < k; ++j) {
            if (d.attempts[j].tier < p.fallbackTier) ++primary;
        }
        if (primary >= cap) return TRIGGER_RETRY_BUDGET;
        if (tokens <= p.tokenMax / 2) return TRIGGER_FLEET_BUDGET;
        return TRIGGER_NONE;
    }

    /// @dev Whether `e` may take attempt `k` starting at `start`.
    function _eligible(
        RoutingDecision memory d,
        RegistryParams memory p,
        ProviderEntry memory e,
        uint256 k,
        uint256 start
    ) private pure returns (bool) {
        return e.modelClass == d.modelClass && e.tier <= p.fallbackTier && !_tried(d, e.provider, k)
            && e.cooldownUntilMs <= start && (k == 0 || e.reliabilityPpm >= p.reliabilityFloorPpm);
    }

    /// @dev Whether the policy searches `tier` behind `gate`: every tier up to the fallback
    ///      without a gate, only the fallback tier behind one.
    function _searched(RegistryParams memory p, uint8 tier, uint8 gate) private pure returns (bool) {
        return tier <= p.fallbackTier && (gate == TRIGGER_NONE || tier == p.fallbackTier);
    }

    /// @dev Whether `provider` took one of the attempts before `k`.
    function _tried(RoutingDecision memory d, address provider, uint256 k) private pure returns (bool) {
        for (uint256 j; j < k; ++j) {
            if (d.attempts[j].provider == provider) return true;
        }
        return false;
    }

    /// @dev Whether outcome class `outcome` may be retried.
    function _retryable(RegistryParams memory p, uint8 outcome) private pure returns (bool) {
        return (uint256(p.retryableMask) >> outcome) & 1 == 1;
    }

    /// @dev The index of `provider`'s entry, if any.
    function _find(ProviderEntry[] memory entries, address provider) private pure returns (bool, uint256) {
        for (uint256 i; i < entries.length; ++i) {
            if (entries[i].provider == provider) return (true, i);
        }
        return (false, 0);
    }
}
