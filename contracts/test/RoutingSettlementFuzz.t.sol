// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IRoutingSettlement, Inclusion, RegistryEvidence} from "../src/interfaces/IRoutingSettlement.sol";
import {InvalidPayload} from "../src/libraries/BatchPayload.sol";
import {RoutingCheck} from "../src/libraries/RoutingCheck.sol";
import {
    Attempt,
    BatchHeader,
    ProviderEntry,
    RegistryParams,
    RoutingDecision,
    RoutingHash
} from "../src/libraries/RoutingHash.sol";
import {PayloadBuilder} from "./utils/PayloadBuilder.sol";
import {RoutingFixture} from "./utils/RoutingFixture.sol";
import {RoutingPolicy} from "./utils/RoutingPolicy.sol";
import {SettlementBase} from "./utils/SettlementBase.sol";

/// Fuzz tests of `RoutingSettlement`: the payload decoder against `PayloadBuilder`, corrupted
/// payloads, slash arithmetic, and the on-chain check against the policy (honest decisions are
/// never convicted; with the whole registry, exactly the decisions the policy would not have made
/// are).
contract RoutingSettlementFuzzTest is SettlementBase {
    /// @dev The `k`-th pseudo-random word of `seed`.
    function _rnd(uint256 seed, uint256 k) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, k)));
    }

    /// Four registered providers and two routers: addresses random decisions draw from.
    address[] internal pool;

    function setUp() public override {
        super.setUp();
        ProviderEntry[] memory ps = RoutingFixture.providers();
        for (uint256 i; i < 4; ++i) {
            pool.push(ps[i * 2].provider);
        }
        pool.push(routers[0]);
        pool.push(routers[1]);
    }

    /// @dev An address from a small pool shared by providers and routers, so table entries repeat
    ///      across decisions and roles; or a fresh one.
    function _poolAddress(uint256 r) internal view returns (address) {
        uint256 pick = r % 8;
        // forge-lint: disable-next-line(unsafe-typecast)
        return pick < pool.length ? pool[pick] : address(uint160(r >> 8));
    }

    /// @dev A decision with every field random within the payload's ranges (not a routing one).
    function _randomDecision(uint256 seed, uint64 batchId) internal view returns (RoutingDecision memory d) {
        d.requestId = bytes32(_rnd(seed, 0));
        d.modelClass = uint32(_rnd(seed, 1));
        d.submitMs = uint64(_rnd(seed, 2));
        uint256 r = _rnd(seed, 3);
        if (r % 4 == 0) {
            uint256 deadline = uint256(d.submitMs) + (r >> 8) % (1 << 32);
            // forge-lint: disable-next-line(unsafe-typecast)
            d.deadlineMs = deadline > type(uint64).max ? type(uint64).max : uint64(deadline);
        } else if (r % 4 == 1) {
            // forge-lint: disable-next-line(unsafe-typecast)
            d.deadlineMs = uint64(r >> 8);
        } else if (r % 4 == 2) {
            d.deadlineMs = d.submitMs / 2;
        } else {
            d.deadlineMs = d.submitMs > type(uint64).max - (1 << 33) ? d.submitMs - 1 : d.submitMs + (1 << 32);
        }
        r = _rnd(seed, 4);
        // forge-lint: disable-next-line(unsafe-typecast)
        d.retryBudget = uint8(r);
        uint256 n = (r >> 8) % 5;
        d.attempts = new Attempt[](n);
        for (uint256 k; k < n; ++k) {
            uint256 a = _rnd(seed, 10 + k);
            d.attempts[k] = Attempt({
                provider: _poolAddress(a),
                // forge-lint: disable-next-line(unsafe-typecast)
                tier: uint8(a >> 200),
                outcome: uint8((a >> 208) % 6),
                // forge-lint: disable-next-line(unsafe-typecast)
                latencyMs: uint32(a >> 216)
            });
        }
        r = _rnd(seed, 5);
        if (r % 3 == 0) {
            d.finalProvider = _poolAddress(r >> 8);
            // forge-lint: disable-next-line(unsafe-typecast)
            d.finalTier = uint8(r >> 200);
            // forge-lint: disable-next-line(unsafe-typecast)
            d.retryCount = uint8(r >> 208);
        } else {
            _fixSummary(d);
        }
        d.trigger = uint8((r >> 216) % 5);
        d.resolution = uint8((r >> 224) % 4);
        d.registryEpoch = (r >> 232) % 2 == 0 ? batchId : uint64(_rnd(seed, 6));
        d.budgetTokens = uint32(_rnd(seed, 7));
        d.router = routers[(r >> 240) % routers.length];
    }

    /// @notice `count` random decisions for batch `batchId` (an external self-call, so via-IR does
    ///      not inline it into the fuzz test).
    function randomBatch(uint256 seed, uint256 count, uint64 batchId)
        external
        view
        returns (RoutingDecision[] memory ds)
    {
        ds = new RoutingDecision[](count);
        for (uint256 i; i < count; ++i) {
            ds[i] = _randomDecision(_rnd(seed, 1_000 + i), batchId);
        }
        // Sometimes the same request twice, or the very same decision twice.
        if (count > 1 && seed % 5 == 0) ds[count - 1].requestId = ds[0].requestId;
        if (count > 2 && seed % 7 == 0) ds[count - 1] = ds[1];
    }

    // ---------------------------------------------------------------- commit

    /// Random small batches, canonical or not: the contract's root is `PayloadBuilder`'s, every
    /// leaf has a valid proof, and every router of the batch is locked.
    function testFuzz_commitBatch_randomBatch_succeeds(uint256 seed, uint256 count, uint8 flagMask, uint256 wait)
        public
    {
        count = bound(count, 1, 8);
        skip(bound(wait, 0, 30 days));
        _commit(_ds(_honestChat(keccak256("first"), routers[3], _o())));

        RoutingDecision[] memory ds = this.randomBatch(seed, count, _nextBatchId());
        BatchHeader memory h = _nextHeader(ds);
        bytes memory payload = PayloadBuilder.encodeMasked(h.batchId, ds, _signAll(ds), flagMask & 0x07);
        vm.prank(sequencer);
        bytes32 headerHash = settlement.commitBatch(h, payload);

        assertEq(headerHash, _hash(h));
        assertEq(settlement.lastHeaderHash(), headerHash);
        assertEq(settlement.lastBatchId(), 2);
        _assertProvenAndLocked(h, ds);
    }

    /// @dev Every decision of `ds` has a valid proof under `h` and its router is locked from now.
    function _assertProvenAndLocked(BatchHeader memory h, RoutingDecision[] memory ds) internal view {
        bytes32[] memory leaves = PayloadBuilder.leaves(ds);
        bytes32[] memory nodes = PayloadBuilder.tree(leaves);
        for (uint256 i; i < ds.length; ++i) {
            assertTrue(MerkleProof.verify(PayloadBuilder.proofFromTree(nodes, i), h.decisionsRoot, leaves[i]));
            assertEq(staking.lastActivityAt(ds[i].router), vm.getBlockTimestamp());
        }
    }

    /// @dev A valid 1-3 decision batch (honest and random decisions) for batch 1, and its payload.
    function _corruptible(uint256 seed, uint256 count)
        internal
        view
        returns (BatchHeader memory h, bytes memory payload)
    {
        RoutingDecision[] memory ds = new RoutingDecision[](count);
        for (uint256 i; i < count; ++i) {
            ds[i] = i % 2 == 0
                ? _honestChat(bytes32(_rnd(seed, i)), routers[i % 4], _o(uint8(_rnd(seed, 50 + i) % 6)))
                : _randomDecision(_rnd(seed, i), 1);
        }
        h = _nextHeader(ds);
        payload = _payload(h, ds);
    }

    /// @dev `good` with one corruption of `kind` (0: a byte flipped, 1: two, 2: truncated,
    ///      3: extended) at a position from `pos`.
    function _corrupt(bytes memory good, uint256 pos, uint16 xors, uint8 kind, uint256 seed)
        internal
        pure
        returns (bytes memory bad)
    {
        if (kind == 0 || kind == 1) {
            bad = bytes.concat(good);
            uint256 where = pos % bad.length;
            // forge-lint: disable-next-line(unsafe-typecast)
            uint8 first = uint8(xors);
            bad[where] ^= bytes1(first == 0 ? 1 : first);
            // forge-lint: disable-next-line(unsafe-typecast)
            if (kind == 1) bad[(where + 1 + (pos >> 128) % 40) % bad.length] ^= bytes1(uint8(xors >> 8));
        } else if (kind == 2) {
            bad = PayloadBuilderTestUtils.prefix(good, pos % good.length);
        } else {
            bad =
                PayloadBuilderTestUtils.prefix(bytes.concat(good, bytes32(_rnd(seed, 99))), good.length + 1 + pos % 32);
        }
    }

    /// A valid payload with random corruption (a flipped byte, two, a truncation or extra bytes)
    /// either commits the very same root or reverts `InvalidPayload`, `RootMismatch` or
    /// `CountMismatch`: never another error, never a panic.
    function testFuzz_commitBatch_corruptedPayload_revertsOrSameRoot(
        uint256 seed,
        uint256 count,
        uint256 pos,
        uint16 xors,
        uint8 kind
    ) public {
        (BatchHeader memory h, bytes memory good) = _corruptible(seed, bound(count, 1, 3));
        kind %= 4;
        bytes memory bad = _corrupt(good, pos, xors, kind, seed);

        vm.prank(sequencer);
        (bool ok, bytes memory ret) = address(settlement).call(abi.encodeCall(settlement.commitBatch, (h, bad)));
        if (ok) {
            assertEq(settlement.lastHeaderHash(), _hash(h), "committed only with the same root");
            assertTrue(kind < 2, "a shorter or longer payload never commits");
            return;
        }
        assertGe(ret.length, 4, "a reason, not an out-of-gas or empty revert");
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes4 sel = bytes4(ret);
        assertTrue(
            sel == InvalidPayload.selector || sel == IRoutingSettlement.RootMismatch.selector
                || sel == IRoutingSettlement.CountMismatch.selector,
            "only payload errors"
        );
        assertEq(settlement.lastBatchId(), 0);
    }

    // ---------------------------------------------------------------- slash arithmetic

    /// Any stake, split active/pending, any valid rates, by a challenger or the router itself:
    /// slashed = stake * slashBps / 1e4 <= stake, reward = slashed * rewardBps / 1e4 < slashed
    /// (or zero), and challenger + treasury receive exactly the slashed amount.
    function testFuzz_challengeMisrouting_slashArithmetic(
        uint256 stakeAmount,
        uint256 pendingAmount,
        uint16 slashBps,
        uint16 rewardBps,
        bool selfChallenge
    ) public {
        stakeAmount = bound(stakeAmount, 0, SUPPLY / 2);
        pendingAmount = bound(pendingAmount, 0, stakeAmount);
        slashBps = uint16(bound(slashBps, 1, 10_000));
        rewardBps = uint16(bound(rewardBps, 0, settlement.MAX_REWARD_BPS()));
        vm.prank(owner);
        settlement.setSlashParams(slashBps, rewardBps);

        (address router, uint256 key) = makeAddrAndKey("fuzzRouter");
        keyOf[router] = key;
        if (stakeAmount > 0) _stake(router, stakeAmount);
        if (pendingAmount > 0) {
            vm.prank(router);
            staking.requestUnstake(pendingAmount);
        }
        RoutingDecision memory d = _honestChat(keccak256("fuzz"), router, _o(RoutingPolicy.TIMEOUT));
        d.attempts[0].outcome = RoutingPolicy.SUCCESS;
        Inclusion memory inc = _commitOne(d);

        address caller = selfChallenge ? router : challenger;
        uint256 callerBefore = token.balanceOf(caller);
        uint256 supplyOutside = token.balanceOf(address(staking)) + token.balanceOf(treasury) + callerBefore;
        vm.prank(caller);
        uint256 slashed = settlement.challengeMisrouting(inc, _paramsOnly(1));

        uint256 reward = token.balanceOf(caller) - callerBefore;
        uint256 toTreasury = token.balanceOf(treasury);
        assertEq(slashed, stakeAmount * slashBps / 10_000);
        assertLe(slashed, stakeAmount);
        if (slashed > 0) assertLt(reward, slashed);
        assertEq(reward, selfChallenge ? 0 : slashed * rewardBps / 10_000);
        assertEq(reward + toTreasury, slashed, "challenger + treasury got exactly the slash");
        assertEq(_stakeOf(router), stakeAmount - slashed);
        assertEq(staking.totalStaked(), token.balanceOf(address(staking)));
        assertEq(token.balanceOf(address(staking)) + token.balanceOf(treasury) + token.balanceOf(caller), supplyOutside);
        assertTrue(staking.jailed(router));
    }

    // ---------------------------------------------------------------- malformed evidence

    /// @dev A committed wrong-provider decision and the evidence (its provider and the better
    ///      one) that proves it.
    function _wrongProviderCase() internal returns (Inclusion memory inc, RegistryEvidence memory ev) {
        bytes32 id = keccak256("evidence");
        RoutingDecision memory honest = _honestChat(id, routers[0], _o(RoutingPolicy.TIMEOUT));
        (address best, address second) = (honest.attempts[0].provider, honest.attempts[1].provider);
        RoutingDecision memory d = _honestChat(id, routers[0], _o());
        d.attempts[0].provider = second;
        _fixSummary(d);
        inc = _commitOne(d);
        ev = _evidence(1, _addrs(best, second));
    }

    /// @dev `ev` with its multiproof damaged one of eight ways.
    function _damage(RegistryEvidence memory ev, uint256 kind, uint256 r) internal pure {
        uint256 f = ev.proofFlags.length;
        uint256 p = ev.proof.length;
        if (kind == 0) {
            ev.proofFlags[r % f] = !ev.proofFlags[r % f];
        } else if (kind == 1) {
            bool[] memory flags = new bool[](f + 1);
            for (uint256 i; i < f; ++i) {
                flags[i] = ev.proofFlags[i];
            }
            flags[f] = r % 2 == 0;
            ev.proofFlags = flags;
        } else if (kind == 2) {
            bool[] memory flags = ev.proofFlags;
            assembly ("memory-safe") {
                mstore(flags, sub(f, 1))
            }
        } else if (kind == 3) {
            bytes32[] memory proof = new bytes32[](p + 1);
            for (uint256 i; i < p; ++i) {
                proof[i] = ev.proof[i];
            }
            proof[p] = bytes32(r);
            ev.proof = proof;
        } else if (kind == 4) {
            bytes32[] memory proof = ev.proof;
            assembly ("memory-safe") {
                mstore(proof, sub(p, 1))
            }
        } else if (kind == 5) {
            ev.proof[r % p] = bytes32(r);
        } else if (kind == 6) {
            for (uint256 i; i < f; ++i) {
                ev.proofFlags[i] = !ev.proofFlags[i];
            }
        } else {
            // Same lengths, every flag false: more sibling hashes asked for than given.
            for (uint256 i; i < f; ++i) {
                ev.proofFlags[i] = false;
            }
        }
    }

    /// A damaged multiproof is rejected with `InvalidRegistryProof`, whatever the damage: never
    /// OpenZeppelin's `MerkleProofInvalidMultiproof`, never a panic.
    function testFuzz_challengeMisrouting_damagedMultiproof_reverts(uint256 kind, uint256 r) public {
        (Inclusion memory inc, RegistryEvidence memory ev) = _wrongProviderCase();
        assertGt(ev.proof.length, 0);
        assertGt(ev.proofFlags.length, 0);
        kind = bound(kind, 0, 7);
        // Three leaves merge twice on their way up: two true flags, so every kind of damage
        // changes the multiproof.
        _damage(ev, kind, r);
        vm.expectRevert(IRoutingSettlement.InvalidRegistryProof.selector);
        settlement.challengeMisrouting(inc, ev);
    }

    /// The undamaged evidence of `_wrongProviderCase` does prove the offence.
    function test_challengeMisrouting_wrongProviderCase_succeeds() public {
        (Inclusion memory inc, RegistryEvidence memory ev) = _wrongProviderCase();
        vm.prank(challenger);
        assertEq(settlement.challengeMisrouting(inc, ev), 100e18);
    }

    // ---------------------------------------------------------------- the check against the policy

    /// Honest decisions (any outcomes, latencies, retry budget, tokens, model class) are never
    /// convicted, neither with the whole registry nor with any subset of it.
    function testFuzz_challengeMisrouting_honestDecision_reverts(
        bytes32 id,
        uint256 seed,
        uint8 retryBudget,
        uint32 budgetTokens,
        uint256 subset
    ) public {
        uint8[] memory outcomes = new uint8[](6);
        uint32[] memory latencies = new uint32[](6);
        for (uint256 k; k < 6; ++k) {
            uint256 r = _rnd(seed, k);
            outcomes[k] = uint8(r % 2 == 0 ? 0 : r % 6);
            latencies[k] = uint32((r >> 8) % 12_000);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        RoutingPolicy.Request memory req = _request(id, uint32(1 + seed % 3));
        req.retryBudget = uint8(bound(retryBudget, 0, 5));
        RoutingDecision memory d = RoutingPolicy.route(
            req,
            RoutingFixture.params(1),
            RoutingFixture.providers(),
            routers[seed % 4],
            uint32(bound(budgetTokens, 0, RoutingFixture.TOKEN_MAX + 1_000)),
            RoutingPolicy.Oracle({outcomes: outcomes, latencies: latencies})
        );
        Inclusion memory inc = _commitOne(d);

        vm.expectRevert(IRoutingSettlement.NoViolation.selector);
        settlement.challengeMisrouting(inc, _fullEvidence(1));

        ProviderEntry[] memory ps = RoutingFixture.providers();
        uint256 m;
        address[] memory wanted = new address[](ps.length);
        for (uint256 i; i < ps.length; ++i) {
            if ((subset >> i) & 1 == 1) wanted[m++] = ps[i].provider;
        }
        assembly ("memory-safe") {
            mstore(wanted, m)
        }
        RegistryEvidence memory ev = _evidence(1, wanted);
        vm.expectRevert(IRoutingSettlement.NoViolation.selector);
        settlement.challengeMisrouting(inc, ev);
        assertEq(_stakeOf(d.router), ROUTER_STAKE);
    }

    /// @dev A random registry: 1..8 providers in classes 1..2, tiers 0..3, any reliability, some
    ///      cooling down; parameters within the ranges the Rust registry accepts.
    function _randomRegistry(uint256 seed, uint64 submitMs)
        internal
        pure
        returns (RegistryParams memory p, ProviderEntry[] memory ps)
    {
        uint256 r = _rnd(seed, 100);
        p = RoutingFixture.params(1);
        // forge-lint: disable-next-line(unsafe-typecast)
        p.maxAttempts = uint8(1 + r % 5);
        p.fallbackTier = uint8(1 + (r >> 8) % 3);
        p.retryableMask = uint8((r >> 16) & 0x3e);
        p.reliabilityFloorPpm = uint32((r >> 24) % 1_000_001);
        p.tokenMax = uint32(1 + (r >> 64) % 20_000);
        p.tokenRatio = uint32((r >> 96) % 3_000);
        p.tokenFailureCost = uint32((r >> 128) % 6_000);
        uint256 n = 1 + (r >> 160) % 8;
        // forge-lint: disable-next-line(unsafe-typecast)
        p.providerCount = uint32(n);
        ps = new ProviderEntry[](n);
        for (uint256 i; i < n; ++i) {
            uint256 e = _rnd(seed, 200 + i);
            ps[i] = ProviderEntry({
                // forge-lint: disable-next-line(unsafe-typecast)
                provider: address(uint160(e)),
                modelClass: uint32(1 + (e >> 160) % 2),
                tier: uint8((e >> 168) % 4),
                reliabilityPpm: uint32((e >> 176) % 1_000_001),
                cooldownUntilMs: (e >> 208) % 3 == 0 ? submitMs + uint64((e >> 216) % 5_000) : 0
            });
        }
        PayloadBuilder.sortProviders(ps);
    }

    /// @dev Mutates `d` one random way (or not at all, for kind 0).
    function _mutate(RoutingDecision memory d, ProviderEntry[] memory ps, uint256 seed) internal pure {
        uint256 r = _rnd(seed, 300);
        uint256 kind = r % 15;
        uint256 n = d.attempts.length;
        uint256 k = n == 0 ? 0 : (r >> 8) % n;
        if (kind == 1 && n > 0) {
            // forge-lint: disable-next-line(unsafe-typecast)
            d.attempts[k].provider = (r >> 16) % 4 == 0 ? address(uint160(r >> 32)) : ps[(r >> 16) % ps.length].provider;
        } else if (kind == 2 && n > 0) {
            d.attempts[k].tier = uint8((r >> 16) % 4);
        } else if (kind == 3 && n > 0) {
            d.attempts[k].outcome = uint8((r >> 16) % 6);
        } else if (kind == 4 && n > 0) {
            d.attempts[k].latencyMs = uint32((r >> 16) % 40_000);
        } else if (kind == 5 && n > 0) {
            Attempt[] memory shorter = new Attempt[](n - 1);
            for (uint256 j; j + 1 < n; ++j) {
                shorter[j] = d.attempts[j];
            }
            d.attempts = shorter;
        } else if (kind == 6) {
            Attempt[] memory longer = new Attempt[](n + 1);
            for (uint256 j; j < n; ++j) {
                longer[j] = d.attempts[j];
            }
            ProviderEntry memory e = ps[(r >> 16) % ps.length];
            longer[n] = Attempt({
                provider: e.provider, tier: e.tier, outcome: uint8((r >> 32) % 6), latencyMs: uint32((r >> 40) % 5_000)
            });
            d.attempts = longer;
        } else if (kind == 7) {
            d.trigger = uint8((r >> 16) % 5);
        } else if (kind == 8) {
            d.resolution = uint8((r >> 16) % 4);
        } else if (kind == 9) {
            d.retryCount = uint8((r >> 16) % 4);
            d.finalTier = uint8((r >> 24) % 3);
        } else if (kind == 10) {
            d.budgetTokens = uint32((r >> 16) % 40_000);
        } else if (kind == 11) {
            d.retryBudget = uint8((r >> 16) % 6);
        } else if (kind == 12) {
            d.deadlineMs = d.submitMs + uint64((r >> 16) % 20_000);
        } else if (kind == 13 && n > 1) {
            uint256 j = (k + 1) % n;
            (d.attempts[k], d.attempts[j]) = (d.attempts[j], d.attempts[k]);
        } else if (kind == 14) {
            d.registryEpoch += 1;
        }
        // Mostly keep the summary consistent, so the other rules are what is tested.
        if (kind != 9 && (r >> 250) % 4 != 0) _fixSummary(d);
    }

    /// With the whole registry as evidence the check is exact: a decision is convicted if and
    /// only if it differs from what the policy (`RoutingPolicy.route`, ported from route.rs)
    /// decides for the same request, router, tokens and attempt outcomes. With part of the
    /// registry it never convicts a decision the policy would have made.
    function testFuzz_routingCheck_exactWithWholeRegistry(uint256 seed, uint256 subset) public pure {
        uint64 submitMs = 1_000_000;
        (RegistryParams memory p, ProviderEntry[] memory ps) = _randomRegistry(seed, submitMs);
        uint8[] memory outcomes = new uint8[](8);
        uint32[] memory latencies = new uint32[](8);
        for (uint256 k; k < 8; ++k) {
            uint256 r = _rnd(seed, 400 + k);
            outcomes[k] = uint8(r % 3 == 0 ? 0 : r % 6);
            latencies[k] = uint32((r >> 8) % 4_000);
        }
        uint256 q = _rnd(seed, 500);
        RoutingPolicy.Request memory req = RoutingPolicy.Request({
            id: bytes32(q),
            // forge-lint: disable-next-line(unsafe-typecast)
            modelClass: uint32(1 + q % 2),
            submitMs: submitMs,
            deadlineMs: submitMs + uint64((q >> 8) % 15_000),
            retryBudget: uint8((q >> 32) % 5)
        });
        RoutingDecision memory d = RoutingPolicy.route(
            req,
            p,
            ps,
            address(0xB0B),
            uint32((q >> 40) % (uint256(p.tokenMax) + 1)),
            RoutingPolicy.Oracle({outcomes: outcomes, latencies: latencies})
        );
        (uint8 code,) = RoutingCheck.check(d, p, ps);
        assertEq(code, RoutingCheck.NONE, "the policy's own decision");

        _mutate(d, ps, seed);
        RoutingDecision memory replay = _replay(d, p, ps);
        (code,) = RoutingCheck.check(d, p, ps);
        bool differs = RoutingHash.leaf(d) != RoutingHash.leaf(replay);
        assertEq(code != RoutingCheck.NONE, differs, "convicted exactly when the policy decides otherwise");

        ProviderEntry[] memory part = new ProviderEntry[](ps.length);
        uint256 m;
        for (uint256 i; i < ps.length; ++i) {
            if ((subset >> i) & 1 == 1) part[m++] = ps[i];
        }
        assembly ("memory-safe") {
            mstore(part, m)
        }
        (uint8 partialCode,) = RoutingCheck.check(d, p, part);
        if (partialCode != RoutingCheck.NONE) {
            assertTrue(differs, "partial evidence never convicts an honest decision");
        }
    }

    /// @dev What the policy decides for `d`'s request, router and tokens when every attempt ends
    ///      as `d` says (success past `d`'s attempts).
    function _replay(RoutingDecision memory d, RegistryParams memory p, ProviderEntry[] memory ps)
        internal
        pure
        returns (RoutingDecision memory)
    {
        uint256 n = d.attempts.length;
        uint8[] memory outcomes = new uint8[](n);
        uint32[] memory latencies = new uint32[](n);
        for (uint256 k; k < n; ++k) {
            outcomes[k] = d.attempts[k].outcome;
            latencies[k] = d.attempts[k].latencyMs;
        }
        return RoutingPolicy.route(
            RoutingPolicy.Request({
                id: d.requestId,
                modelClass: d.modelClass,
                submitMs: d.submitMs,
                deadlineMs: d.deadlineMs,
                retryBudget: d.retryBudget
            }),
            p,
            ps,
            d.router,
            d.budgetTokens,
            RoutingPolicy.Oracle({outcomes: outcomes, latencies: latencies})
        );
    }
}

/// Byte helpers for the fuzz tests.
library PayloadBuilderTestUtils {
    /// @notice The first `len` bytes of `b`.
    function prefix(bytes memory b, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = b[i];
        }
    }
}
