/**
 * The Merkle tree of a transparency log, exactly as RFC 9162 §2.1 defines it (the same tree as RFC
 * 6962 and C2SP tlog-checkpoint / tlog-tiles):
 *
 * - leaf hash `SHA-256(0x00 ‖ leaf)`, interior node `SHA-256(0x01 ‖ left ‖ right)` (§2.1.1);
 * - `MTH(D[n])` splits at `k`, the largest power of two smaller than `n`;
 * - inclusion proofs (§2.1.3.1 generation, §2.1.3.2 verification) and consistency proofs (§2.1.4.1
 *   generation, §2.1.4.2 verification).
 *
 * Proofs are generated from stored *perfect subtrees*: node `(level, index)` is the root of the
 * subtree over leaves `[index·2^level, (index+1)·2^level)`, which never changes once its last leaf is
 * in the log. A log stores those nodes as it grows; {@link inclusionPlan} / {@link consistencyPlan}
 * say which nodes a proof needs (O(log n) proof hashes, each the fold of at most O(log n) stored
 * nodes), so a server can fetch them all in one query and {@link resolvePlan} them.
 *
 * Pure and synchronous (a built-in SHA-256), no I/O.
 */
import { sha256 } from './sha256.ts'

/** A hash: 32 bytes. */
export type Hash = Uint8Array

/** A perfect subtree: `level` 0 is a leaf hash; `index` counts subtrees of that level from the left. */
export interface NodeId {
  /** Height: 0 for a leaf hash, 1 for the hash of two leaves, … */
  level: number
  /** Position among the subtrees of this level, from the left (0-based). */
  index: number
}

/**
 * How to build a proof from stored perfect subtrees: one entry per proof hash, each the list of
 * perfect subtrees (left to right) whose Merkle tree hash it is — a single node when the subtree is
 * perfect, several along the right edge of a tree whose size is not a power of two.
 */
export type ProofPlan = NodeId[][]

/** Look a stored perfect-subtree hash up. Must return the hash (throw if it is not stored). */
export type NodeSource = (level: number, index: number) => Hash

const LEAF_PREFIX = Uint8Array.of(0x00)

/** RFC 9162 §2.1.1: `SHA-256(0x00 ‖ leaf)`. @example `leafHash(new TextEncoder().encode(json))` */
export function leafHash(leaf: Uint8Array): Hash {
  const input = new Uint8Array(leaf.length + 1)
  input.set(LEAF_PREFIX)
  input.set(leaf, 1)
  return sha256(input)
}

/** RFC 9162 §2.1.1: `SHA-256(0x01 ‖ left ‖ right)`. @example `nodeHash(a, b)` */
export function nodeHash(left: Hash, right: Hash): Hash {
  const input = new Uint8Array(65)
  input[0] = 0x01
  input.set(left, 1)
  input.set(right, 33)
  return sha256(input)
}

/** The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Hash = sha256(new Uint8Array(0))

/** The largest power of two strictly smaller than `n` (n ≥ 2): RFC 9162's split point `k`. */
export function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/**
 * `MTH(D[n])` over leaf hashes (RFC 9162 §2.1.1), computed bottom-up in O(n).
 *
 * @example
 * ```ts
 * const root = rootHash(leaves.map(leafHash))
 * ```
 */
export function rootHash(leafHashes: readonly Hash[]): Hash {
  if (leafHashes.length === 0) return EMPTY_ROOT
  let level: Hash[] = [...leafHashes]
  // Pairing adjacent nodes and carrying an odd last node up gives exactly the split-at-k tree.
  while (level.length > 1) {
    const next: Hash[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!))
    if (level.length % 2 === 1) next.push(level.at(-1)!)
    level = next
  }
  return level[0]!
}

