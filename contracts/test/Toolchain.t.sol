// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// Smoke test for the toolchain: forge-std (Test, fuzzing, StdInvariant) and
/// OpenZeppelin (MerkleProof) resolve through remappings.txt and compile
/// through the solc-js shim with via-IR.
contract ToolchainTest is Test {
    function _node(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return Hashes.commutativeKeccak256(a, b);
    }

    function test_MerkleProofOfFourLeaves() public pure {
        bytes32[4] memory leaves = [keccak256("a"), keccak256("b"), keccak256("c"), keccak256("d")];
        bytes32 left = _node(leaves[0], leaves[1]);
        bytes32 right = _node(leaves[2], leaves[3]);
        bytes32 root = _node(left, right);

        bytes32[] memory proof = new bytes32[](2);
        proof[0] = leaves[3];
        proof[1] = left;
        assertTrue(MerkleProof.verify(proof, root, leaves[2]));
        assertFalse(MerkleProof.verify(proof, root, leaves[1]));
    }

    function testFuzz_TwoLeafTree(bytes32 a, bytes32 b) public pure {
        vm.assume(a != b);
        bytes32 root = _node(a, b);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = b;
        assertTrue(MerkleProof.verify(proof, root, a));
        proof[0] = a;
        assertTrue(MerkleProof.verify(proof, root, b));
    }
}

/// Target of the invariant test below: keeps a running Merkle-style root.
contract Accumulator {
    bytes32 public root;
    bytes32 public lastLeaf;
    bytes32 public previousRoot;
    uint256 public count;

    function push(bytes32 leaf) external {
        previousRoot = root;
        lastLeaf = leaf;
        root = Hashes.commutativeKeccak256(root, leaf);
        count++;
    }
}

contract ToolchainInvariantTest is Test {
    Accumulator internal acc;

    function setUp() public {
        acc = new Accumulator();
        targetContract(address(acc));
    }

    function invariant_RootCommitsToLastLeaf() public view {
        if (acc.count() == 0) {
            assertEq(acc.root(), bytes32(0));
            return;
        }
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = acc.previousRoot();
        assertTrue(MerkleProof.verify(proof, acc.root(), acc.lastLeaf()));
    }
}
