import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Grant } from '@consentry/core'
import { StoreError, sqliteStore } from '@consentry/server'
import { afterAll, describe, expect, it } from 'vitest'
import { openSqliteStore } from '../packages/server/src/store/sqlite.ts'
import { MAX_BATCH_WRITES } from '../packages/server/src/store/sqlite-batch.ts'
import { migrateSqlite } from '../packages/server/src/store/sqlite-schema.ts'
import { startWriter } from './helpers/crash.ts'
import { describeStoreConformance } from './store-conformance.ts'

const temp = mkdtempSync(join(tmpdir(), 'consentry-sqlite-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))
let files = 0
/** A fresh file per call, in a directory that does not exist yet (it is created). */
const freshPath = () => join(temp, `db-${++files}`, 'consentry.db')

describeStoreConformance('sqlite in memory', () => sqliteStore({ path: ':memory:' }))
// No openSecond: one process (and one store) per file, by design — see the lock tests below.
describeStoreConformance('sqlite on a file', () => sqliteStore({ path: freshPath() }))

const T = 1_700_000_000_000
const grant = (id = 'g1', overrides: Partial<Grant> = {}): Grant => ({
  id,
  clientId: 'c1',
  subject: 'alice',
  status: 'active',
  authorizationDetails: [{ type: 'transaction_history', fields: ['amount'] }],
  createdAt: T,
  updatedAt: T,
  expiresAt: T + 1000,
  ...overrides,
})

/** node:sqlite, for tests that open the connection themselves. */
const { DatabaseSync } = await import('node:sqlite')
type Db = InstanceType<typeof DatabaseSync>

/**
 * A connection as sqliteStore opens it, whose `COMMIT`s can be made to fail; with `syncs`, the WAL
 * fsyncs are handed to the test to complete (or fail) when it wants.
 */
function failingCommits(syncs?: ((error: Error | null) => void)[]) {
  const db = new DatabaseSync(':memory:')
  migrateSqlite(db)
  const control = { failNext: 0, commits: 0 }
  const prepare = db.prepare.bind(db)
  db.prepare = (text: string) => {
    const statement = prepare(text)
    if (text !== 'COMMIT') return statement
    const run = statement.run.bind(statement)
    statement.run = () => {
      control.commits++
      if (control.failNext > 0) {
        control.failNext--
        throw Object.assign(new Error('disk I/O error (simulated)'), { errcode: 10 })
      }
      return run()
    }
    return statement
  }
  const wal = syncs && { sync: (done: (error: Error | null) => void) => void syncs.push(done), close() {} }
  return { db: db as Db, control, store: openSqliteStore(db, wal ? { wal } : {}) }
}

/** Whether `promise` has settled once pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  const mark = () => {
    done = true
  }
  promise.then(mark, mark)
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe('sqliteStore', { timeout: 60_000 }, () => {
  it('keeps data across close and reopen; seq carries on; the file is private to its user', async () => {
    const path = freshPath()
    const first = await sqliteStore({ path })
    expect(first.ephemeral).toBeUndefined() // durable: server secrets need a key-encryption key
    const memory = await sqliteStore({ path: ':memory:' })
    expect(memory.ephemeral).toBe(true)
    await memory.close()
    await first.createGrant(grant())
    const event = await first.appendAuditEvent({
      id: 'e1',
      at: '2024-01-01T00:00:00.000Z',
      type: 'grant.approved',
      actor: { type: 'subject', id: 'alice' },
      data: { n: 1.5 },
    })
    await first.close()
    expect(statSync(path).mode & 0o777).toBe(0o600)

    const second = await sqliteStore({ path }) // migrations are a no-op the second time
    expect(await second.getGrant('g1')).toEqual(grant())
    expect(await second.listAuditEvents({})).toEqual([event])
    expect((await second.appendAuditEvent({ ...event, id: 'e2' })).seq).toBe(event.seq + 1)
    await second.close()
  })

  it('refuses a second open of the same file (another store or process) with store_locked', async () => {
    const path = freshPath()
    const first = await sqliteStore({ path })
    await first.createGrant(grant())
    const refused = await sqliteStore({ path }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(StoreError)
    expect(refused).toMatchObject({ code: 'store_locked' })
    expect(String((refused as Error).message)).toContain('one process per database file')
    // The first store is unharmed, and once it is closed the file opens again.
    expect(await first.getGrant('g1')).toEqual(grant())
    await first.close()
    const again = await sqliteStore({ path })
    expect(await again.getGrant('g1')).toEqual(grant())
    await again.close()
  })

  it('on a runtime without node:sqlite, importing works and opening fails with sqlite_unavailable', () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    const script = `
      const { sqliteStore } = await import('@consentry/server')
      await sqliteStore({ path: ':memory:' }).catch((e) => console.log(e.name, e.code))`
    const run = spawnSync(
      process.execPath,
      [
        '--no-experimental-sqlite',
        '--conditions=source',
        `--import=${tsx}`,
        '--input-type=module',
        '-e',
        script,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    )
    expect(run.stdout.trim()).toBe('StoreError sqlite_unavailable')
  })

  it('refuses a file written by a newer schema with store_schema_newer', async () => {
    const path = freshPath()
    await (await sqliteStore({ path })).close()
    const db = new DatabaseSync(path)
    db.exec('PRAGMA user_version = 999')
    db.close()
    await expect(sqliteStore({ path })).rejects.toMatchObject({
      name: 'StoreError',
      code: 'store_schema_newer',
    })
  })

  it('an acknowledged write survives SIGKILL of its process', async () => {
    const path = freshPath()
    const writer = await startWriter(new URL('./store-sqlite-child.ts', import.meta.url), [path])
    // While it runs, the file is locked against this process too.
    await expect(sqliteStore({ path })).rejects.toMatchObject({ code: 'store_locked' })
    expect(await writer.kill()).toBe('SIGKILL')

    const store = await sqliteStore({ path })
    expect((await store.getGrant('crash-grant'))?.subject).toBe('alice')
    expect((await store.getGrant('crash-grant-2'))?.subject).toBe('alice')
    const [event] = await store.listAuditEvents({})
    expect(event).toMatchObject({ seq: 1, id: 'evt-crash', data: { note: 'written before SIGKILL' } })
    await store.close()
  })
})

describe('sqliteStore: group commit', () => {
  it('writes of one event-loop turn share one commit', async () => {
    const { store, control } = failingCommits()
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.createGrant(grant(`g${i}`))))
    expect(control.commits).toBe(1)
    await store.createGrant(grant('later'))
    expect(control.commits).toBe(2)
    await store.close()
  })

  it('a write resolves only once the WAL is fsynced; batches committed meanwhile share the next fsync', async () => {
    const syncs: ((error: Error | null) => void)[] = []
    const { store, control } = failingCommits(syncs)
    const first = store.createGrant(grant('a'))
    expect(await settled(first)).toBe(false)
    expect(control.commits).toBe(1) // committed (visible to reads), not yet durable
    expect(await store.getGrant('a')).not.toBeNull()
    expect(syncs).toHaveLength(1)
    // Two more batches commit while that fsync runs: they wait for one more fsync, not two.
    const second = store.createGrant(grant('b'))
    await new Promise((resolve) => setImmediate(resolve))
    const third = store.createGrant(grant('c'))
    await new Promise((resolve) => setImmediate(resolve))
    expect(control.commits).toBe(3)
    expect(syncs).toHaveLength(1)
    syncs[0]!(null)
    expect(await settled(first)).toBe(true)
    expect(await settled(second)).toBe(false)
    expect(syncs).toHaveLength(2)
    syncs[1]!(null)
    await Promise.all([second, third])
    await store.close()
  })

  it('a failed fsync rejects its callers and every later write (the store fails closed)', async () => {
    const syncs: ((error: Error | null) => void)[] = []
    const { store } = failingCommits(syncs)
    const write = store.createGrant(grant('a'))
    await new Promise((resolve) => setImmediate(resolve))
    syncs[0]!(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }))
    await expect(write).rejects.toThrow('EIO')
    await expect(store.createGrant(grant('b'))).rejects.toThrow('EIO')
    await store.close()
  })

  it('a batch is capped: a long turn of writes commits in several transactions', async () => {
    const { store, control } = failingCommits()
    const n = MAX_BATCH_WRITES * 2 + 1
    await Promise.all(Array.from({ length: n }, (_, i) => store.recordJti(`j${i}`, T)))
    expect(control.commits).toBe(3)
    await store.close()
  })

  it('a failed commit rejects every caller of the batch and keeps nothing of it', async () => {
    const { store, control } = failingCommits()
    await store.createGrant(grant('before'))
    control.failNext = 1
    const results = await Promise.allSettled([
      store.createGrant(grant('lost-1')),
      store.transitionGrant('before', ['active'], { status: 'revoked', updatedAt: T + 1 }),
      store.appendAuditEvent({
        id: 'evt-lost',
        at: '2024-01-01T00:00:00.000Z',
        type: 'grant.revoked',
        actor: { type: 'system' },
        data: {},
      }),
      store.createClient({
        clientId: 'c-lost',
        clientName: 'Lost',
        redirectUris: ['https://rp.example/cb'],
        jwks: { keys: [] },
        createdAt: T,
      }),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected'])
    for (const r of results) expect(String((r as PromiseRejectedResult).reason)).toContain('disk I/O error')
    expect(await store.getGrant('lost-1')).toBeNull()
    expect((await store.getGrant('before'))?.status).toBe('active')
    expect(await store.listAuditEvents({})).toEqual([])
    expect(await store.getClient('c-lost')).toBeNull()
    // The store goes on: the next batch commits, and the sequencer never sealed the lost event.
    await store.createGrant(grant('after'))
    expect(await store.getGrant('after')).not.toBeNull()
    await store.close()
  })

  it('acknowledged-early writes (jti, quota) of a failed batch are written again', async () => {
    const { store, control } = failingCommits()
    await store.createGrant(grant())
    control.failNext = 1
    const read = await store.recordJtiAndGetGrant('dpop:k:1', T + 60_000, 'g1')
    expect(read.firstUse).toBe(true)
    const quota = await store.consumeReadQuota('g1', T, 1, 86_400_000, { flushedByNextWrite: true })
    expect(quota).toEqual({ allowed: true, used: 1 })
    await expect(
      store.appendAuditEvent({
        id: 'evt-read',
        at: '2024-01-01T00:00:00.000Z',
        type: 'data.read',
        actor: { type: 'system' },
        data: {},
      }),
    ).rejects.toThrow('disk I/O error')
    // The jti and the counted read were acknowledged: they are kept, in a batch of their own.
    await new Promise((resolve) => setImmediate(resolve))
    expect(await store.recordJti('dpop:k:1', T + 60_000)).toBe(false)
    expect(await store.consumeReadQuota('g1', T + 1, 1, 86_400_000)).toMatchObject({ allowed: false })
    await store.close()
  })

  it('a failing write (duplicate id) rejects only its caller; the rest of its batch commits', async () => {
    const { store, control } = failingCommits()
    await store.createGrant(grant('taken'))
    await store.enqueueEvent({
      id: 'evt-taken',
      clientId: 'c1',
      grantId: 'taken',
      url: 'https://rp.example/e',
      body: 'b',
      attempts: 0,
      nextAttemptAt: T,
      createdAt: T,
    })
    const before = control.commits
    const results = await Promise.allSettled([
      store.createGrant(grant('new-1')),
      store.createGrant(grant('taken', { subject: 'mallory' })),
      // Two statements, the second fails: the first (the transition) is undone with it.
      store.transitionGrant(
        'taken',
        ['active'],
        { status: 'revoked', updatedAt: T + 1 },
        {
          outbox: {
            id: 'evt-taken',
            clientId: 'c1',
            grantId: 'taken',
            url: 'https://rp.example/e',
            body: 'again',
            attempts: 0,
            nextAttemptAt: T,
            createdAt: T,
          },
        },
      ),
      store.createGrant(grant('new-2')),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled'])
    expect(control.commits).toBe(before + 1)
    expect(await store.getGrant('new-1')).not.toBeNull()
    expect(await store.getGrant('new-2')).not.toBeNull()
    expect(await store.getGrant('taken')).toEqual(grant('taken'))
    await store.close()
  })
})

describe('sqliteStore: single-use records (generic API)', () => {
  const records = () => failingCommits().store
  it('saves, finds, consumes once, reports reuse, and never revives a consumed record', async () => {
    const store = records()
    const value = { request: { clientId: 'c1', nested: [1, { a: 'x' }] } }
    await store.saveRecord({ kind: 'pushed_request', id: 'urn:r1', value, expiresAt: T + 10 })
    const found = await store.findRecord('pushed_request', 'urn:r1', T)
    expect(found).toEqual({ kind: 'pushed_request', id: 'urn:r1', value, expiresAt: T + 10 })
    found!.value.request = 'changed'
    expect((await store.findRecord('pushed_request', 'urn:r1', T))?.value).toEqual(value)
    expect(await store.findRecord('pushed_request', 'urn:r1', T + 10)).toBeNull()
    expect(await store.findRecord('interaction', 'urn:r1', T)).toBeNull() // ids are per kind

    const first = await store.consumeRecord('pushed_request', 'urn:r1', T + 1)
    expect(first).toEqual({
      status: 'ok',
      record: { kind: 'pushed_request', id: 'urn:r1', value, expiresAt: T + 10, consumedAt: T + 1 },
    })
    expect((await store.consumeRecord('pushed_request', 'urn:r1', T + 20))?.status).toBe('consumed')
    expect(await store.findRecord('pushed_request', 'urn:r1', T)).toBeNull()
    await store.saveRecord({ kind: 'pushed_request', id: 'urn:r1', value: { new: 1 }, expiresAt: T + 99 })
    const again = await store.consumeRecord('pushed_request', 'urn:r1', T + 2)
    expect(again).toMatchObject({ status: 'consumed', record: { value, consumedAt: T + 1 } })
    await store.close()
  })

  it('owner: another party gets wrong_owner and the record is untouched; absent owner: anyone', async () => {
    const store = records()
    await store.saveRecord({ kind: 'code', id: 'h1', owner: 'c1', value: { x: 1 }, expiresAt: T + 10 })
    expect(await store.consumeRecord('code', 'h1', T, 'c2')).toMatchObject({
      status: 'wrong_owner',
      record: { owner: 'c1' },
    })
    expect((await store.consumeRecord('code', 'h1', T, 'c1'))?.status).toBe('ok')
    expect((await store.consumeRecord('code', 'h1', T, 'c2'))?.status).toBe('wrong_owner')
    expect((await store.consumeRecord('code', 'h1', T, 'c1'))?.status).toBe('consumed')
    await store.saveRecord({ kind: 'interaction', id: 'i1', value: {}, expiresAt: T + 10 })
    expect((await store.consumeRecord('interaction', 'i1', T, 'anyone'))?.status).toBe('ok')
    expect(await store.consumeRecord('code', 'unknown', T, 'c1')).toBeNull()
    await store.saveRecord({ kind: 'code', id: 'h2', owner: 'c1', value: {}, expiresAt: T + 10 })
    expect(await store.consumeRecord('code', 'h2', T + 10, 'c1')).toBeNull() // expired, never consumed
    await store.close()
  })

  it('deleteRecord removes; deleteExpired keeps consumed records a day past expiry', async () => {
    const store = records()
    await store.saveRecord({ kind: 'session', id: 's1', value: {}, expiresAt: T + 10 })
    await store.deleteRecord('session', 's1')
    await store.deleteRecord('session', 'unknown')
    expect(await store.findRecord('session', 's1', T)).toBeNull()
    await store.saveRecord({ kind: 'code', id: 'used', value: {}, expiresAt: T + 10 })
    await store.saveRecord({ kind: 'code', id: 'unused', value: {}, expiresAt: T + 10 })
    await store.consumeRecord('code', 'used', T)
    await store.deleteExpired(T + 10)
    expect(await store.consumeRecord('code', 'unused', T)).toBeNull()
    expect((await store.consumeRecord('code', 'used', T))?.status).toBe('consumed')
    await store.deleteExpired(T + 10 + 86_400_000)
    expect(await store.consumeRecord('code', 'used', T)).toBeNull()
    await store.close()
  })
})