/** The perfect subtrees covering leaves `[start, end)`, left to right, largest first. */
export function rangeNodes(start: number, end: number): NodeId[] {
  const nodes: NodeId[] = []
  let at = start
  while (at < end) {
    // The largest aligned power of two starting at `at` that fits.
    let size = 1
    while (at % (size * 2) === 0 && at + size * 2 <= end) size *= 2
    nodes.push({ level: Math.log2(size), index: at / size })
    at += size
  }
  return nodes
}

/** The stored nodes `MTH(D[0:size])` folds (see {@link rangeNodes}). */
export function rootPlan(size: number): NodeId[] {
  return rangeNodes(0, size)
}

/**
 * Which perfect subtrees the inclusion proof of leaf `index` in a tree of `size` needs: RFC 9162
 * §2.1.3.1 `PATH(m, D[n])`, the proof hashes ordered from the leaf up.
 */
export function inclusionPlan(index: number, size: number): ProofPlan {
  assertIndex(index, size)
  const plan: ProofPlan = []
  const path = (m: number, start: number, end: number) => {
    const n = end - start
    if (n === 1) return
    const k = splitPoint(n)
    if (m < k) {
      path(m, start, start + k)
      plan.push(rangeNodes(start + k, end))
    } else {
      path(m - k, start + k, end)
      plan.push(rangeNodes(start, start + k))
    }
  }
  path(index, 0, size)
  return plan
}

/**
 * Which perfect subtrees the consistency proof between tree sizes `first` and `second` needs:
 * RFC 9162 §2.1.4.1 `PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`. Empty when `first === second`.
 */
export function consistencyPlan(first: number, second: number): ProofPlan {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 1 || first > second) {
    throw new RangeError(`no consistency proof from size ${first} to size ${second}`)
  }
  const plan: ProofPlan = []
  const subproof = (m: number, start: number, end: number, complete: boolean) => {
    const n = end - start
    if (m === n) {
      if (!complete) plan.push(rangeNodes(start, end))
      return
    }
    const k = splitPoint(n)
    if (m <= k) {
      subproof(m, start, start + k, complete)
      plan.push(rangeNodes(start + k, end))
    } else {
      subproof(m - k, start + k, end, false)
      plan.push(rangeNodes(start, start + k))
    }
  }
  subproof(first, 0, second, true)
  return plan
}

/** Every node a plan mentions, deduplicated (for one batched lookup). */
export function planNodes(plan: ProofPlan | NodeId[]): NodeId[] {
  const seen = new Map<string, NodeId>()
  for (const node of plan.flat()) seen.set(`${node.level}/${node.index}`, node)
  return [...seen.values()]
}

/** The Merkle tree hash of consecutive perfect subtrees (RFC 9162 split order: fold from the right). */
export function foldNodes(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT
  let acc = hashes.at(-1)!
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc)
  return acc
}

/** Turn a plan into proof hashes, looking every node up in `source`. */
export function resolvePlan(plan: ProofPlan, source: NodeSource): Hash[] {
  return plan.map((nodes) => foldNodes(nodes.map((n) => source(n.level, n.index))))
}

/** Inclusion proof of leaf `index` in the tree of `size` (RFC 9162 §2.1.3.1). */
export function inclusionProof(index: number, size: number, source: NodeSource): Hash[] {
  return resolvePlan(inclusionPlan(index, size), source)
}

/** Consistency proof from `first` to `second` (RFC 9162 §2.1.4.1). */
export function consistencyProof(first: number, second: number, source: NodeSource): Hash[] {
  return resolvePlan(consistencyPlan(first, second), source)
}

/** The root of the tree of `size` from stored nodes. */
export function rootFromNodes(size: number, source: NodeSource): Hash {
  return foldNodes(rootPlan(size).map((n) => source(n.level, n.index)))
}

/**
 * The perfect subtrees that become complete when leaves `[from, to)` are appended: what a log stores
 * as it integrates a batch. `hashOf(level, index)` must return nodes already stored or computed here.
 * Returns `(level, index, hash)` triples, level 0 (the leaf hashes themselves) included.
 */
