// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The batch payload is malformed; `offset` is the byte, counted from the payload's start,
///         where decoding stopped.
error InvalidPayload(uint256 offset);

/// @title BatchPayload
/// @notice Decodes the compact batch payload (docs/batch-payload.md) that the sequencer posts with
///         every batch, recomputes each decision's Merkle leaf
///         `keccak256(bytes.concat(keccak256(abi.encode(RoutingDecision))))` and the batch root in
///         OpenZeppelin's `StandardMerkleTree` layout (leaves in batch order, commutative node
///         hashing), and lists the batch's routers.
/// @dev Written in assembly because it runs once per decision on the commit path, where the
///      EIP-7623 calldata floor (40 gas per non-zero byte) sets the price: execution below about
///      six gas per calldata token is free. Every read is a `calldataload` at most 32 bytes past
///      the payload's end (reads there return other calldata or zeros, never fault); the only
///      loops are bounded (≤ 16 attempts, ≤ 10,000 decisions, ≤ 65,535 routers), and a decision
///      that ran past the end is rejected before its leaf counts. Memory: the routers array, one
///      80-word ABI buffer reused for every decision and the `2n - 1` node tree.
library BatchPayload {
    /// @dev The format version this decoder reads.
    uint256 internal constant VERSION = 1;
    /// @dev Most decisions in one batch (`MAX_BATCH_DECISIONS` in Rust).
    uint256 internal constant MAX_DECISIONS = 10_000;
    /// @dev Most attempts in one decision (`MAX_ATTEMPTS` in Rust).
    uint256 internal constant MAX_ATTEMPTS = 16;
    /// @dev Flag: the summary (final provider, final tier, retry count) follows from the attempts.
    uint256 internal constant SUMMARY_DERIVED = 0x01;
    /// @dev Flag: the registry epoch is the batch id.
    uint256 internal constant EPOCH_IS_BATCH = 0x02;
    /// @dev Flag: the deadline is a `uint32` offset from the submit time.
    uint256 internal constant DEADLINE_RELATIVE = 0x04;

    /// @notice Decodes `payload` for batch `batchId`.
    /// @dev Reverts `InvalidPayload(offset)` on any malformed input (see docs/batch-payload.md).
    /// @param payload The compact batch payload.
    /// @param batchId The batch's id (the registry epoch of decisions flagged `EPOCH_IS_BATCH`).
    /// @return root Merkle root of the decisions' leaves, in batch order.
    /// @return count Number of decisions.
    /// @return routers The payload's router table (every decision's router is in it).
    function process(bytes calldata payload, uint64 batchId)
        internal
        pure
        returns (bytes32 root, uint256 count, address[] memory routers)
    {
        assembly ("memory-safe") {
            let start := payload.offset
            let end := add(start, payload.length)

            // InvalidPayload(uint256): the offset is relative to the payload's first byte.
            function fail(off) {
                mstore(0x00, 0x0de42f8100000000000000000000000000000000000000000000000000000000)
                mstore(0x04, off)
                revert(0x00, 0x24)
            }
            // The address at table index `idx` (20 bytes each, starting at `table`).
            function addressAt(table, idx) -> a {
                a := shr(96, calldataload(add(table, mul(idx, 20))))
            }

            if lt(payload.length, 5) { fail(payload.length) }
            if iszero(eq(byte(0, calldataload(start)), 1)) { fail(0) }
            let routerCount := shr(240, calldataload(add(start, 1)))
            let addressCount := shr(240, calldataload(add(start, 3)))
            if gt(routerCount, addressCount) { fail(1) }
            let table := add(start, 5)
            let p := add(table, mul(addressCount, 20))
            if gt(add(p, 2), end) { fail(payload.length) }
            count := shr(240, calldataload(p))
            if or(iszero(count), gt(count, MAX_DECISIONS)) { fail(sub(p, start)) }
            p := add(p, 2)

            // The router table, copied out for the caller.
            routers := mload(0x40)
            mstore(routers, routerCount)
            for { let i := 0 } lt(i, routerCount) { i := add(i, 1) } {
                mstore(add(routers, mul(add(i, 1), 0x20)), addressAt(table, i))
            }
            // abi.encode(RoutingDecision) of the current decision: the tuple's offset, 14 head
            // words (word 6 is the attempts offset, 14 * 32), the attempts' length, 4 words each.
            let buf := add(routers, mul(add(routerCount, 1), 0x20))
            let tree := add(buf, mul(add(16, mul(MAX_ATTEMPTS, 4)), 0x20))
            let nodes := sub(mul(count, 2), 1)
            mstore(0x40, add(tree, mul(nodes, 0x20)))
            mstore(buf, 0x20)
            mstore(add(buf, 0xc0), 0x1c0)

            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                mstore(add(buf, 0x20), calldataload(p)) // requestId
                let flags := byte(0, calldataload(add(p, 32)))
                if gt(flags, 7) { fail(sub(add(p, 32), start)) }
                mstore(add(buf, 0x40), shr(224, calldataload(add(p, 33)))) // modelClass
                let submit := shr(192, calldataload(add(p, 37)))
                mstore(add(buf, 0x60), submit) // submitMs
                p := add(p, 45)
                switch and(flags, DEADLINE_RELATIVE)
                case 0 {
                    mstore(add(buf, 0x80), shr(192, calldataload(p)))
                    p := add(p, 8)
                }
                default {
                    let deadline := add(submit, shr(224, calldataload(p)))
                    if gt(deadline, 0xffffffffffffffff) { fail(sub(p, start)) }
                    mstore(add(buf, 0x80), deadline)
                    p := add(p, 4)
                }
                let w := calldataload(p)
                mstore(add(buf, 0xa0), byte(0, w)) // retryBudget
                let n := byte(1, w)
                if gt(n, MAX_ATTEMPTS) { fail(sub(add(p, 1), start)) }
                mstore(add(buf, 0x1e0), n)
                p := add(p, 2)

                let lastProvider := 0
                let lastTier := 0
                let a := add(buf, 0x200)
                for { let j := 0 } lt(j, n) { j := add(j, 1) } {
                    // provider index (2) | tier (1) | outcome (1) | latencyMs (4)
                    w := calldataload(p)
                    let idx := shr(240, w)
                    if iszero(lt(idx, addressCount)) { fail(sub(p, start)) }
                    let outcome := byte(3, w)
                    if gt(outcome, 5) { fail(sub(add(p, 3), start)) }
                    lastProvider := addressAt(table, idx)
                    lastTier := byte(2, w)
                    mstore(a, lastProvider)
                    mstore(add(a, 0x20), lastTier)
                    mstore(add(a, 0x40), outcome)
                    mstore(add(a, 0x60), and(shr(192, w), 0xffffffff))
                    a := add(a, 0x80)
                    p := add(p, 8)
                }

                switch and(flags, SUMMARY_DERIVED)
                case 0 {
                    // final provider index (2) | final tier (1) | retry count (1)
                    w := calldataload(p)
                    let idx := shr(240, w)
                    if iszero(lt(idx, addressCount)) { fail(sub(p, start)) }
                    mstore(add(buf, 0xe0), addressAt(table, idx))
                    mstore(add(buf, 0x100), byte(2, w))
                    mstore(add(buf, 0x120), byte(3, w))
                    p := add(p, 4)
                }
                default {
                    mstore(add(buf, 0xe0), lastProvider)
                    mstore(add(buf, 0x100), lastTier)
                    mstore(add(buf, 0x120), sub(n, iszero(iszero(n)))) // n - 1, or 0
                }

                w := calldataload(p)
                let trigger := byte(0, w)
                if gt(trigger, 4) { fail(sub(p, start)) }
                let resolution := byte(1, w)
                if gt(resolution, 3) { fail(sub(add(p, 1), start)) }
                mstore(add(buf, 0x140), trigger)
                mstore(add(buf, 0x160), resolution)
                p := add(p, 2)
                switch and(flags, EPOCH_IS_BATCH)
                case 0 {
                    mstore(add(buf, 0x180), shr(192, calldataload(p)))
                    p := add(p, 8)
                }
                default { mstore(add(buf, 0x180), batchId) }

                // budgetTokens (4) | router index (2) | signature (64, not read here)
                w := calldataload(p)
                mstore(add(buf, 0x1a0), shr(224, w))
                let ridx := and(shr(208, w), 0xffff)
                if iszero(lt(ridx, routerCount)) { fail(sub(add(p, 4), start)) }
                mstore(add(buf, 0x1c0), addressAt(table, ridx))
                p := add(p, 70)
                if gt(p, end) { fail(payload.length) }

                // Leaf i goes to node 2n - 2 - i.
                mstore(0x00, keccak256(buf, add(0x200, mul(n, 0x80))))
                mstore(add(tree, mul(sub(sub(nodes, 1), i), 0x20)), keccak256(0x00, 0x20))
            }
            if iszero(eq(p, end)) { fail(sub(p, start)) }

            // Inner nodes n - 2 down to 0: node k = hashPair(node 2k + 1, node 2k + 2).
            for { let k := sub(count, 1) } k {} {
                k := sub(k, 1)
                let l := mload(add(tree, mul(add(mul(k, 2), 1), 0x20)))
                let r := mload(add(tree, mul(add(mul(k, 2), 2), 0x20)))
                switch lt(l, r)
                case 1 {
                    mstore(0x00, l)
                    mstore(0x20, r)
                }
                default {
                    mstore(0x00, r)
                    mstore(0x20, l)
                }
                mstore(add(tree, mul(k, 0x20)), keccak256(0x00, 0x40))
            }
            root := mload(tree)
        }
    }
}
