import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_PGLITE_DIR, openPglite, pgliteStore } from '@consentry/store-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWriter } from './helpers/crash.ts'
import { describeStoreConformance } from './store-conformance.ts'

/**
 * PGlite starts in about a second, so the conformance suite shares one database per mode and gives
 * every test its own schema (the same isolation the PostgreSQL tests use).
 */
const temp = mkdtempSync(join(tmpdir(), 'consentry-pglite-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

function sharedPglite(label: string, dataDir: () => string) {
  let db: Awaited<ReturnType<typeof openPglite>>
  let counter = 0
  let current = ''
  beforeAll(async () => {
    db = await openPglite(dataDir())
  }, 60_000)
  afterAll(async () => {
    await db?.close()
  }, 60_000)
  describeStoreConformance(
    label,
    async () => {
      current = `t${++counter}`
      return pgliteStore({ pglite: db, schema: current })
    },
    { cleanup: async () => void (await db.exec(`DROP SCHEMA "${current}" CASCADE`)) },
  )
}

sharedPglite('pglite in memory', () => 'memory://')
sharedPglite('pglite on a directory', () => join(temp, 'suite'))

const grant = {
  id: 'g1',
  clientId: 'c1',
  subject: 'alice',
  status: 'active' as const,
  authorizationDetails: [{ type: 'transaction_history', fields: ['amount'] }],
  createdAt: 1,
  updatedAt: 1,
  expiresAt: 2,
}

describe('pgliteStore', { timeout: 60_000 }, () => {
  it('opens its own in-memory database and closes it', async () => {
    const store = await pgliteStore({ dataDir: 'memory://' })
    await store.createGrant(grant)
    expect(await store.getGrant('g1')).toEqual(grant)
    await store.close()
  })

  it('keeps data across close and reopen of the same directory', async () => {
    const dataDir = join(temp, 'reopen', 'nested') // parents are created
    const first = await pgliteStore({ dataDir })
    await first.createGrant(grant)
    const event = await first.appendAuditEvent({
      id: 'e1',
      at: '2024-01-01T00:00:00.000Z',
      type: 'grant.approved',
      actor: { type: 'subject', id: 'alice' },
      data: { n: 1.5 },
    })
    await first.close()

    const second = await pgliteStore({ dataDir }) // migrations are a no-op the second time
    expect(await second.getGrant('g1')).toEqual(grant)
    expect(await second.listAuditEvents({})).toEqual([event])
    // The sequence carries on after a reopen: the next insert gets the next seq.
    expect((await second.appendAuditEvent({ ...event, id: 'e2' })).seq).toBe(event.seq + 1)
    await second.close()
  })

  it('defaults to .consentry/db', () => {
    expect(DEFAULT_PGLITE_DIR).toBe('.consentry/db')
  })

  it('an acknowledged write survives SIGKILL (default directory under the cwd)', async () => {
    const cwd = join(temp, 'crash')
    mkdirSync(cwd)
    const writer = await startWriter(new URL('./store-pglite-child.ts', import.meta.url), [], cwd)
    expect(await writer.kill()).toBe('SIGKILL')

    const dataDir = join(cwd, DEFAULT_PGLITE_DIR)
    expect(existsSync(dataDir)).toBe(true)
    const store = await pgliteStore({ dataDir })
    expect((await store.getGrant('crash-grant'))?.subject).toBe('alice')
    const [event] = await store.listAuditEvents({})
    expect(event).toMatchObject({ seq: 1, id: 'evt-crash', data: { note: 'written before SIGKILL' } })
    await store.close()
  }, 60_000)
})
