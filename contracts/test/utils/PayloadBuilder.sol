// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

import {RegistryEvidence} from "../../src/interfaces/IRoutingSettlement.sol";
import {
    Attempt,
    ProviderEntry,
    RegistryParams,
    RouterBudget,
    RoutingDecision,
    RoutingHash
} from "../../src/libraries/RoutingHash.sol";

/// @title PayloadBuilder
/// @notice Test-side twin of the Rust batch tooling: the canonical compact batch payload encoder
///         (docs/batch-payload.md, Rust `routing_primitives::payload::encode`), OpenZeppelin
///         `StandardMerkleTree` roots and single proofs over leaves in batch order, and registry
///         evidence (parameter leaf + provider entries) with OpenZeppelin multiproofs built exactly
///         like `getMultiProof` (Rust `routing_merkle::MerkleTree::multi_proof`).
/// @dev Everything is `internal pure` and allocates once per output, so a 1,200-decision batch
///      encodes without quadratic memory growth.
library PayloadBuilder {
    /// @dev Payload format version.
    uint8 internal constant VERSION = 1;
    /// @dev Flag: the summary follows from the attempts.
    uint8 internal constant SUMMARY_DERIVED = 0x01;
    /// @dev Flag: the registry epoch is the batch id.
    uint8 internal constant EPOCH_IS_BATCH = 0x02;
    /// @dev Flag: the deadline is a `uint32` offset from the submit time.
    uint8 internal constant DEADLINE_RELATIVE = 0x04;
    /// @dev Every flag.
    uint8 internal constant ALL_FLAGS = 0x07;

    /// @notice `decisions` and `signatures` differ in length.
    error LengthMismatch(uint256 decisions, uint256 signatures);
    /// @notice Signature `index` is not 65 bytes, has a `v` other than 0, 1, 27, 28, or a high `s`.
    error BadSignature(uint256 index);
    /// @notice A batch needs 1..=65535 decisions here (the decoder allows at most 10,000).
    error BadDecisionCount(uint256 count);
    /// @notice A decision has more attempts than the format carries (255).
    error TooManyAttempts(uint256 index);
    /// @notice More than 65,535 distinct addresses.
    error TooManyAddresses();
    /// @notice A tree needs at least one leaf.
    error EmptyTree();
    /// @notice A leaf index is not in the tree.
    error IndexOutOfRange(uint256 index, uint256 length);
    /// @notice A multiproof was asked for the same leaf twice.
    error DuplicateIndex(uint256 index);
    /// @notice An evidence provider is not in the registry.
    error UnknownProvider(address provider);

    /// @dev An OpenZeppelin multiproof: leaves in tree order (descending node index), sibling
    ///      hashes in consumption order, and the flags.
    struct MultiProof {
        bytes32[] leaves;
        bytes32[] proof;
        bool[] proofFlags;
    }

    // ---------------------------------------------------------------- payload

    /// @notice The flags the canonical encoder sets for `d` in batch `batchId`.
    function canonicalFlags(RoutingDecision memory d, uint64 batchId) internal pure returns (uint8 f) {
        if (summaryDerived(d)) f = SUMMARY_DERIVED;
        if (d.registryEpoch == batchId) f |= EPOCH_IS_BATCH;
        if (d.deadlineMs >= d.submitMs && d.deadlineMs - d.submitMs <= type(uint32).max) f |= DEADLINE_RELATIVE;
    }

    /// @notice Whether `d`'s summary is the one its attempts imply (the last attempt's provider
    ///         and tier, `attemptCount - 1` retries; zero address, 0, 0 without attempts).
    function summaryDerived(RoutingDecision memory d) internal pure returns (bool) {
        uint256 n = d.attempts.length;
        if (n == 0) return d.finalProvider == address(0) && d.finalTier == 0 && d.retryCount == 0;
        Attempt memory last = d.attempts[n - 1];
        return d.finalProvider == last.provider && d.finalTier == last.tier && d.retryCount == n - 1;
    }

    /// @notice The canonical payload of `decisions` (with their 65-byte `r || s || v` signatures)
    ///         for batch `batchId`: routers first in order of first appearance, then the other
    ///         addresses in order of first appearance, every applicable flag set.
    function encode(uint64 batchId, RoutingDecision[] memory decisions, bytes[] memory signatures)
        internal
        pure
        returns (bytes memory)
    {
        return encodeMasked(batchId, decisions, signatures, ALL_FLAGS);
    }

    /// @dev Encoder state: the output, the write position and the address table.
    struct Writer {
        bytes out;
        uint256 pos;
        address[] table;
        uint256 count;
    }

    /// @notice Like `encode`, but only the flags in `flagMask` may be set: a non-canonical
    ///         payload that decodes to the same decisions.
    function encodeMasked(uint64 batchId, RoutingDecision[] memory ds, bytes[] memory sigs, uint8 flagMask)
        internal
        pure
        returns (bytes memory)
    {
        uint256 n = ds.length;
        if (n != sigs.length) revert LengthMismatch(n, sigs.length);
        if (n == 0 || n > type(uint16).max) revert BadDecisionCount(n);

        uint8[] memory flags = new uint8[](n);
        Writer memory w;
        uint256 routerCount;
        (w.table, routerCount, w.count) = _table(ds, batchId, flagMask, flags);

        uint256 len = 5 + 20 * w.count + 2;
        for (uint256 i; i < n; ++i) {
            len += _decisionLength(ds[i], flags[i]);
        }
        // 32 bytes of slack: every write stores a whole word.
        bytes memory out = new bytes(len + 32);
        assembly ("memory-safe") {
            mstore(out, len)
        }
        w.out = out;

        _put(w, VERSION, 1);
        _put(w, routerCount, 2);
        _put(w, w.count, 2);
        for (uint256 i; i < w.count; ++i) {
            _put(w, uint160(w.table[i]), 20);
        }
        _put(w, n, 2);
        for (uint256 i; i < n; ++i) {
            _putDecision(w, ds[i], flags[i], _compact(sigs[i], i));
        }
        assert(w.pos == len);
        return out;
    }

    /// @dev Builds the address table (routers first) and each decision's flags.
    function _table(RoutingDecision[] memory ds, uint64 batchId, uint8 flagMask, uint8[] memory flags)
        private
        pure
        returns (address[] memory table, uint256 routerCount, uint256 count)
    {
        table = new address[](_tableCapacity(ds));
        for (uint256 i; i < ds.length; ++i) {
            flags[i] = canonicalFlags(ds[i], batchId) & flagMask;
            count = _insert(table, count, ds[i].router);
        }
        routerCount = count;
        for (uint256 i; i < ds.length; ++i) {
            count = _insertProviders(table, count, ds[i], flags[i]);
        }
        if (count > type(uint16).max) revert TooManyAddresses();
    }

    /// @dev The most addresses `ds` can name.
    function _tableCapacity(RoutingDecision[] memory ds) private pure returns (uint256 cap) {
        for (uint256 i; i < ds.length; ++i) {
            if (ds[i].attempts.length > type(uint8).max) revert TooManyAttempts(i);
            cap += ds[i].attempts.length + 2;
        }
    }

    /// @dev Appends the providers `d` names (attempts, and the final provider unless derived).
    function _insertProviders(address[] memory table, uint256 count, RoutingDecision memory d, uint8 f)
        private
        pure
        returns (uint256)
    {
        for (uint256 j; j < d.attempts.length; ++j) {
            count = _insert(table, count, d.attempts[j].provider);
        }
        if (f & SUMMARY_DERIVED == 0) count = _insert(table, count, d.finalProvider);
        return count;
    }

    /// @dev Appends `a` to `table[0..count]` unless present; returns the new count.
    function _insert(address[] memory table, uint256 count, address a) private pure returns (uint256) {
        for (uint256 k; k < count; ++k) {
            if (table[k] == a) return count;
        }
        table[count] = a;
        return count + 1;
    }

    /// @dev Writes the table index of `a` (present by construction) as a `u16`.
    function _putIndex(Writer memory w, address a) private pure {
        for (uint256 k; k < w.count; ++k) {
            if (w.table[k] == a) return _put(w, k, 2);
        }
        revert UnknownProvider(a);
    }

    /// @dev Encoded length of one decision under `f`.
    function _decisionLength(RoutingDecision memory d, uint8 f) private pure returns (uint256 len) {
        len = 32 + 1 + 4 + 8 + 1 + 1 + 8 * d.attempts.length + 1 + 1 + 4 + 2 + 64;
        len += f & DEADLINE_RELATIVE != 0 ? 4 : 8;
        if (f & SUMMARY_DERIVED == 0) len += 4;
        if (f & EPOCH_IS_BATCH == 0) len += 8;
    }

    /// @dev Writes one decision (`rvs`: its 64-byte compact signature).
    function _putDecision(Writer memory w, RoutingDecision memory d, uint8 f, bytes memory rvs) private pure {
        _put(w, uint256(d.requestId), 32);
        _put(w, f, 1);
        _put(w, d.modelClass, 4);
        _put(w, d.submitMs, 8);
        if (f & DEADLINE_RELATIVE != 0) _put(w, d.deadlineMs - d.submitMs, 4);
        else _put(w, d.deadlineMs, 8);
        _put(w, d.retryBudget, 1);
        _put(w, d.attempts.length, 1);
        for (uint256 j; j < d.attempts.length; ++j) {
            Attempt memory a = d.attempts[j];
            _putIndex(w, a.provider);
            _put(w, a.tier, 1);
            _put(w, a.outcome, 1);
            _put(w, a.latencyMs, 4);
        }
        if (f & SUMMARY_DERIVED == 0) {
            _putIndex(w, d.finalProvider);
            _put(w, d.finalTier, 1);
            _put(w, d.retryCount, 1);
        }
        _put(w, d.trigger, 1);
        _put(w, d.resolution, 1);
        if (f & EPOCH_IS_BATCH == 0) _put(w, d.registryEpoch, 8);
        _put(w, d.budgetTokens, 4);
        _putIndex(w, d.router);
        bytes32 r;
        bytes32 vs;
        assembly ("memory-safe") {
            r := mload(add(rvs, 0x20))
            vs := mload(add(rvs, 0x40))
        }
        _put(w, uint256(r), 32);
        _put(w, uint256(vs), 32);
    }

    /// @dev Writes the low `width` bytes of `value` big-endian at the write position (clobbering
    ///      up to 32 bytes after it, which later writes or the slack absorb) and advances it.
    function _put(Writer memory w, uint256 value, uint256 width) private pure {
        bytes memory out = w.out;
        uint256 pos = w.pos;
        assembly ("memory-safe") {
            mstore(add(add(out, 0x20), pos), shl(sub(256, mul(width, 8)), value))
        }
        w.pos = pos + width;
    }

    /// @notice The EIP-2098 `r || vs` form (64 bytes) of a 65-byte `r || s || v` signature.
    function compactSignature(bytes memory sig) internal pure returns (bytes memory) {
        return _compact(sig, 0);
    }

    function _compact(bytes memory sig, uint256 index) private pure returns (bytes memory rvs) {
        if (sig.length != 65) revert BadSignature(index);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
        uint256 parity;
        if (v == 28 || v == 1) parity = 1;
        else if (v != 27 && v != 0) revert BadSignature(index);
        if (uint256(s) >> 255 != 0) revert BadSignature(index);
        rvs = abi.encodePacked(r, bytes32(uint256(s) | (parity << 255)));
    }

    /// @notice The Merkle leaves of `decisions`, in batch order.
    function leaves(RoutingDecision[] memory decisions) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](decisions.length);
        for (uint256 i; i < decisions.length; ++i) {
            out[i] = RoutingHash.leaf(decisions[i]);
        }
    }

    // ---------------------------------------------------------------- Merkle trees

    /// @notice Every node of the `StandardMerkleTree` over `ls` in the given order: `2n - 1`
    ///         nodes, leaf `i` at node `2n - 2 - i`, node `k` the commutative hash of `2k + 1`
    ///         and `2k + 2`, the root at node 0.
    function tree(bytes32[] memory ls) internal pure returns (bytes32[] memory nodes) {
        uint256 n = ls.length;
        if (n == 0) revert EmptyTree();
        nodes = new bytes32[](2 * n - 1);
        for (uint256 i; i < n; ++i) {
            nodes[2 * n - 2 - i] = ls[i];
        }
        for (uint256 k = n - 1; k > 0;) {
            --k;
            nodes[k] = Hashes.commutativeKeccak256(nodes[2 * k + 1], nodes[2 * k + 2]);
        }
    }

    /// @notice The root of the tree over `ls` (batch order).
    function root(bytes32[] memory ls) internal pure returns (bytes32) {
        return tree(ls)[0];
    }

    /// @notice The single proof of leaf `index`: sibling hashes from the leaf's node up to (not
    ///         including) the root, as `getProof` returns it.
    function proof(bytes32[] memory ls, uint256 index) internal pure returns (bytes32[] memory) {
        return proofFromTree(tree(ls), index);
    }

    /// @notice `proof` for a tree already built with `tree`.
    function proofFromTree(bytes32[] memory nodes, uint256 index) internal pure returns (bytes32[] memory out) {
        uint256 n = (nodes.length + 1) / 2;
        if (index >= n) revert IndexOutOfRange(index, n);
        uint256 k = nodes.length - 1 - index;
        out = new bytes32[](256);
        uint256 len;
        while (k > 0) {
            out[len++] = nodes[k % 2 == 1 ? k + 1 : k - 1];
            k = (k - 1) / 2;
        }
        assembly ("memory-safe") {
            mstore(out, len)
        }
    }

    /// @notice OpenZeppelin's `getMultiProof` for the leaves at `indices` (any order): the
    ///         proven leaves come out in tree order (descending node index). No indices give the
    ///         trivial multiproof `{leaves: [], proof: [root], proofFlags: []}`.
    function multiProof(bytes32[] memory ls, uint256[] memory indices) internal pure returns (MultiProof memory mp) {
        bytes32[] memory nodes = tree(ls);
        uint256 n = ls.length;
        uint256 m = indices.length;
        // Node indices, sorted descending (insertion sort: evidence sets are small).
        uint256[] memory queue = new uint256[](m + nodes.length);
        for (uint256 i; i < m; ++i) {
            if (indices[i] >= n) revert IndexOutOfRange(indices[i], n);
            uint256 k = 2 * n - 2 - indices[i];
            uint256 j = i;
            while (j > 0 && queue[j - 1] < k) {
                queue[j] = queue[j - 1];
                --j;
            }
            if (j > 0 && queue[j - 1] == k) revert DuplicateIndex(indices[i]);
            queue[j] = k;
        }
        mp.leaves = new bytes32[](m);
        for (uint256 i; i < m; ++i) {
            mp.leaves[i] = nodes[queue[i]];
        }
        if (m == 0) {
            mp.proof = new bytes32[](1);
            mp.proof[0] = nodes[0];
            mp.proofFlags = new bool[](0);
            return mp;
        }

        // FIFO queue of node indices: proven leaves first, then parents as they are reached.
        // Indices in it only decrease, so a sibling can only be the next element.
        bytes32[] memory proofOut = new bytes32[](nodes.length);
        bool[] memory flagsOut = new bool[](nodes.length);
        uint256 head;
        uint256 tail = m;
        uint256 proofLen;
        uint256 flagsLen;
        while (head < tail && queue[head] != 0) {
            uint256 k = queue[head++];
            uint256 sibling = k % 2 == 1 ? k + 1 : k - 1;
            if (head < tail && queue[head] == sibling) {
                flagsOut[flagsLen++] = true;
                ++head;
            } else {
                flagsOut[flagsLen++] = false;
                proofOut[proofLen++] = nodes[sibling];
            }
            queue[tail++] = (k - 1) / 2;
        }
        assembly ("memory-safe") {
            mstore(proofOut, proofLen)
            mstore(flagsOut, flagsLen)
        }
        mp.proof = proofOut;
        mp.proofFlags = flagsOut;
    }

    // ---------------------------------------------------------------- registry

    /// @notice Sorts provider entries ascending by address, in place (insertion sort).
    function sortProviders(ProviderEntry[] memory ps) internal pure returns (ProviderEntry[] memory) {
        for (uint256 i = 1; i < ps.length; ++i) {
            ProviderEntry memory e = ps[i];
            uint256 j = i;
            while (j > 0 && ps[j - 1].provider > e.provider) {
                ps[j] = ps[j - 1];
                --j;
            }
            ps[j] = e;
        }
        return ps;
    }

    /// @notice The registry's leaves in canonical order: the parameter leaf, every provider
    ///         (`providers` must be ascending by address), then every router budget.
    function registryLeaves(RegistryParams memory p, ProviderEntry[] memory providers, RouterBudget[] memory routers)
        internal
        pure
        returns (bytes32[] memory out)
    {
        out = new bytes32[](1 + providers.length + routers.length);
        out[0] = RoutingHash.paramsLeaf(p);
        for (uint256 i; i < providers.length; ++i) {
            out[1 + i] = RoutingHash.providerLeaf(providers[i]);
        }
        for (uint256 i; i < routers.length; ++i) {
            out[1 + providers.length + i] = RoutingHash.routerLeaf(routers[i]);
        }
    }

    /// @notice The registry root (no router budgets).
    function registryRoot(RegistryParams memory p, ProviderEntry[] memory providers) internal pure returns (bytes32) {
        return root(registryLeaves(p, providers, new RouterBudget[](0)));
    }

    /// @notice The registry root with router budgets.
    function registryRoot(RegistryParams memory p, ProviderEntry[] memory providers, RouterBudget[] memory routers)
        internal
        pure
        returns (bytes32)
    {
        return root(registryLeaves(p, providers, routers));
    }

    /// @notice Evidence of the parameter record and the providers at `chosen` (indices into
    ///         `providers`, strictly ascending), proven against `registryRoot(p, providers, routers)`.
    function registryEvidence(
        RegistryParams memory p,
        ProviderEntry[] memory providers,
        RouterBudget[] memory routers,
        uint256[] memory chosen
    ) internal pure returns (RegistryEvidence memory ev) {
        uint256[] memory indices = new uint256[](chosen.length + 1);
        ev.entries = new ProviderEntry[](chosen.length);
        for (uint256 i; i < chosen.length; ++i) {
            if (chosen[i] >= providers.length) revert IndexOutOfRange(chosen[i], providers.length);
            if (i > 0 && chosen[i] <= chosen[i - 1]) revert DuplicateIndex(chosen[i]);
            indices[i + 1] = 1 + chosen[i];
            ev.entries[i] = providers[chosen[i]];
        }
        MultiProof memory mp = multiProof(registryLeaves(p, providers, routers), indices);
        ev.params = p;
        ev.proof = mp.proof;
        ev.proofFlags = mp.proofFlags;
    }

    /// @notice `registryEvidence` for the entries of `wanted` (any order, repeats ignored); reverts
    ///         `UnknownProvider` for an address not in `providers`.
    function evidenceFor(
        RegistryParams memory p,
        ProviderEntry[] memory providers,
        RouterBudget[] memory routers,
        address[] memory wanted
    ) internal pure returns (RegistryEvidence memory) {
        bool[] memory pick = new bool[](providers.length);
        uint256 count;
        for (uint256 i; i < wanted.length; ++i) {
            uint256 k = providers.length;
            for (uint256 j; j < providers.length; ++j) {
                if (providers[j].provider == wanted[i]) k = j;
            }
            if (k == providers.length) revert UnknownProvider(wanted[i]);
            if (!pick[k]) ++count;
            pick[k] = true;
        }
        uint256[] memory chosen = new uint256[](count);
        count = 0;
        for (uint256 j; j < providers.length; ++j) {
            if (pick[j]) chosen[count++] = j;
        }
        return registryEvidence(p, providers, routers, chosen);
    }

    /// @notice Evidence of the whole registry: every provider entry (makes the check exact).
    function fullEvidence(RegistryParams memory p, ProviderEntry[] memory providers, RouterBudget[] memory routers)
        internal
        pure
        returns (RegistryEvidence memory)
    {
        uint256[] memory chosen = new uint256[](providers.length);
        for (uint256 i; i < chosen.length; ++i) {
            chosen[i] = i;
        }
        return registryEvidence(p, providers, routers, chosen);
    }
}
