import {
  type AuditEvent,
  checkpointDigest,
  decodeCheckpoint,
  GENESIS_HASH,
  hashEvent,
  type Json,
  verifyAuditExport,
  verifyCheckpoint,
} from '@consentry/core'
import { generateKeyPair } from 'jose'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import type { AuditSigningKey } from '../src/audit/checkpoint.ts'
import { looksSecret } from '../src/audit/data.ts'
import { exportAuditTrail } from '../src/audit/export.ts'
import { createAuditTrail } from '../src/audit/trail.ts'
import { memoryStore } from '../src/store/memory.ts'
import type { Store } from '../src/store/store.ts'

let signingKey: AuditSigningKey
beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  signingKey = { privateKey, publicKey, kid: 'audit-1', alg: 'ES256' }
})

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0)
function setup(store: Store = memoryStore()) {
  let clock = T0
  const trail = createAuditTrail({ store, logId: 'harbor-pay', signingKey, now: () => clock })
  const tick = (ms: number) => {
    clock += ms
  }
  return { store, trail, tick }
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
  it('builds the event from the input and chains it', async () => {
    const { trail, tick } = setup()
    const first = await trail.record(read(3))
    tick(1000)
    const second = await trail.record({ type: 'grant.revoked', actor: { type: 'subject', id: 'alice' } })
    expect(first).toEqual({
      seq: 1,
      id: expect.stringMatching(/^evt_[A-Za-z0-9_-]{22}$/),
      at: '2025-06-01T12:00:00.000Z',
      type: 'data.read',
      actor: { type: 'client', id: 'lender' },
      grant_id: 'g_1',
      client_id: 'lender',
      subject: 'alice',
      data: read(3).data,
      prev_hash: GENESIS_HASH,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    const { hash, ...unsealed } = first
    expect(await hashEvent(unsealed)).toBe(hash)
    expect(second).toMatchObject({ seq: 2, at: '2025-06-01T12:00:01.000Z', prev_hash: first.hash, data: {} })
    expect(second).not.toHaveProperty('grant_id')
    expect(second.id).not.toBe(first.id)
    expect(await trail.list({ afterSeq: 1 })).toEqual([second])
  })

  it('refuses secret-looking keys at any depth, and records nothing', async () => {
    const { trail } = setup()
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
    const { trail } = setup()
    await expect(trail.record({ ...read(1), data: { when: new Date() as never } })).rejects.toThrow(TypeError)
    await expect(trail.record({ ...read(1), data: { n: Number.NaN } })).rejects.toThrow(TypeError)
    await expect(trail.record({ ...read(1), type: 'Not A Type' as never })).rejects.toThrow(TypeError)
    await expect(trail.record({ ...read(1), actor: { type: 'robot' } as never })).rejects.toThrow(TypeError)
    expect(await trail.list()).toEqual([])
  })

  it('keeps a single chain under 100 concurrent records', async () => {
    const { trail } = setup()
    const recorded = await Promise.all(Array.from({ length: 100 }, (_, i) => trail.record(read(i))))
    const events = await trail.list()
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(events.map((e) => e.prev_hash)).toEqual([GENESIS_HASH, ...events.slice(0, -1).map((e) => e.hash)])
    expect(new Set(recorded.map((e) => e.hash)).size).toBe(100)
    await trail.checkpoint()
    expect(await trail.verify()).toMatchObject({ ok: true, events: 100, verifiedThrough: 100, problems: [] })
  })
})

describe('checkpoint', () => {
  it('signs the head, chains to the previous checkpoint, and skips when nothing is new', async () => {
    const { trail, store, tick } = setup()
    expect(await trail.checkpoint()).toBeNull()
    for (let i = 0; i < 3; i++) await trail.record(read(i))
    const first = await trail.checkpoint()
    const events = await trail.list()
    expect(first).toMatchObject({ size: 3, head: events[2]!.hash, createdAt: T0 })
    const jwks = { keys: [await trail.publicJwk()] }
    const check = await verifyCheckpoint(first!.jws, jwks)
    expect(check).toMatchObject({
      ok: true,
      header: { typ: 'consentry-checkpoint+jwt', alg: 'ES256', kid: 'audit-1' },
      payload: { log_id: 'harbor-pay', size: 3, head: events[2]!.hash, time: T0 / 1000, prev: null },
    })
    expect(await trail.checkpoint()).toBeNull()

    tick(60_000)
    await trail.record(read(4))
    await trail.record(read(5))
    const second = await trail.checkpoint()
    const decoded = decodeCheckpoint(second!.jws)
    expect(decoded.ok && decoded.payload).toMatchObject({
      size: 5,
      prev: await checkpointDigest(first!.jws),
      time: T0 / 1000 + 60,
    })
    expect((await store.listCheckpoints()).map((c) => c.size)).toEqual([3, 5])
  })

  it('concurrent checkpoints while recording still form one checkpoint chain', async () => {
    const { trail, store } = setup()
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? trail.checkpoint() : trail.record(read(i)))),
    )
    await trail.checkpoint()
    const sizes = (await store.listCheckpoints()).map((c) => c.size)
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b))
    expect(new Set(sizes).size).toBe(sizes.length)
    expect(await trail.verify()).toMatchObject({ ok: true, problems: [], verifiedThrough: 32 })
  })

  it('refuses to sign over a broken chain', async () => {
    const store = memoryStore()
    const tampering: Store = {
      ...store,
      async listAuditEvents(query) {
        return (await store.listAuditEvents(query)).map((e) =>
          e.seq === 2 ? { ...e, subject: 'mallory' } : e,
        )
      },
    }
    const { trail } = setup(tampering)
    for (let i = 0; i < 3; i++) await trail.record(read(i))
    await expect(trail.checkpoint()).rejects.toThrow('broken at seq 2')
    expect(await store.listCheckpoints()).toEqual([])
  })

  it('startCheckpoints checkpoints on a timer until stopped', async () => {
    const { trail, store } = setup()
    await trail.record(read(1))
    const stop = trail.startCheckpoints(10)
    await vi.waitFor(async () => expect(await store.listCheckpoints()).toHaveLength(1))
    stop()
    await trail.record(read(2))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await store.listCheckpoints()).toHaveLength(1)
    expect(() => trail.startCheckpoints(0)).toThrow(TypeError)
  })
})

