// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {
    Attempt,
    BatchHeader,
    ProviderEntry,
    RegistryParams,
    RouterBudget,
    RoutingDecision,
    RoutingHash
} from "../src/libraries/RoutingHash.sol";

/// Exposes the calldata overload of `leaf`.
contract CalldataLeaf {
    function leaf(RoutingDecision calldata d) external pure returns (bytes32) {
        return RoutingHash.leafCalldata(d);
    }
}

/// Checks RoutingHash against the vectors the Rust crates generate
/// (crates/policy/tests/solidity_vectors.rs -> test/vectors/routing_hash.json).
contract RoutingHashTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), "/test/vectors/routing_hash.json"));
    }

    function _decision(bytes memory encoded) internal pure returns (RoutingDecision memory) {
        return abi.decode(encoded, (RoutingDecision));
    }

    function test_vectors_cover_every_kind_succeeds() public view {
        assertGe(vm.parseJsonBytesArray(json, ".decisions.abi").length, 50);
        assertGe(vm.parseJsonBytesArray(json, ".providers.abi").length, 10);
        assertEq(vm.parseJsonBytesArray(json, ".routers.abi").length, 2);
        assertGe(vm.parseJsonBytesArray(json, ".params.abi").length, 1);
        assertEq(vm.parseJsonBytesArray(json, ".headers.abi").length, 3);
        assertGe(vm.parseJsonStringArray(json, ".hrw.score").length, 10);
    }

    function test_leaf_matchesRustVectors_succeeds() public {
        bytes[] memory encoded = vm.parseJsonBytesArray(json, ".decisions.abi");
        bytes32[] memory expected = vm.parseJsonBytes32Array(json, ".decisions.leaf");
        assertEq(encoded.length, expected.length);
        CalldataLeaf viaCalldata = new CalldataLeaf();
        for (uint256 i; i < encoded.length; ++i) {
            RoutingDecision memory d = _decision(encoded[i]);
            // Solidity's encoding of the decoded struct is the Rust encoding, byte for byte.
            assertEq(abi.encode(d), encoded[i]);
            assertEq(RoutingHash.leaf(d), expected[i]);
            assertEq(viaCalldata.leaf(d), expected[i]);
        }
    }

    function test_hashStruct_matchesRustVectors_succeeds() public view {
        bytes[] memory encoded = vm.parseJsonBytesArray(json, ".decisions.abi");
        bytes32[] memory expected = vm.parseJsonBytes32Array(json, ".decisions.hashStruct");
        assertEq(encoded.length, expected.length);
        for (uint256 i; i < encoded.length; ++i) {
            assertEq(RoutingHash.hashStruct(_decision(encoded[i])), expected[i]);
        }
    }

    function test_digest_matchesRustVectors_succeeds() public view {
        bytes[] memory encoded = vm.parseJsonBytesArray(json, ".decisions.abi");
        bytes32[] memory expected = vm.parseJsonBytes32Array(json, ".decisions.digest");
        bytes32 separator = vm.parseJsonBytes32(json, ".domainSeparator");
        assertEq(encoded.length, expected.length);
        for (uint256 i; i < encoded.length; ++i) {
            assertEq(RoutingHash.digest(separator, _decision(encoded[i])), expected[i]);
        }
    }

    function test_domainSeparator_computedByHand_succeeds() public view {
        uint256 chainId = vm.parseJsonUint(json, ".chainId");
        address verifyingContract = vm.parseJsonAddress(json, ".verifyingContract");
        assertEq(chainId, 901);
        assertEq(verifyingContract, address(0xc0ffe));
        bytes32 separator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(RoutingHash.DOMAIN_NAME)),
                keccak256(bytes(RoutingHash.DOMAIN_VERSION)),
                chainId,
                verifyingContract
            )
        );
        assertEq(separator, vm.parseJsonBytes32(json, ".domainSeparator"));
        assertEq(
            separator,
            keccak256(
                abi.encode(
                    keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                    keccak256("RoutingSettlement"),
                    keccak256("1"),
                    uint256(901),
                    address(0x00000000000000000000000000000000000c0ffe)
                )
            )
        );
    }

    function test_typehashes_matchTypeStrings_succeeds() public pure {
        assertEq(
            RoutingHash.ATTEMPT_TYPEHASH,
            keccak256("Attempt(address provider,uint8 tier,uint8 outcome,uint32 latencyMs)")
        );
        assertEq(
            RoutingHash.DECISION_TYPEHASH,
            keccak256(
                "RoutingDecision(bytes32 requestId,uint32 modelClass,uint64 submitMs,uint64 deadlineMs,uint8 retryBudget,Attempt[] attempts,address finalProvider,uint8 finalTier,uint8 retryCount,uint8 trigger,uint8 resolution,uint64 registryEpoch,uint32 budgetTokens,address router)Attempt(address provider,uint8 tier,uint8 outcome,uint32 latencyMs)"
            )
        );
    }

    function test_providerLeaf_matchesRustVectors_succeeds() public view {
        bytes[] memory encoded = vm.parseJsonBytesArray(json, ".providers.abi");
        bytes32[] memory expected = vm.parseJsonBytes32Array(json, ".providers.leaf");
        assertEq(encoded.length, expected.length);
        for (uint256 i; i < encoded.length; ++i) {
            ProviderEntry memory p = abi.decode(encoded[i], (ProviderEntry));
            assertEq(abi.encode(p), encoded[i]);
            assertEq(RoutingHash.providerLeaf(p), expected[i]);
        }
    }

    function test_routerLeaf_matchesRustVectors_succeeds() public view {
        bytes[] memory encoded = vm.parseJsonBytesArray(json, ".routers.abi");
        bytes32[] memory expected = vm.parseJsonBytes32Array(json, ".routers.leaf");
        assertEq(encoded.length, expected.length);
        for (uint256 i; i < encoded.length; ++i) {
            RouterBudget memory b = abi.decode(encoded[i], (RouterBudget));
            assertEq(abi.encode(b), encoded[i]);
            assertEq(RoutingHash.routerLeaf(b), expected[i]);
        }
    }

    function test_paramsLeaf_matchesRustVectors_succeeds() public view {
        bytes[] memory encoded = vm.parseJsonBytesArray(json, ".params.abi");
        bytes32[] memory expected = vm.parseJsonBytes32Array(json, ".params.leaf");
        assertEq(encoded.length, expected.length);
        for (uint256 i; i < encoded.length; ++i) {
            RegistryParams memory p = abi.decode(encoded[i], (RegistryParams));
            assertEq(abi.encode(p), encoded[i]);
            assertEq(RoutingHash.paramsLeaf(p), expected[i]);
        }
    }

    function test_headerHash_matchesRustVectors_succeeds() public view {
        bytes[] memory encoded = vm.parseJsonBytesArray(json, ".headers.abi");
        bytes32[] memory expected = vm.parseJsonBytes32Array(json, ".headers.hash");
        assertEq(encoded.length, expected.length);
        for (uint256 i; i < encoded.length; ++i) {
            BatchHeader memory h = abi.decode(encoded[i], (BatchHeader));
            assertEq(abi.encode(h), encoded[i]);
            assertEq(RoutingHash.headerHash(h), expected[i]);
        }
    }

    function test_hrwScore_matchesRustVectors_succeeds() public view {
        bytes32[] memory ids = vm.parseJsonBytes32Array(json, ".hrw.requestId");
        address[] memory providers = vm.parseJsonAddressArray(json, ".hrw.provider");
        uint256[] memory ppms = vm.parseJsonUintArray(json, ".hrw.reliabilityPpm");
        uint256[] memory scores = vm.parseJsonUintArray(json, ".hrw.score");
        assertEq(ids.length, scores.length);
        assertEq(providers.length, scores.length);
        assertEq(ppms.length, scores.length);
        for (uint256 i; i < scores.length; ++i) {
            assertEq(RoutingHash.hrwScore(ids[i], providers[i], uint32(ppms[i])), scores[i]);
        }
    }

    function test_leafAndDigest_gasOfThreeAttempts_succeeds() public {
        RoutingDecision memory d = _threeAttempts();
        bytes32 separator = vm.parseJsonBytes32(json, ".domainSeparator");
        uint256 g = gasleft();
        bytes32 l = RoutingHash.leaf(d);
        uint256 leafGas = g - gasleft();
        g = gasleft();
        bytes32 m = RoutingHash.digest(separator, d);
        uint256 digestGas = g - gasleft();
        assertTrue(l != bytes32(0) && m != bytes32(0) && l != m);
        emit log_named_uint("leaf() gas, 3 attempts", leafGas);
        emit log_named_uint("digest() gas, 3 attempts", digestGas);
    }

    function _threeAttempts() internal pure returns (RoutingDecision memory d) {
        d.requestId = keccak256("request");
        d.modelClass = 3;
        d.submitMs = 1_000;
        d.deadlineMs = 31_000;
        d.retryBudget = 2;
        d.attempts = new Attempt[](3);
        d.attempts[0] = Attempt(address(0xA1), 0, 1, 5_000);
        d.attempts[1] = Attempt(address(0xA2), 0, 2, 700);
        d.attempts[2] = Attempt(address(0xA3), 1, 0, 1_200);
        d.finalProvider = address(0xA3);
        d.finalTier = 1;
        d.retryCount = 2;
        d.registryEpoch = 7;
        d.budgetTokens = 9_000;
        d.router = address(0xB0);
    }
}
