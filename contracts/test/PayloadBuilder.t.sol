// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {RegistryEvidence} from "../src/interfaces/IRoutingSettlement.sol";
import {
    Attempt,
    ProviderEntry,
    RegistryParams,
    RouterBudget,
    RoutingDecision,
    RoutingHash
} from "../src/libraries/RoutingHash.sol";
import {PayloadBuilder} from "./utils/PayloadBuilder.sol";
import {RoutingFixture} from "./utils/RoutingFixture.sol";

/// Exposes PayloadBuilder's reverting paths through external calls (expectRevert needs a call).
contract PayloadBuilderHarness {
    function multiProof(bytes32[] memory leaves, uint256[] memory indices)
        external
        pure
        returns (PayloadBuilder.MultiProof memory)
    {
        return PayloadBuilder.multiProof(leaves, indices);
    }

    function proof(bytes32[] memory leaves, uint256 index) external pure returns (bytes32[] memory) {
        return PayloadBuilder.proof(leaves, index);
    }

    function compactSignature(bytes memory sig) external pure returns (bytes memory) {
        return PayloadBuilder.compactSignature(sig);
    }

    function encode(uint64 batchId, RoutingDecision[] memory ds, bytes[] memory sigs)
        external
        pure
        returns (bytes memory)
    {
        return PayloadBuilder.encode(batchId, ds, sigs);
    }
}

