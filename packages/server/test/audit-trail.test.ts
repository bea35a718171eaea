import {
  auditLeafHash,
  type Json,
  parseCheckpoint,
  parseNote,
  rootHash,
  verifyAuditExport,
  verifyCheckpointNote,
  verifyConsistency,
  verifyInclusion,
} from '@consentry/core'
import { describe, expect, it } from 'vitest'
import { looksSecret } from '../src/audit/data.ts'
import { type AuditLogKey, loadAuditLogKey } from '../src/audit/log-key.ts'
import { createAuditTrail } from '../src/audit/trail.ts'
import { memoryStore } from '../src/store/memory.ts'
import type { Store } from '../src/store/store.ts'

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0)
async function setup(store: Store = memoryStore(), logKey?: AuditLogKey) {
  let clock = T0
  const key = logKey ?? (await loadAuditLogKey(store, 'harbor.example/audit'))
  const trail = createAuditTrail({ store, logKey: key, now: () => clock })
  const tick = (ms: number) => {
    clock += ms
  }
  return { store, trail, tick, key }
}
const read = (n: number) => ({
  type: 'data.read' as const,
  actor: { type: 'client' as const, id: 'lender' },
  grantId: 'g_1',
  clientId: 'lender',
  subject: 'alice',
  data: { transactions: n, accounts: ['acc_1'], period: { from: '2025-01-01', to: '2025-03-31' } },
})
const collect = async (lines: AsyncIterable<string>) => {
  const out: string[] = []
  for await (const line of lines) out.push(line)
  return out
}

describe('record', () => {
  it('builds the event from the input; it is pending until integrated', async () => {
    const { trail } = await setup()
    const event = await trail.record(read(3))
    expect(event).toMatchObject({
      seq: 1,
      at: new Date(T0).toISOString(),
      type: 'data.read',
      actor: { type: 'client', id: 'lender' },
      grant_id: 'g_1',
      client_id: 'lender',
      subject: 'alice',
      data: read(3).data,
    })
    expect(event.id).toMatch(/^evt_[A-Za-z0-9_-]{22}$/)
    expect(event).not.toHaveProperty('index')
    expect(event).not.toHaveProperty('prev_hash')
    await trail.flush()
    expect((await trail.list())[0]).toEqual({ ...event, index: 0 })
  })

  it('refuses secret-looking keys at any depth, and records nothing', async () => {
    const { trail } = await setup()
    const secretData: { [key: string]: Json }[] = [
      { token: 'x' },
      { Access_Token: 'x' },
      { refreshToken: 'x' },
      { password: 'x' },
      { client_secret: 'x' },
      { CODE: 'x' },
      { client_assertion: 'x' },
      { nested: { deep: [{ jwt: 'x' }] } },
      { 'api-key': 'x' },
    ]
    for (const data of secretData) {
      await expect(trail.record({ ...read(1), data })).rejects.toThrow(TypeError)
    }
    await expect(trail.record({ ...read(1), data: { nested: { deep: [{ jwt: 'x' }] } } })).rejects.toThrow(
      'data.nested.deep[0].jwt looks like a secret',
    )
    expect(await trail.list()).toEqual([])
    // Harmless names that merely contain a secret word are fine.
    await trail.record({
      ...read(1),
      data: { token_type: 'DPoP', error_code: 'invalid_grant', token_count: 2 },
    })
    expect(await trail.list()).toHaveLength(1)
    expect(['token_hash', 'tokenType', 'currency_code'].some(looksSecret)).toBe(false)
  })

  it('refuses values that would not survive the export, and invalid types or actors', async () => {
    const { trail } = await setup()
    await expect(trail.record({ ...read(1), data: { when: new Date() as never } })).rejects.toThrow(TypeError)
    await expect(trail.record({ ...read(1), data: { n: Number.NaN } })).rejects.toThrow(TypeError)
    await expect(trail.record({ ...read(1), type: 'Not A Type' as never })).rejects.toThrow(TypeError)
    await expect(trail.record({ ...read(1), actor: { type: 'robot' } as never })).rejects.toThrow(TypeError)
    expect(await trail.list()).toEqual([])
  })

  it('100 concurrent records become 100 leaves, each once', async () => {
    const { trail } = await setup()
    await Promise.all(Array.from({ length: 100 }, (_, i) => trail.record(read(i))))
    const checkpoint = await trail.flush()
    const events = await trail.list()
    expect(checkpoint!.size).toBe(100)
    expect(events.map((e) => e.index).sort((a, b) => a! - b!)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    )
    expect(checkpoint!.root).toEqual(rootHash(events.map((e) => auditLeafHash(e))))
  })
})

