import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  consistencyProof,
  EMPTY_ROOT,
  type Hash,
  inclusionProof,
  leafHash,
  newNodes,
  nodeHash,
  rootFromNodes,
  rootHash,
  sha256,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.ts'

const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'))
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

// RFC 6962 reference vectors (certificate-transparency / transparency-dev merkle test data).
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex)
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]
const INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
]
const CONSISTENCY = [
  {
    first: 2,
    second: 8,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    first: 6,
    second: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    first: 2,
    second: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
]

/** A log's stored nodes, built the way the sequencer builds them: batch by batch. */
function storedTree(leaves: Hash[], batches: number[]) {
  const nodes = new Map<string, Hash>()
  const source = (level: number, index: number) => {
    const hash = nodes.get(`${level}/${index}`)
    if (!hash) throw new Error(`node ${level}/${index} is not stored`)
    return hash
  }
  let at = 0
  for (let b = 0; at < leaves.length; b++) {
    const count = Math.min(batches[b % batches.length]!, leaves.length - at)
    for (const n of newNodes(at, leaves.slice(at, at + count), source))
      nodes.set(`${n.level}/${n.index}`, n.hash)
    at += count
  }
  return source
}

// Naive RFC 9162 §2.1 definitions, straight from the text, over leaf hash arrays.
const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1)
const mth = (d: Hash[]): Hash =>
  d.length === 1 ? d[0]! : nodeHash(mth(d.slice(0, k(d.length))), mth(d.slice(k(d.length))))
const path = (m: number, d: Hash[]): Hash[] => {
  if (d.length === 1) return []
  const s = k(d.length)
  return m < s
    ? [...path(m, d.slice(0, s)), mth(d.slice(s))]
    : [...path(m - s, d.slice(s)), mth(d.slice(0, s))]
}
const subproof = (m: number, d: Hash[], b: boolean): Hash[] => {
  const n = d.length
  if (m === n) return b ? [] : [mth(d)]
  const s = k(n)
  return m <= s
    ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))]
    : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))]
}

describe('sha256', () => {
  it('agrees with node:crypto on every length around the block boundaries', () => {
    for (let n = 0; n < 200; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)
      expect(hex(sha256(bytes))).toBe(createHash('sha256').update(bytes).digest('hex'))
    }
  })
})

describe('merkle tree (RFC 9162 §2.1)', () => {
  const hashes = LEAVES.map(leafHash)
  const source = storedTree(hashes, [3])

  it('matches the RFC 6962 reference roots, from leaves and from stored nodes', () => {
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    for (let n = 1; n <= 8; n++) {
      expect(hex(rootHash(hashes.slice(0, n)))).toBe(ROOTS[n - 1])
      expect(hex(rootFromNodes(n, source))).toBe(ROOTS[n - 1])
    }
  })

  it('produces and accepts the reference inclusion proofs', () => {
    for (const v of INCLUSION) {
      expect(inclusionProof(v.index, v.size, source).map(hex)).toEqual(v.proof)
      expect(
        verifyInclusion(hashes[v.index]!, v.index, v.size, v.proof.map(unhex), unhex(ROOTS[v.size - 1]!)),
      ).toBe(true)
    }
  })

  it('produces and accepts the reference consistency proofs', () => {
    for (const v of CONSISTENCY) {
      expect(consistencyProof(v.first, v.second, source).map(hex)).toEqual(v.proof)
      const [r1, r2] = [unhex(ROOTS[v.first - 1]!), unhex(ROOTS[v.second - 1]!)]
      expect(verifyConsistency(v.first, v.second, r1, r2, v.proof.map(unhex))).toBe(true)
      expect(verifyConsistency(v.first, v.second, r2, r1, v.proof.map(unhex))).toBe(false)
    }
    expect(consistencyProof(8, 8, source)).toEqual([])
    expect(verifyConsistency(8, 8, unhex(ROOTS[7]!), unhex(ROOTS[7]!), [])).toBe(true)
    expect(verifyConsistency(8, 8, unhex(ROOTS[7]!), unhex(ROOTS[6]!), [])).toBe(false)
  })

  it('every (index, size) and every (m, n) up to 64 matches the naive RFC definitions and verifies; tampering fails', () => {
    const leaves = Array.from({ length: 64 }, (_, i) => leafHash(Uint8Array.of(i, i >> 3, 7)))
    const stored = storedTree(leaves, [1, 5, 2, 13, 7])
    const roots = [EMPTY_ROOT, ...leaves.map((_, i) => mth(leaves.slice(0, i + 1)))]
    for (let n = 1; n <= 64; n++) {
      expect(hex(rootFromNodes(n, stored))).toBe(hex(roots[n]!))
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(i, n, stored)
        expect(proof.map(hex)).toEqual(path(i, leaves.slice(0, n)).map(hex))
        expect(verifyInclusion(leaves[i]!, i, n, proof, roots[n]!)).toBe(true)
        if (n > 1) {
          expect(verifyInclusion(leaves[i]!, (i + 1) % n, n, proof, roots[n]!)).toBe(false)
          expect(verifyInclusion(leaves[(i + 1) % n]!, i, n, proof, roots[n]!)).toBe(false)
          const bad = proof.map((h) => h.slice())
          bad[0]![0]! ^= 1
          expect(verifyInclusion(leaves[i]!, i, n, bad, roots[n]!)).toBe(false)
          expect(verifyInclusion(leaves[i]!, i, n, proof.slice(0, -1), roots[n]!)).toBe(false)
          expect(verifyInclusion(leaves[i]!, i, n, [...proof, leaves[0]!], roots[n]!)).toBe(false)
        }
        // Against another tree's root (the size alone is not bound for left leaves: RFC 9162 checks
        // the root of the claimed size, which the signed checkpoint pins).
        if (n > 1) expect(verifyInclusion(leaves[i]!, i, n, proof, roots[n - 1]!)).toBe(false)
      }
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(m, n, stored)
        expect(proof.map(hex)).toEqual(subproof(m, leaves.slice(0, n), true).map(hex))
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, proof)).toBe(true)
        if (m < n) {
          expect(verifyConsistency(m, n, roots[m]!, roots[n - 1]!, proof)).toBe(false)
          expect(verifyConsistency(m, n, roots[n]!, roots[n]!, proof)).toBe(false)
          const bad = proof.map((h) => h.slice())
          bad.at(-1)![5]! ^= 0x40
          expect(verifyConsistency(m, n, roots[m]!, roots[n]!, bad)).toBe(false)
          expect(verifyConsistency(m, n, roots[m]!, roots[n]!, [])).toBe(false)
        }
      }
    }
  })

  it('refuses impossible requests instead of producing nonsense', () => {
    expect(() => inclusionProof(8, 8, source)).toThrow(RangeError)
    expect(() => consistencyProof(0, 8, source)).toThrow(RangeError)
    expect(() => consistencyProof(5, 4, source)).toThrow(RangeError)
    expect(verifyInclusion(hashes[0]!, -1, 8, [], unhex(ROOTS[7]!))).toBe(false)
    expect(verifyInclusion(hashes[0]!, 0, 0, [], EMPTY_ROOT)).toBe(false)
    expect(verifyConsistency(0, 8, EMPTY_ROOT, unhex(ROOTS[7]!), [])).toBe(false)
    expect(verifyConsistency(1.5, 8, unhex(ROOTS[0]!), unhex(ROOTS[7]!), [])).toBe(false)
  })
})
