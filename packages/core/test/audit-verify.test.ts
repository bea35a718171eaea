import { describe, expect, it } from 'vitest'
import {
  type AuditLeaf,
  auditLeafBytes,
  auditLeafHash,
  formatCheckpoint,
  formatExportHeader,
  formatVerifierKey,
  inclusionProof,
  newNodes,
  rootHash,
  signNote,
  toBase64,
  verifyAuditBundle,
  verifyAuditExport,
} from '../src/index.ts'

const ORIGIN = 'harbor.example/audit'
const event = (i: number, grant = i % 2 ? 'g_odd' : 'g_even'): AuditLeaf => ({
  id: `evt_${i}`,
  at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
  type: 'data.read',
  actor: { type: 'client', id: 'lender' },
  grant_id: grant,
  client_id: 'lender',
  data: { records: i },
})

/** A log of `n` events signed by a fresh key: its export lines, bundle maker and verifier key. */
async function log(n: number) {
  const { privateKey, publicKey } = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey))
  const verifierKey = formatVerifierKey(ORIGIN, raw)
  const events = Array.from({ length: n }, (_, i) => event(i))
  const leaves = events.map(auditLeafHash)
  const nodes = new Map<string, Uint8Array>()
  for (const x of newNodes(0, leaves, (l, i) => nodes.get(`${l}/${i}`)!))
    nodes.set(`${x.level}/${x.index}`, x.hash)
  const source = (l: number, i: number) => nodes.get(`${l}/${i}`)!
  const note = await signNote(
    formatCheckpoint({ origin: ORIGIN, size: n, root: rootHash(leaves) }),
    ORIGIN,
    privateKey,
    raw,
  )
  const entry = (i: number) => ({
    index: i,
    leaf: toBase64(auditLeafBytes(events[i]!)),
    proof: inclusionProof(i, n, source).map(toBase64),
  })
  const lines = [
    formatExportHeader(ORIGIN, verifierKey),
    JSON.stringify({ checkpoint: note }),
    ...events.map((_, i) => JSON.stringify(entry(i))),
  ]
  return { verifierKey, note, lines, entry, events }
}

describe('verifyAuditExport', () => {
  it('accepts an intact export and returns every event', async () => {
    const { lines, verifierKey, events } = await log(10)
    const report = await verifyAuditExport(lines.join('\n'), { verifierKey })
    expect(report).toMatchObject({ ok: true, events: 10, verifiedThrough: 10, problems: [] })
    expect(report.verified.map(({ index: _i, ...e }) => e)).toEqual(events)
  })

  it('locates each kind of tampering at its index', async () => {
    const { lines, verifierKey, entry } = await log(10)
    const check = async (edited: string[]) =>
      (await verifyAuditExport(edited, { verifierKey })).problems.map((p) => [p.code, p.index])
    // An edited event (its leaf changed, its proof kept).
    const edited = [...lines]
    edited[2 + 4] = JSON.stringify({
      ...entry(4),
      leaf: toBase64(auditLeafBytes({ ...event(4), data: { records: 0 } })),
    })
    expect(await check(edited)).toEqual([['edited_event', 4]])
    // A deleted event.
    expect(await check(lines.filter((_, i) => i !== 2 + 6))).toEqual([['deleted_event', 6]])
    // A duplicated event.
    expect(await check([...lines.slice(0, 5), lines[4]!, ...lines.slice(5)])).toEqual([['inserted_event', 2]])
    // Two events swapped.
    const swapped = [...lines]
    ;[swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!]
    expect(await check(swapped)).toEqual([
      ['deleted_event', 1],
      ['reordered_events', 1],
    ])
    // A cut tail.
    expect(await check(lines.slice(0, -3))).toEqual([['truncated_tail', 7]])
    // A forged checkpoint (the size changed).
    const forged = [...lines]
    const note = JSON.parse(lines[1]!).checkpoint as string
    forged[1] = JSON.stringify({ checkpoint: note.replace('\n10\n', '\n11\n') })
    expect((await check(forged))[0]).toEqual(['forged_checkpoint', undefined])
    // Garbage.
    expect(await check([...lines, 'not json'])).toEqual([['malformed_line', undefined]])
  })

  it('never trusts the key in the file: another key is unknown_key', async () => {
    const a = await log(3)
    const b = await log(3)
    const report = await verifyAuditExport(a.lines, { verifierKey: b.verifierKey })
    expect(report.ok).toBe(false)
    expect(report.problems.map((p) => p.code)).toEqual(['unknown_key'])
  })
})

describe('verifyAuditBundle', () => {
  it("accepts one grant's entries, refuses foreign, reordered and edited ones", async () => {
    const { note, entry, verifierKey } = await log(9)
    const mine = [1, 3, 5, 7].map(entry)
    expect(
      await verifyAuditBundle({ checkpoint: note, entries: mine }, { verifierKey, grantId: 'g_odd' }),
    ).toMatchObject({
      ok: true,
      verifiedThrough: 4,
    })
    const foreign = await verifyAuditBundle(
      { checkpoint: note, entries: [...mine, entry(8)] },
      { verifierKey, grantId: 'g_odd' },
    )
    expect(foreign.problems.map((p) => [p.code, p.index])).toEqual([['foreign_event', 8]])
    const reordered = await verifyAuditBundle(
      { checkpoint: note, entries: [entry(3), entry(1)] },
      { verifierKey },
    )
    expect(reordered.problems.map((p) => p.code)).toEqual(['reordered_events'])
    const bad = { ...entry(5), proof: entry(3).proof }
    const edited = await verifyAuditBundle({ checkpoint: note, entries: [bad] }, { verifierKey })
    expect(edited.problems.map((p) => [p.code, p.index])).toEqual([['edited_event', 5]])
    expect((await verifyAuditBundle('nope', { verifierKey })).ok).toBe(false)
  })
})