describe('sequencer and checkpoints', () => {
  it('signs a C2SP checkpoint over each new tree head, verifiable with the published key', async () => {
    const { trail, key } = await setup()
    expect(trail.verifierKey).toBe(key.verifierKey)
    expect(trail.origin).toBe('harbor.example/audit')
    for (let i = 0; i < 5; i++) await trail.record(read(i))
    const cp = await trail.flush()
    const check = await verifyCheckpointNote(cp!.note, trail.verifierKey)
    expect(check.ok && check.checkpoint.size).toBe(5)
    expect(parseCheckpoint(parseNote(cp!.note)!.text)).toEqual({
      origin: trail.origin,
      size: 5,
      root: cp!.root,
    })
    expect(await trail.integrate()).toBeNull() // nothing new: no new checkpoint
  })

  it('proves inclusion and consistency between every pair of checkpoints it signed', async () => {
    const { trail } = await setup()
    const checkpoints = []
    for (let batch = 0; batch < 6; batch++) {
      for (let i = 0; i <= batch; i++) await trail.record(read(i))
      checkpoints.push((await trail.flush())!)
    }
    const events = await trail.list()
    const last = checkpoints.at(-1)!
    const proofs = await trail.inclusionProofs(
      events.map((e) => e.index!),
      last.size,
    )
    events.forEach((e, i) => {
      expect(verifyInclusion(auditLeafHash(e), e.index!, last.size, proofs[i]!, last.root)).toBe(true)
    })
    for (const a of checkpoints)
      for (const b of checkpoints) {
        if (a.size > b.size) continue
        expect(
          verifyConsistency(a.size, b.size, a.root, b.root, await trail.consistencyProof(a.size, b.size)),
        ).toBe(true)
      }
  })

  it('startSequencer integrates on a timer until stopped', async () => {
    const { trail } = await setup()
    const stop = trail.startSequencer(10)
    await trail.record(read(1))
    await expect.poll(async () => (await trail.list())[0]?.index, { timeout: 5000, interval: 10 }).toBe(0)
    stop()
  })

  it('a store-kept log key is generated once and shared; a configured one must be Ed25519', async () => {
    const store = memoryStore()
    const a = await loadAuditLogKey(store, 'x.example/audit')
    const b = await loadAuditLogKey(store, 'x.example/audit')
    expect(a.verifierKey).toBe(b.verifierKey)
    await expect(
      loadAuditLogKey(store, 'x', { kty: 'EC', crv: 'P-256', d: 'x', x: 'x', y: 'y' } as never),
    ).rejects.toThrow(/Ed25519/)
  })
})

describe('export and verify', () => {
  it('exports header, checkpoint and every entry with its proof; verifies; tampering is located', async () => {
    const { trail, tick } = await setup()
    for (let i = 0; i < 9; i++) {
      await trail.record(read(i))
      tick(1000)
    }
    const lines = await collect(trail.export())
    expect(JSON.parse(lines[0]!)).toEqual({
      consentry_audit_export: 2,
      origin: trail.origin,
      verifier_key: trail.verifierKey,
    })
    expect(JSON.parse(lines[1]!)).toHaveProperty('checkpoint')
    expect(lines).toHaveLength(2 + 9)
    expect((await trail.verify()).ok).toBe(true)
    const swapped = [...lines]
    ;[swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!]
    const report = await verifyAuditExport(swapped, { verifierKey: trail.verifierKey })
    expect(report.ok).toBe(false)
    expect(report.problems.map((p) => p.code)).toContain('reordered_events')
    const other = await setup()
    const foreign = await verifyAuditExport(lines, { verifierKey: other.trail.verifierKey })
    expect(foreign.problems.map((p) => p.code)).toEqual(['unknown_key'])
    expect(foreign.ok).toBe(false)
  })
})
