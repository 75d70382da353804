// Generates the OpenZeppelin StandardMerkleTree test vectors in crates/merkle/tests/vectors/.
//
// Regenerate (from the repository root):
//
//   npm ci --prefix scripts/merkle-vectors && node scripts/merkle-vectors/generate.mjs
//
// The output is deterministic: running it twice writes identical files. The generated JSON is
// checked in; the Rust tests (crates/merkle/tests/oz_vectors.rs and
// crates/primitives/tests/oz_leaf_vectors.rs) only read it, so neither node nor npm is needed to
// run `cargo test`.
//
// Files written:
// - uint256_address_n{N}.json for N in NS: values `[uint256 i, address(i)]` with leaf encoding
//   ['uint256', 'address'], where address(i) = ((i + 1) * ADDRESS_MULTIPLIER) mod 2^160. The leaf
//   hashes (original value order, identical for both layouts) are stored once (`leaves`, or for
//   N > 7 `leavesConcat`, all 32-byte hashes concatenated into one hex string); `sorted` and
//   `unsorted` hold the root, single proofs and multiproofs of the trees built with
//   `sortLeaves: true` and `sortLeaves: false`.
// - decision_leaves.json: 7 routing decisions as the Solidity `RoutingDecision` struct, tree built
//   with `sortLeaves: false` (batch order).

import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import pkg from '@openzeppelin/merkle-tree';

const { StandardMerkleTree } = pkg;

const OUT_DIR = new URL('../../crates/merkle/tests/vectors/', import.meta.url);
const NS = [1, 2, 3, 7, 1200, 5000];
const TYPES = ['uint256', 'address'];
const ADDRESS_MULTIPLIER = 0x9e3779b97f4a7c15f39cc0605cedc8341082276bn;
const MASK_160 = (1n << 160n) - 1n;

const ozVersion = JSON.parse(
  readFileSync(new URL('./node_modules/@openzeppelin/merkle-tree/package.json', import.meta.url)),
).version;

function hex(value, bytes) {
  return '0x' + value.toString(16).padStart(bytes * 2, '0');
}

function addressOf(i) {
  return hex((BigInt(i + 1) * ADDRESS_MULTIPLIER) & MASK_160, 20);
}

/** Indices whose single proofs are stored: all of them for small trees, ~20 otherwise. */
function proofSample(n) {
  if (n <= 7) return [...Array(n).keys()];
  const set = new Set([0, n - 1, 1, n - 2, Math.floor(n / 2)]);
  for (let k = 0; set.size < 20; k++) set.add((k * 7919 + 13) % n);
  return [...set].sort((a, b) => a - b);
}

/** Indices of the multiproof, deliberately not sorted. */
function multiSample(n) {
  if (n === 1) return [0];
  if (n === 2) return [1, 0];
  if (n === 3) return [2, 0, 1];
  if (n === 7) return [1, 6, 3, 4];
  return [n - 1, 7, Math.floor(n / 2), 3, Math.floor(n / 3)];
}

function multiProofOf(tree, indices) {
  const mp = tree.getMultiProof([...indices]);
  if (!tree.verifyMultiProof(mp)) throw new Error('multiproof does not verify');
  return {
    indices,
    // getMultiProof returns the values; store their leaf hashes, in the returned (tree) order.
    leaves: mp.leaves.map(v => tree.leafHash(v)),
    proof: mp.proof,
    proofFlags: mp.proofFlags,
  };
}

function layout(tree, n) {
  const proofs = proofSample(n).map(index => {
    const proof = tree.getProof(index);
    if (!tree.verify(index, proof)) throw new Error('proof does not verify');
    return { index, proof };
  });
  return {
    root: tree.root,
    proofs,
    multiProofs: [multiProofOf(tree, multiSample(n)), multiProofOf(tree, [])],
  };
}

function writeJson(name, data) {
  // BigInts are written as plain JSON numbers (u64 fields may exceed 2^53).
  const text = JSON.stringify(data, (_, v) => (typeof v === 'bigint' ? `__big__${v}` : v), 2)
    .replace(/"__big__(\d+)"/g, '$1');
  writeFileSync(new URL(name, OUT_DIR), text + '\n');
}

mkdirSync(OUT_DIR, { recursive: true });

for (const n of NS) {
  const values = [...Array(n).keys()].map(i => [i.toString(), addressOf(i)]);
  const sorted = StandardMerkleTree.of(values, TYPES, { sortLeaves: true });
  const unsorted = StandardMerkleTree.of(values, TYPES, { sortLeaves: false });
  const leaves = values.map(v => sorted.leafHash(v));
  values.forEach((v, i) => {
    if (unsorted.leafHash(v) !== leaves[i]) throw new Error('leaf hash depends on layout');
  });
  writeJson(`uint256_address_n${n}.json`, {
    generator: `@openzeppelin/merkle-tree@${ozVersion} StandardMerkleTree`,
    leafEncoding: TYPES,
    valueRule: 'value i = [i, address((i + 1) * 0x9e3779b97f4a7c15f39cc0605cedc8341082276b mod 2^160)]',
    n,
    ...(n <= 7 ? { values } : {}),
    // Large trees store the leaf hashes as one concatenated hex string to keep the files small.
    ...(n <= 7 ? { leaves } : { leavesConcat: '0x' + leaves.map(l => l.slice(2)).join('') }),
    sorted: layout(sorted, n),
    unsorted: layout(unsorted, n),
  });
}