/// Tests of the test-side tooling itself: the encoder against the documented byte layout, the
/// Merkle helpers against OpenZeppelin's verifiers.
contract PayloadBuilderTest is Test {
    PayloadBuilderHarness internal harness;

    function setUp() public {
        harness = new PayloadBuilderHarness();
    }

    /// @dev `n` distinct pseudo-random leaves.
    function _leaves(uint256 n, uint256 seed) internal pure returns (bytes32[] memory ls) {
        ls = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ls[i] = keccak256(bytes.concat(keccak256(abi.encode(seed, i))));
        }
    }

    /// @dev A two-attempt decision with hand-picked fields.
    function _decision() internal pure returns (RoutingDecision memory d) {
        d.requestId = bytes32(uint256(0x1111));
        d.modelClass = 0x01020304;
        d.submitMs = 1_000;
        d.deadlineMs = 31_000;
        d.retryBudget = 2;
        d.attempts = new Attempt[](2);
        d.attempts[0] = Attempt({provider: address(0xA1), tier: 0, outcome: 1, latencyMs: 5_000});
        d.attempts[1] = Attempt({provider: address(0xA2), tier: 1, outcome: 0, latencyMs: 700});
        d.finalProvider = address(0xA2);
        d.finalTier = 1;
        d.retryCount = 1;
        d.trigger = 0;
        d.resolution = 0;
        d.registryEpoch = 9;
        d.budgetTokens = 7_000;
        d.router = address(0xB0);
    }

    function _sig(uint8 v) internal pure returns (bytes memory) {
        return abi.encodePacked(bytes32(uint256(0xAAAA)), bytes32(uint256(0xBBBB)), v);
    }

    // ---------------------------------------------------------------- payload

    function test_encode_canonicalLayout_succeeds() public pure {
        RoutingDecision[] memory ds = new RoutingDecision[](1);
        ds[0] = _decision();
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = _sig(28);
        bytes memory expected = bytes.concat(
            abi.encodePacked(uint8(1), uint16(1), uint16(3), address(0xB0), address(0xA1), address(0xA2), uint16(1)),
            abi.encodePacked(bytes32(uint256(0x1111)), uint8(7), uint32(0x01020304), uint64(1_000), uint32(30_000)),
            abi.encodePacked(uint8(2), uint8(2), uint16(1), uint8(0), uint8(1), uint32(5_000)),
            abi.encodePacked(uint16(2), uint8(1), uint8(0), uint32(700), uint8(0), uint8(0), uint32(7_000), uint16(0)),
            abi.encodePacked(bytes32(uint256(0xAAAA)), bytes32(uint256(0xBBBB) | (1 << 255)))
        );
        assertEq(PayloadBuilder.encode(9, ds, sigs), expected);
    }

    function test_encode_noFlags_succeeds() public pure {
        RoutingDecision[] memory ds = new RoutingDecision[](1);
        ds[0] = _decision();
        ds[0].finalTier = 0; // not derivable: the summary is written out
        ds[0].deadlineMs = 500; // before the submit time: absolute
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = _sig(27);
        bytes memory expected = bytes.concat(
            abi.encodePacked(uint8(1), uint16(1), uint16(3), address(0xB0), address(0xA1), address(0xA2), uint16(1)),
            abi.encodePacked(bytes32(uint256(0x1111)), uint8(0), uint32(0x01020304), uint64(1_000), uint64(500)),
            abi.encodePacked(uint8(2), uint8(2), uint16(1), uint8(0), uint8(1), uint32(5_000)),
            abi.encodePacked(uint16(2), uint8(1), uint8(0), uint32(700), uint16(2), uint8(0), uint8(1)),
            abi.encodePacked(uint8(0), uint8(0), uint64(9), uint32(7_000), uint16(0)),
            abi.encodePacked(bytes32(uint256(0xAAAA)), bytes32(uint256(0xBBBB)))
        );
        // Batch 10: the epoch (9) is written out too.
        assertEq(PayloadBuilder.encode(10, ds, sigs), expected);
        assertEq(PayloadBuilder.canonicalFlags(ds[0], 9), PayloadBuilder.EPOCH_IS_BATCH);
    }

    function test_encode_tableRoutersFirstInOrderOfAppearance_succeeds() public pure {
        RoutingDecision[] memory ds = new RoutingDecision[](3);
        (ds[0], ds[1], ds[2]) = (_decision(), _decision(), _decision());
        ds[1].router = address(0xA2); // a provider that is also a router
        ds[2].router = address(0xB0);
        ds[2].attempts[0].provider = address(0xC3);
        bytes[] memory sigs = new bytes[](3);
        (sigs[0], sigs[1], sigs[2]) = (_sig(27), _sig(0), _sig(1));
        bytes memory p = PayloadBuilder.encode(9, ds, sigs);
        assertEq(
            _slice(p, 0, 5 + 4 * 20),
            abi.encodePacked(uint8(1), uint16(2), uint16(4), address(0xB0), address(0xA2), address(0xA1), address(0xC3))
        );
    }

    function test_compactSignature_parity_succeeds() public view {
        bytes32 s = bytes32(uint256(0xBBBB));
        assertEq(harness.compactSignature(_sig(27)), abi.encodePacked(bytes32(uint256(0xAAAA)), s));
        assertEq(harness.compactSignature(_sig(0)), abi.encodePacked(bytes32(uint256(0xAAAA)), s));
        bytes32 vs = bytes32(uint256(s) | (1 << 255));
        assertEq(harness.compactSignature(_sig(28)), abi.encodePacked(bytes32(uint256(0xAAAA)), vs));
        assertEq(harness.compactSignature(_sig(1)), abi.encodePacked(bytes32(uint256(0xAAAA)), vs));
    }

    function test_compactSignature_invalid_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(PayloadBuilder.BadSignature.selector, uint256(0)));
        harness.compactSignature(_sig(29));
        vm.expectRevert(abi.encodeWithSelector(PayloadBuilder.BadSignature.selector, uint256(0)));
        harness.compactSignature(abi.encodePacked(bytes32(0), bytes32(0)));
        vm.expectRevert(abi.encodeWithSelector(PayloadBuilder.BadSignature.selector, uint256(0)));
        harness.compactSignature(abi.encodePacked(bytes32(0), bytes32(uint256(1) << 255), uint8(27)));
    }

    function test_encode_lengthMismatch_reverts() public {
        RoutingDecision[] memory ds = new RoutingDecision[](1);
        ds[0] = _decision();
        vm.expectRevert(abi.encodeWithSelector(PayloadBuilder.LengthMismatch.selector, uint256(1), uint256(0)));
        harness.encode(1, ds, new bytes[](0));
        vm.expectRevert(abi.encodeWithSelector(PayloadBuilder.BadDecisionCount.selector, uint256(0)));
        harness.encode(1, new RoutingDecision[](0), new bytes[](0));
    }

    // ---------------------------------------------------------------- Merkle trees

    function test_tree_layout_succeeds() public pure {
        bytes32[] memory ls = _leaves(5, 1);
        bytes32[] memory nodes = PayloadBuilder.tree(ls);
        assertEq(nodes.length, 9);
        for (uint256 i; i < 5; ++i) {
            assertEq(nodes[8 - i], ls[i]);
        }
        for (uint256 k; k < 4; ++k) {
            assertEq(nodes[k], Hashes.commutativeKeccak256(nodes[2 * k + 1], nodes[2 * k + 2]));
        }
        assertEq(PayloadBuilder.root(ls), nodes[0]);
        bytes32[] memory one = _leaves(1, 2);
        assertEq(PayloadBuilder.root(one), one[0]);
        assertEq(PayloadBuilder.proof(one, 0).length, 0);
    }

    function test_proof_outOfRange_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(PayloadBuilder.IndexOutOfRange.selector, uint256(3), uint256(3)));
        harness.proof(_leaves(3, 1), 3);
        vm.expectRevert(PayloadBuilder.EmptyTree.selector);
        harness.proof(new bytes32[](0), 0);
    }

    function testFuzz_proof_verifiesWithOpenZeppelin(uint256 n, uint256 seed, uint256 pick) public pure {
        n = bound(n, 1, 300);
        bytes32[] memory ls = _leaves(n, seed);
        bytes32[] memory nodes = PayloadBuilder.tree(ls);
        uint256 i = pick % n;
        bytes32[] memory p = PayloadBuilder.proofFromTree(nodes, i);
        assertTrue(MerkleProof.verify(p, nodes[0], ls[i]));
        assertFalse(MerkleProof.verify(p, nodes[0], ls[(i + 1) % n]) && n > 1);
    }

    function testFuzz_multiProof_verifiesWithOpenZeppelin(uint256 n, uint256 seed, uint256 mask) public view {
        n = bound(n, 1, 40);
        bytes32[] memory ls = _leaves(n, seed);
        uint256[] memory indices = new uint256[](n);
        uint256 m;
        // Any order: descending here; the multiproof sorts them.
        for (uint256 i = n; i > 0; --i) {
            if ((mask >> (i - 1)) & 1 == 1) indices[m++] = i - 1;
        }
        assembly ("memory-safe") {
            mstore(indices, m)
        }
        PayloadBuilder.MultiProof memory mp = harness.multiProof(ls, indices);
        bytes32 root = PayloadBuilder.root(ls);
        assertTrue(MerkleProof.multiProofVerify(mp.proof, mp.proofFlags, root, mp.leaves));
        assertEq(mp.leaves.length, m);
        // Unsorted layout: tree order is ascending original index.
        for (uint256 j; j < m; ++j) {
            assertEq(mp.leaves[j], ls[indices[m - 1 - j]]);
        }
        if (mp.proof.length > 0) {
            mp.proof[0] = keccak256(abi.encode(mp.proof[0]));
            assertFalse(MerkleProof.multiProofVerify(mp.proof, mp.proofFlags, root, mp.leaves));
        }
    }

    function test_multiProof_noIndices_succeeds() public view {
        bytes32[] memory ls = _leaves(4, 3);
        PayloadBuilder.MultiProof memory mp = harness.multiProof(ls, new uint256[](0));
        assertEq(mp.leaves.length, 0);
        assertEq(mp.proofFlags.length, 0);
        assertEq(mp.proof.length, 1);
        assertEq(mp.proof[0], PayloadBuilder.root(ls));
    }

    function test_multiProof_badIndices_reverts() public {
        uint256[] memory indices = new uint256[](3);
        (indices[0], indices[1], indices[2]) = (2, 0, 2);
        vm.expectRevert(abi.encodeWithSelector(PayloadBuilder.DuplicateIndex.selector, uint256(2)));
        harness.multiProof(_leaves(4, 1), indices);
        indices[2] = 9;
        vm.expectRevert(abi.encodeWithSelector(PayloadBuilder.IndexOutOfRange.selector, uint256(9), uint256(4)));
        harness.multiProof(_leaves(4, 1), indices);
    }

    // ---------------------------------------------------------------- registry evidence

    function testFuzz_registryEvidence_verifiesWithOpenZeppelin(uint256 subset, bool withRouters) public pure {
        RegistryParams memory p = RoutingFixture.params(5);
        ProviderEntry[] memory ps = RoutingFixture.providers();
        RouterBudget[] memory rs = new RouterBudget[](withRouters ? 2 : 0);
        if (withRouters) {
            rs[0] = RouterBudget({router: address(0x10), tokens: 5});
            rs[1] = RouterBudget({router: address(0x20), tokens: 9});
        }
        address[] memory wanted = new address[](ps.length);
        uint256 m;
        for (uint256 i; i < ps.length; ++i) {
            if ((subset >> i) & 1 == 1) wanted[m++] = ps[ps.length - 1 - i].provider;
        }
        assembly ("memory-safe") {
            mstore(wanted, m)
        }
        RegistryEvidence memory ev = PayloadBuilder.evidenceFor(p, ps, rs, wanted);
        assertEq(ev.entries.length, m);
        bytes32[] memory leaves = new bytes32[](m + 1);
        leaves[0] = RoutingHash.paramsLeaf(ev.params);
        for (uint256 i; i < m; ++i) {
            if (i > 0) assertLt(uint160(ev.entries[i - 1].provider), uint160(ev.entries[i].provider));
            leaves[i + 1] = RoutingHash.providerLeaf(ev.entries[i]);
        }
        bytes32 root = PayloadBuilder.registryRoot(p, ps, rs);
        assertTrue(MerkleProof.multiProofVerify(ev.proof, ev.proofFlags, root, leaves));
        if (!withRouters) assertEq(root, PayloadBuilder.registryRoot(p, ps));
    }

    function test_fixture_providersSortedAndDistinct_succeeds() public pure {
        ProviderEntry[] memory ps = RoutingFixture.providers();
        assertEq(ps.length, RoutingFixture.PROVIDER_COUNT);
        assertEq(RoutingFixture.params(1).providerCount, ps.length);
        for (uint256 i = 1; i < ps.length; ++i) {
            assertLt(uint160(ps[i - 1].provider), uint160(ps[i].provider));
        }
        assertEq(RoutingFixture.entry("chat-weak").reliabilityPpm, 450_000);
    }

    function _slice(bytes memory b, uint256 from, uint256 to) internal pure returns (bytes memory out) {
        out = new bytes(to - from);
        for (uint256 i; i < out.length; ++i) {
            out[i] = b[from + i];
        }
    }
}