export function newNodes(
  from: number,
  leafHashes: readonly Hash[],
  stored: NodeSource,
): (NodeId & {
  /** The subtree's hash. */
  hash: Hash
})[] {
  const out: { level: number; index: number; hash: Hash }[] = []
  const fresh = new Map<string, Hash>()
  const get = (level: number, index: number) => fresh.get(`${level}/${index}`) ?? stored(level, index)
  leafHashes.forEach((hash, i) => {
    let index = from + i
    let level = 0
    let current = hash
    fresh.set(`0/${index}`, current)
    out.push({ level: 0, index, hash: current })
    // Each time the new node is a right child, its parent becomes complete.
    while (index % 2 === 1) {
      current = nodeHash(get(level, index - 1), current)
      level++
      index = (index - 1) / 2
      fresh.set(`${level}/${index}`, current)
      out.push({ level, index, hash: current })
    }
  })
  return out
}

/** The stored nodes {@link newNodes} reads when appending at `from`: the left siblings on the right edge. */
export function appendPlan(from: number): NodeId[] {
  return rangeNodes(0, from)
}

/**
 * RFC 9162 §2.1.3.2: verify that `leaf` (a leaf hash) is at `index` in the tree of `size` with root
 * `root`, given the inclusion proof. Never throws; `false` for any malformed input.
 *
 * @example
 * ```ts
 * verifyInclusion(leafHash(bytes), 5, 8, proof, root) // true
 * ```
 */
export function verifyInclusion(
  leaf: Hash,
  index: number,
  size: number,
  proof: readonly Hash[],
  root: Hash,
): boolean {
  if (!isSize(index) || !isSize(size) || index >= size || !isHash(leaf) || !isHash(root)) return false
  if (!Array.isArray(proof) || !proof.every(isHash)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && equalHashes(r, root)
}

/**
 * RFC 9162 §2.1.4.2: verify that the tree of `secondSize` with root `secondRoot` extends the tree of
 * `firstSize` with root `firstRoot`. Equal sizes need an empty proof and equal roots. Never throws.
 *
 * @example
 * ```ts
 * verifyConsistency(2, 8, root2, root8, proof) // true
 * ```
 */
export function verifyConsistency(
  firstSize: number,
  secondSize: number,
  firstRoot: Hash,
  secondRoot: Hash,
  proof: readonly Hash[],
): boolean {
  if (!isSize(firstSize) || !isSize(secondSize) || firstSize < 1 || firstSize > secondSize) return false
  if (!isHash(firstRoot) || !isHash(secondRoot) || !Array.isArray(proof) || !proof.every(isHash)) return false
  if (firstSize === secondSize) return proof.length === 0 && equalHashes(firstRoot, secondRoot)
  // 1. An empty proof for different sizes fails.
  if (proof.length === 0) return false
  // 2. If first is an exact power of 2, prepend first_hash.
  const path = isPowerOfTwo(firstSize) ? [firstRoot, ...proof] : [...proof]
  // 3.
  let fn = firstSize - 1
  let sn = secondSize - 1
  // 4.
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  // 5.
  let fr = path[0]!
  let sr = path[0]!
  // 6.
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  // 7.
  return equalHashes(fr, firstRoot) && equalHashes(sr, secondRoot) && sn === 0
}

/** Constant-time-ish comparison of two hashes (they are public; this is just equality). */
export function equalHashes(a: Hash, b: Hash): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

const isSize = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
const isHash = (h: unknown): h is Hash => h instanceof Uint8Array && h.length === 32
const isPowerOfTwo = (n: number) => n > 0 && Number.isInteger(Math.log2(n))

function assertIndex(index: number, size: number) {
  if (!isSize(index) || !isSize(size) || index >= size) {
    throw new RangeError(`leaf ${index} is not in a tree of size ${size}`)
  }
}