// ---- routing decisions -------------------------------------------------------------------------

// `abi.encode(RoutingDecision)`: one dynamic tuple (it holds the `Attempt[]` array). The ABI name of
// the type is `tuple(bytes32,...,tuple(address,uint8,uint8,uint32)[],...)`, but the encoder used by
// @openzeppelin/merkle-tree (@metamask/abi-utils) only parses the bare parenthesised form and
// rejects the `tuple` keyword, so the leaf encoding is written without it.
const DECISION_TYPE_ABI =
  'tuple(bytes32,uint32,uint64,uint64,uint8,tuple(address,uint8,uint8,uint32)[],address,uint8,uint8,uint8,uint8,uint64,uint32,address)';
const DECISION_TYPE = DECISION_TYPE_ABI.replaceAll('tuple(', '(');
const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffff;
const ZERO_ADDRESS = hex(0n, 20);

// splitmix64: a small deterministic generator.
let seed = 0x5eed_2024_0bad_cafen;
function next() {
  seed = (seed + 0x9e3779b97f4a7c15n) & U64_MAX;
  let z = seed;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & U64_MAX;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & U64_MAX;
  return z ^ (z >> 31n);
}
const below = k => Number(next() % BigInt(k));
const randomBytes = bytes => {
  let v = 0n;
  for (let i = 0; i < bytes; i += 8) v = (v << 64n) | next();
  return hex(v & ((1n << BigInt(8 * bytes)) - 1n), bytes);
};

const ATTEMPT_COUNTS = [0, 1, 2, 3, 4, 2, 1];
const decisions = ATTEMPT_COUNTS.map((count, k) => {
  const submitMs = k === 4 ? U64_MAX - 100_000n : next() % 10_000_000_000n;
  const attempts = [...Array(count).keys()].map(j => ({
    provider: randomBytes(20),
    tier: k === 4 && j === count - 1 ? 255 : below(4),
    // the last attempt of even decisions succeeds; everything else cycles through the classes
    outcome: j === count - 1 && k % 2 === 0 ? 0 : (k + j) % 6,
    latencyMs: k === 4 && j === 0 ? U32_MAX : below(30_000),
  }));
  const last = attempts[attempts.length - 1];
  return {
    requestId: k === 0 ? hex(0n, 32) : randomBytes(32),
    modelClass: k === 3 ? U32_MAX : below(16),
    submitMs,
    deadlineMs: k === 4 ? U64_MAX : submitMs + BigInt(below(60_000)),
    retryBudget: k === 6 ? 255 : below(4),
    attempts,
    finalProvider: last ? last.provider : ZERO_ADDRESS,
    finalTier: last ? last.tier : 0,
    retryCount: Math.max(count - 1, 0),
    trigger: k % 5,
    resolution: k % 4,
    registryEpoch: k === 5 ? U64_MAX : BigInt(k + 1) * 1_000_003n,
    budgetTokens: k === 2 ? U32_MAX : below(100_000),
    router: k === 1 ? ZERO_ADDRESS : randomBytes(20),
  };
});

const decisionValue = d => [
  [
    d.requestId,
    d.modelClass,
    d.submitMs,
    d.deadlineMs,
    d.retryBudget,
    d.attempts.map(a => [a.provider, a.tier, a.outcome, a.latencyMs]),
    d.finalProvider,
    d.finalTier,
    d.retryCount,
    d.trigger,
    d.resolution,
    d.registryEpoch,
    d.budgetTokens,
    d.router,
  ],
];

const decisionTree = StandardMerkleTree.of(decisions.map(decisionValue), [DECISION_TYPE], {
  sortLeaves: false,
});
writeJson('decision_leaves.json', {
  generator: `@openzeppelin/merkle-tree@${ozVersion} StandardMerkleTree`,
  leafEncoding: [DECISION_TYPE],
  abiType: DECISION_TYPE_ABI,
  sortLeaves: false,
  decisions: decisions.map(d => ({ ...d, leafHash: decisionTree.leafHash(decisionValue(d)) })),
  root: decisionTree.root,
  proofs: decisions.map((_, index) => ({ index, proof: decisionTree.getProof(index) })),
  multiProof: multiProofOf(decisionTree, [5, 0, 3]),
});

console.log(`wrote vectors with @openzeppelin/merkle-tree@${ozVersion} to ${OUT_DIR.pathname}`);