describe('export and verify', () => {
  it('exports the header, events in order and each checkpoint after the event it covers', async () => {
    const { trail, store } = setup()
    for (let i = 0; i < 3; i++) await trail.record(read(i))
    const cp3 = await trail.checkpoint()
    for (let i = 0; i < 3; i++) await trail.record(read(i))
    const cp6 = await trail.checkpoint()
    await trail.record(read(7))
    // A small page size exercises the paging.
    const lines = await collect(exportAuditTrail({ store, logId: 'harbor-pay', pageSize: 2 }))
    expect(await collect(trail.export())).toEqual(lines)
    expect(JSON.parse(lines[0]!)).toEqual({ consentry_audit_export: 1, log_id: 'harbor-pay' })
    const kinds = lines.slice(1).map((l) => {
      const v = JSON.parse(l) as Partial<AuditEvent> & { checkpoint?: string }
      return v.checkpoint ? `cp${v.checkpoint === cp3!.jws ? 3 : v.checkpoint === cp6!.jws ? 6 : '?'}` : v.seq
    })
    expect(kinds).toEqual([1, 2, 3, 'cp3', 4, 5, 6, 'cp6', 7])

    const report = await verifyAuditExport(lines, {
      keys: { keys: [await trail.publicJwk()] },
      logId: 'harbor-pay',
    })
    expect(report).toMatchObject({ ok: true, events: 7, checkpoints: 2, verifiedThrough: 6 })
    expect(report.problems.map((p) => [p.code, p.seq])).toEqual([['uncovered_events', 7]])
    expect(await trail.verify()).toEqual(report)

    // and the verifier notices when the store's copy is edited behind the trail's back
    const edited = lines.map((l, i) => (i === 2 ? l.replace('"transactions":1', '"transactions":100') : l))
    expect(
      (await verifyAuditExport(edited, { keys: { keys: [await trail.publicJwk()] } })).problems[0],
    ).toMatchObject({
      code: 'edited_event',
      line: 3,
      seq: 2,
    })
  })

  it('works with EdDSA keys, and asks for the public key when the private one cannot be exported', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA')
    const trail = createAuditTrail({
      store: memoryStore(),
      logId: 'l',
      signingKey: { privateKey, publicKey, kid: 'ed', alg: 'EdDSA' },
    })
    await trail.record(read(1))
    await trail.checkpoint()
    expect(await trail.verify()).toMatchObject({ ok: true, verifiedThrough: 1 })
    expect(await trail.publicJwk()).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      kid: 'ed',
      alg: 'EdDSA',
      use: 'sig',
    })
    expect(await trail.publicJwk()).not.toHaveProperty('d')

    const blind = createAuditTrail({
      store: memoryStore(),
      logId: 'l',
      signingKey: { privateKey, kid: 'ed', alg: 'EdDSA' },
    })
    await expect(blind.publicJwk()).rejects.toThrow('signingKey.publicKey')
  })
})
