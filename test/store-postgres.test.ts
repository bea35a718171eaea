import { createHash } from 'node:crypto'
import { type AuditEventDraft, auditLeafHash, canonicalize, rootHash } from '@consentry/core'
import { MIGRATIONS, postgresStore } from '@consentry/store-postgres'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { grouped } from '../packages/store-postgres/src/group.ts'
import { migrate } from '../packages/store-postgres/src/migrations.ts'
import { pgDb } from '../packages/store-postgres/src/pg.ts'
import { describeStoreConformance, integrateAll } from './store-conformance.ts'

/**
 * Runs against a real PostgreSQL: CONSENTRY_TEST_DATABASE_URL or DATABASE_URL, else the local
 * trust-auth server. Every store gets its own schema, dropped afterwards.
 */
const url =
  process.env.CONSENTRY_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const admin = new pg.Pool({ connectionString: url, max: 2 })
const prefix = `consentry_t${process.pid}_${Date.now().toString(36)}`
let counter = 0
const newSchema = () => `${prefix}_${++counter}`
const dropSchema = (schema: string) => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)

afterAll(async () => {
  const { rows } = await admin.query<{ nspname: string }>(
    'SELECT nspname FROM pg_namespace WHERE nspname LIKE $1',
    [`${prefix}_%`],
  )
  for (const { nspname } of rows) await dropSchema(nspname)
  await admin.end()
}, 60_000)

let current = ''
describeStoreConformance(
  'postgres',
  async () => {
    current = newSchema()
    return postgresStore({ connectionString: url, schema: current })
  },
  {
    openSecond: () => postgresStore({ connectionString: url, schema: current }),
    cleanup: async () => {
      await dropSchema(current)
    },
  },
)

describe('postgresStore', { timeout: 30_000 }, () => {
  it('several instances migrating one fresh schema at once all succeed, once', async () => {
    const schema = newSchema()
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => postgresStore({ connectionString: url, schema })),
    )
    try {
      const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_migrations`)
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version))
      await stores[0]!.createGrant({
        id: 'g1',
        clientId: 'c1',
        subject: 'alice',
        status: 'active',
        authorizationDetails: [{ type: 'transaction_history' }],
        createdAt: 1,
        updatedAt: 1,
        expiresAt: 2,
      })
      expect((await stores[3]!.getGrant('g1'))?.subject).toBe('alice')
    } finally {
      for (const s of stores) await s.close()
      await dropSchema(schema)
    }
  })

  it('re-opening a migrated schema keeps its data', async () => {
    const schema = newSchema()
    const first = await postgresStore({ connectionString: url, schema })
    await first.getOrCreateSecret('k', () => 'v1')
    await first.close()
    const second = await postgresStore({ connectionString: url, schema })
    expect(await second.getOrCreateSecret('k', () => 'v2')).toBe('v1')
    await second.close()
    await dropSchema(schema)
  })

  it('uses a pool it is given and leaves it open on close', async () => {
    const schema = newSchema()
    const pool = new pg.Pool({ connectionString: url, max: 3 })
    const store = await postgresStore({ pool, schema })
    expect(await store.recordJti('a', 10)).toBe(true)
    await store.close()
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    // The pool's own type parsing is untouched by the store (int8 stays a string in plain pg).
    expect((await pool.query('SELECT 1::bigint AS n')).rows).toEqual([{ n: '1' }])
    await pool.end()
    await dropSchema(schema)
  })

  it('migration 12 carries sessions, flows in progress and used codes over into records', async () => {
    // A schema as the previous release left it, written the way that release wrote it.
    const schema = newSchema()
    const s = `"${schema}"`
    await migrate(pgDb(admin, false), schema, 11)
    const T = 1_700_000_000_000
    const request = { clientId: 'c1', redirectUri: 'https://rp.example/cb', dpopJkt: 'jkt' }
    const code = { codeHash: 'ch1', clientId: 'c1', grantId: 'g1', subject: 'alice', expiresAt: T + 60_000 }
    await admin.query(
      `INSERT INTO ${s}.sessions (id_hash, subject, name, created_at, expires_at) VALUES
         ('sh1', 'alice', 'Alice Martin', $1, $2), ('sh2', 'bob', NULL, $1, $2)`,
      [T, T + 3_600_000],
    )
    await admin.query(
      `INSERT INTO ${s}.pushed_requests (request_uri, record, expires_at) VALUES ($1, $2, $3)`,
      ['urn:r1', JSON.stringify({ requestUri: 'urn:r1', request, expiresAt: T + 90_000 }), T + 90_000],
    )
    await admin.query(`INSERT INTO ${s}.interactions (id, record, expires_at) VALUES ($1, $2, $3)`, [
      'i1',
      JSON.stringify({
        id: 'i1',
        request,
        subject: 'alice',
        cookieHash: 'h',
        csrf: 'x',
        expiresAt: T + 600_000,
      }),
      T + 600_000,
    ])
    await admin.query(
      `INSERT INTO ${s}.codes (code_hash, record, expires_at, used_at) VALUES ($1, $2, $3, NULL), ($4, $5, $3, $6)`,
      ['ch1', JSON.stringify(code), T + 60_000, 'ch2', JSON.stringify({ ...code, codeHash: 'ch2' }), T + 5],
    )

    const store = await postgresStore({ connectionString: url, schema })
    try {
      // The signed-in session is still signed in, exactly as stored (no name: no name member).
      expect(await store.findRecord('session', 'sh1', T + 1)).toEqual({
        kind: 'session',
        id: 'sh1',
        value: {
          idHash: 'sh1',
          subject: 'alice',
          name: 'Alice Martin',
          createdAt: T,
          expiresAt: T + 3_600_000,
        },
        expiresAt: T + 3_600_000,
      })
      expect((await store.findRecord('session', 'sh2', T + 1))?.value).toEqual({
        idHash: 'sh2',
        subject: 'bob',
        createdAt: T,
        expiresAt: T + 3_600_000,
      })
      // A flow in progress continues: the pushed request and the interaction are there, unconsumed.
      expect(await store.consumeRecord('pushed_request', 'urn:r1', T + 1)).toEqual({
        status: 'ok',
        record: {
          kind: 'pushed_request',
          id: 'urn:r1',
          value: { request },
          expiresAt: T + 90_000,
          consumedAt: T + 1,
        },
      })
      expect((await store.findRecord('interaction', 'i1', T + 1))?.value).toMatchObject({ subject: 'alice' })
      // Codes keep their client as owner; a used code is still reported as reused.
      expect((await store.consumeRecord('code', 'ch1', T + 1, 'c2'))?.status).toBe('wrong_owner')
      expect(await store.consumeRecord('code', 'ch1', T + 1, 'c1')).toMatchObject({
        status: 'ok',
        record: { owner: 'c1', value: code },
      })
      expect(await store.consumeRecord('code', 'ch2', T + 1, 'c1')).toMatchObject({
        status: 'consumed',
        record: { consumedAt: T + 5 },
      })
      const { rows } = await admin.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1
           AND table_name IN ('sessions', 'pushed_requests', 'interactions', 'codes')`,
        [schema],
      )
      expect(rows).toEqual([])
    } finally {
      await store.close()
      await dropSchema(schema)
    }
  })

  it('migration 13 keeps the reads counted before it, and the count stays exact in constant time', async () => {
    const schema = newSchema()
    const s = `"${schema}"`
    await migrate(pgDb(admin, false), schema, 12)
    const T = 1_700_000_000_000
    // Three reads of g1 counted the old way (one row each), one of them already out of the window.
    await admin.query(
      `INSERT INTO ${s}.read_quota (grant_id, at) VALUES ('g1', $1), ('g1', $2), ('g1', $3)`,
      [T - 2000, T - 500, T - 100],
    )
    const store = await postgresStore({ connectionString: url, schema })
    try {
      expect(await store.consumeReadQuota('g1', T, 3, 1000)).toEqual({ allowed: true, used: 3 })
      expect(await store.consumeReadQuota('g1', T + 1, 3, 1000)).toEqual({
        allowed: false,
        retryAfterMs: 499,
      })
      const [row] = (
        await admin.query(`SELECT used, counted_after FROM ${s}.read_quota_counts WHERE grant_id = 'g1'`)
      ).rows
      expect(row).toEqual({ used: '3', counted_after: String(T + 1 - 1000) })
      // An instance still on the previous release calls the same function (rolling upgrade): its
      // read is counted in the same row.
      const [old] = (
        await admin.query(
          `SELECT * FROM ${s}.consume_read_quota('g1', 'consentry:x:quota:g1', $1, 3, 1000, false)`,
          [T + 2000],
        )
      ).rows
      expect(old).toEqual({ allowed: true, used: '1', oldest: null })
      expect(await store.consumeReadQuota('g1', T + 2001, 2, 1000)).toEqual({ allowed: true, used: 2 })
      expect(await store.consumeReadQuota('g1', T + 2002, 2, 1000)).toEqual({
        allowed: false,
        retryAfterMs: 998,
      })
    } finally {
      await store.close()
      await dropSchema(schema)
    }
  })
  it('migration 15 carries on the counts of migration 14, and the previous release gets the same answers', async () => {
    const schema = newSchema()
    const s = `"${schema}"`
    const db = pgDb(admin, false)
    await migrate(db, schema, 14)
    const T = 1_700_000_000_000
    const flight = (key: string, now: number, events: string[] = []) =>
      admin.query(
        `SELECT n, first_use, quota, seq FROM ${s}.read_flight($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          [key],
          [now + 60_000],
          ['g1'],
          ['attended:g1'],
          ['c1'],
          [now],
          [3],
          [1000],
          events.map(() => 'data.read'),
          events.map(() => 'g1'),
          events.map(() => 'c1'),
          events.map(() => 'alice'),
          events,
        ],
      )
    await admin.query(
      `INSERT INTO ${s}.grants (id, client_id, subject, status, authorization_details, created_at, updated_at, expires_at)
       VALUES ('g1', 'c1', 'alice', 'active', '[]', $1, $1, $2)`,
      [T, T + 86_400_000],
    )
    // Two reads counted by migration 14's functions.
    expect((await flight('j1', T)).rows).toEqual([{ n: 1, first_use: true, quota: '(t,1,)', seq: null }])
    expect((await flight('j2', T + 10)).rows[0].quota).toBe('(t,2,)')
    await migrate(db, schema)
    try {
      // The third fills the window; the fourth is refused until the first leaves it (T + 1000).
      const third = await flight('j3', T + 20, ['{"type":"data.read"}'])
      expect(third.rows.map((r) => [r.n, r.quota, r.seq === null])).toEqual([
        [1, '(t,3,)', true],
        [null, null, false],
      ])
      expect((await flight('j4', T + 30)).rows[0].quota).toBe(`(f,3,${T})`)
      // A replayed jti: no first use, nothing counted.
      expect((await flight('j3', T + 40)).rows[0]).toMatchObject({ first_use: false, quota: null })
      // The previous release's direct call (consume_read_quota) and its read_gate see the same count.
      const [direct] = (
        await admin.query(`SELECT * FROM ${s}.consume_read_quota('attended:g1', '', $1, 3, 1000, false)`, [
          T + 1005,
        ])
      ).rows
      expect(direct).toEqual({ allowed: true, used: '3', oldest: null })
      const [gate] = (
        await admin.query(`SELECT n, quota FROM ${s}.read_gate($1, $2, $3, $4, $5, $6, $7, $8)`, [
          ['j5'],
          [T + 60_000],
          ['g1'],
          ['attended:g1'],
          ['c1'],
          [T + 1006],
          [3],
          [1000],
        ])
      ).rows
      expect(gate).toEqual({ n: 1, quota: `(f,3,${T + 10})` })
    } finally {
      await dropSchema(schema)
    }
  })
  it('runs the read path as named prepared statements, unless told not to (poolers)', async () => {
    const prepared = async (preparedStatements?: boolean) => {
      const schema = newSchema()
      const pool = new pg.Pool({ connectionString: url, max: 1 }) // one connection: one session's statements
      try {
        const store = await postgresStore({
          pool,
          schema,
          ...(preparedStatements === undefined ? {} : { preparedStatements }),
        })
        await store.recordJtiAndGetGrant('dpop:k:p1', Date.now() + 60_000, 'nope')
        await store.consumeReadQuota('g1', Date.now(), 5, 60_000)
        const { rows } = await pool.query<{ statement: string }>(
          "SELECT statement FROM pg_prepared_statements WHERE name LIKE 'consentry\\_%'",
        )
        return rows.map((r) => /(read_flight|consume_read_quota)/.exec(r.statement)?.[1]).sort()
      } finally {
        await pool.end()
        await dropSchema(schema)
      }
    }
    expect(await prepared()).toEqual(['consume_read_quota', 'read_flight'])
    expect(await prepared(false)).toEqual([])
  })
  it('fails without leaking the connection string when the database is unreachable', async () => {
    const secretUrl = 'postgres://user:hunter2-secret@127.0.0.1:1/db'
    const error = await postgresStore({ connectionString: secretUrl, schema: newSchema() }).catch(
      (e: Error) => e,
    )
    expect(error).toBeInstanceOf(Error)
    expect(String((error as Error).message)).not.toContain('hunter2')
  })

  it('migration 10 on a database holding the old hash-chained trail keeps every event and logs them in order', async () => {
    const schema = newSchema()
    const s = `"${schema}"`
    // The schema as a holder released before the transparency log left it: migrations up to 9,
    // recorded in schema_migrations as migrate() records them.
    await admin.query(`CREATE SCHEMA ${s}`)
    await admin.query(`CREATE TABLE ${s}.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    for (const m of MIGRATIONS.filter((m) => m.version <= 9)) {
      await admin.query(m.sql(s))
      await admin.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ])
    }
    // Events appended the pre-10 way: a hash chain (seq from 1, prev_hash = the previous hash, hash =
    // SHA-256 hex of the canonical event without hash), one row each with its sealed JSON.
    const drafts: AuditEventDraft[] = [
      {
        id: 'evt_old_1',
        at: '2026-10-01T09:00:00.000Z',
        type: 'client.registered',
        actor: { type: 'holder' },
        client_id: 'cl_1',
        data: {},
      },
      {
        id: 'evt_old_2',
        at: '2026-10-01T09:01:00.000Z',
        type: 'grant.approved',
        actor: { type: 'subject', id: 'alice' },
        grant_id: 'gr_1',
        client_id: 'cl_1',
        subject: 'alice',
        data: { accounts: ['acc_1', 'acc_2'], fields: ['amount', 'booked_at'], lookback_days: 365 },
      },
      ...Array.from({ length: 5 }, (_, i) => ({
        id: `evt_old_${i + 3}`,
        at: `2026-10-0${i + 2}T12:00:00.000Z`,
        type: 'data.read',
        actor: { type: 'client' as const, id: 'cl_1' },
        grant_id: 'gr_1',
        client_id: 'cl_1',
        subject: 'alice',
        data: { records: 100 - i, from: '2025-10-01', to: '2026-10-01', note: 'Café ☕ \u0000 "q"' },
      })),
    ]
    let prev = { seq: 0, hash: '0'.repeat(64) }
    for (const d of drafts) {
      const unsealed = { ...d, seq: prev.seq + 1, prev_hash: prev.hash }
      const sealed = { ...unsealed, hash: createHash('sha256').update(canonicalize(unsealed)).digest('hex') }
      await admin.query(
        `INSERT INTO ${s}.audit_events (seq, hash, type, grant_id, client_id, subject, event)
         VALUES ($1, $2, $3, $4, $5, $6, $7::json)`,
        [
          sealed.seq,
          sealed.hash,
          d.type,
          d.grant_id ?? null,
          d.client_id ?? null,
          d.subject ?? null,
          JSON.stringify(sealed),
        ],
      )
      prev = sealed
    }
    await admin.query(
      `INSERT INTO ${s}.audit_checkpoints (size, head, created_at, jws, prev_size) VALUES ($1, $2, 1, 'old.jws.sig', -1)`,
      [prev.seq, prev.hash],
    )
    const rowsOf = async () =>
      (await admin.query(`SELECT seq::int, hash, event::text AS event FROM ${s}.audit_events ORDER BY seq`))
        .rows
    const before = await rowsOf()

    // The rest of the migrations run as the store opens.
    const store = await postgresStore({ connectionString: url, schema })
    try {
      const { rows: versions } = await admin.query(
        `SELECT version FROM ${s}.schema_migrations ORDER BY version`,
      )
      expect(versions.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version))
      // Every old row kept byte for byte (json keeps its text), in order, and all pending.
      expect(await rowsOf()).toEqual(before)
      const listed = await store.listAuditEvents({})
      expect(listed).toEqual(drafts.map((d, i) => ({ seq: i + 1, ...d })))
      expect(await store.listAuditEvents({ pending: true })).toHaveLength(drafts.length)

      // A request after the upgrade appends behind them, and the sequencer integrates all, in seq order.
      const fresh = { ...drafts[2]!, id: 'evt_new_1', at: '2026-12-01T00:00:00.000Z' }
      expect((await store.appendAuditEvent(fresh)).seq).toBe(drafts.length + 1)
      await integrateAll(store)
      const all = [...drafts, fresh]
      const integrated = await store.listAuditEvents({ afterIndex: -1 })
      expect(integrated).toEqual(all.map((d, i) => ({ seq: i + 1, index: i, ...d })))
      expect(await store.listAuditEvents({ pending: true })).toEqual([])

      // The checkpoint's root is the RFC 9162 root of the events as first written (chain members
      // stripped), computed apart from the store and the sequencer's incremental nodes.
      const checkpoint = await store.getAuditCheckpoint()
      expect(checkpoint?.size).toBe(all.length)
      expect(Buffer.from(checkpoint!.root)).toEqual(Buffer.from(rootHash(all.map(auditLeafHash))))
      // Leaf hashes stored for proofs are those of the same events.
      const leaves = await store.getAuditNodes(all.map((_, i) => ({ level: 0, index: i })))
      expect(leaves.map((h) => Buffer.from(h).toString('hex'))).toEqual(
        all.map((d) => Buffer.from(auditLeafHash(d)).toString('hex')),
      )
      // Nothing else changed in the old rows: same seq, hash and JSON.
      expect((await rowsOf()).slice(0, drafts.length)).toEqual(before)
    } finally {
      await store.close()
      await dropSchema(schema)
    }
  })
})

describe('read_flight (migration 14): the read gate and the audit appends in one statement', () => {
  const draft = (n: number): AuditEventDraft => ({
    id: `evt_flight_${n}`,
    type: 'data.read',
    actor: { type: 'client', id: 'c1' },
    at: new Date(1_700_000_000_000 + n).toISOString(),
    grant_id: 'g1',
    client_id: 'c1',
    subject: 's1',
    data: { n },
  })
  it('answers gate calls and appends made together, each its own, in one statement', async () => {
    const schema = newSchema()
    const pool = new pg.Pool({ connectionString: url, max: 1 }) // one connection: calls queue into flights
    const store = await postgresStore({ pool, schema })
    try {
      await store.createGrant({
        id: 'g1',
        clientId: 'c1',
        subject: 's1',
        status: 'active',
        authorizationDetails: [{ type: 'transaction_history' }],
        createdAt: 1,
        updatedAt: 1,
        expiresAt: Date.now() + 60_000,
      })
      const calls = await Promise.all([
        store.appendAuditEvent(draft(1)),
        store.recordJtiAndGetGrant('dpop:k:a', Date.now() + 60_000, 'g1'),
        store.appendAuditEvent(draft(2)),
        store.recordJtiAndGetGrant('dpop:k:a', Date.now() + 60_000, 'g1'),
        store.recordJtiAndGetGrant('dpop:k:b', Date.now() + 60_000, 'nope'),
        store.appendAuditEvent(draft(3)),
      ])
      const [e1, g1, e2, g2, g3, e3] = calls as [
        { seq: number; data: unknown },
        { firstUse: boolean; grant: { id: string } | null },
        { seq: number; data: unknown },
        { firstUse: boolean; grant: { id: string } | null },
        { firstUse: boolean; grant: unknown },
        { seq: number; data: unknown },
      ]
      expect([g1.firstUse, g1.grant?.id, g2.firstUse, g2.grant?.id]).toEqual([true, 'g1', false, 'g1'])
      expect([g3.firstUse, g3.grant]).toEqual([true, null])
      expect([e1.data, e2.data, e3.data]).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
      expect(e1.seq < e2.seq && e2.seq < e3.seq).toBe(true)
      const listed = await store.listAuditEvents({ pending: true, limit: 10 })
      expect(listed.map((e) => [e.seq, e.data])).toEqual([
        [e1.seq, { n: 1 }],
        [e2.seq, { n: 2 }],
        [e3.seq, { n: 3 }],
      ])
    } finally {
      await store.close()
      await pool.end()
      await dropSchema(schema)
    }
  })
  it('commits synchronously whenever the flight holds an audit event, and only then without', async () => {
    const schema = newSchema()
    const store = await postgresStore({ connectionString: url, schema })
    const client = await admin.connect()
    try {
      const fn = `"${schema}".read_flight`
      const gateArgs =
        "ARRAY['dpop:k:x'], ARRAY[1::bigint], ARRAY['g'], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::bigint], ARRAY[NULL::integer], ARRAY[NULL::bigint]"
      const noGate =
        "'{}'::text[], '{}'::bigint[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::bigint[], '{}'::integer[], '{}'::bigint[]"
      const noEvent = "'{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[]"
      const oneEvent = `ARRAY['data.read'], ARRAY['g'], ARRAY['c'], ARRAY['s'], ARRAY['${JSON.stringify(draft(1))}']`
      const commitMode = async (args: string) => {
        await client.query('BEGIN')
        const { rows } = await client.query(`SELECT * FROM ${fn}(${args})`)
        const mode = (await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit
        await client.query('ROLLBACK')
        return { rows: rows.length, mode }
      }
      expect(await commitMode(`${gateArgs}, ${noEvent}`)).toEqual({ rows: 1, mode: 'off' })
      expect(await commitMode(`${gateArgs}, ${oneEvent}`)).toEqual({ rows: 2, mode: 'on' })
      expect(await commitMode(`${noGate}, ${oneEvent}`)).toEqual({ rows: 1, mode: 'on' })
    } finally {
      client.release()
      await store.close()
      await dropSchema(schema)
    }
  })
})

describe('grouped (group commit of the read flight)', () => {
  it('sends a lone call at once, groups the calls made meanwhile, answers each in order', async () => {
    const batches: number[][] = []
    let release: () => void = () => {}
    const run = grouped(3, async (batch: number[]) => {
      batches.push(batch)
      if (batches.length === 1)
        await new Promise<void>((r) => {
          release = r
        })
      return batch.map((n) => (n === 4 ? new Error('four') : n * 10))
    })
    const first = run(1)
    const rest = [2, 3, 4, 5, 6].map((n) => run(n).catch((e: Error) => e.message))
    release()
    expect(await first).toBe(10)
    expect(await Promise.all(rest)).toEqual([20, 30, 'four', 50, 60])
    expect(batches).toEqual([[1], [2, 3, 4], [5, 6]])
  })
  it('keeps up to `flights` batches in flight, grouping only what arrives beyond them', async () => {
    const batches: number[][] = []
    const waiting: (() => void)[] = []
    const run = grouped(
      10,
      async (batch: number[]) => {
        batches.push(batch)
        await new Promise<void>((r) => waiting.push(r))
        return batch
      },
      2,
    )
    const all = Promise.all([1, 2, 3, 4, 5].map((n) => run(n)))
    await new Promise((r) => setImmediate(r))
    // Two lone calls left at once, each in its own flight; the rest wait for one to land.
    expect(batches).toEqual([[1], [2]])
    waiting.shift()!()
    await new Promise((r) => setImmediate(r))
    expect(batches).toEqual([[1], [2], [3, 4, 5]])
    for (const w of waiting.splice(0)) w()
    expect(await all).toEqual([1, 2, 3, 4, 5])
  })
  it('a batch that fails rejects every call in it, and the next batch still runs', async () => {
    let calls = 0
    const run = grouped(10, async (batch: string[]) => {
      if (++calls === 1) throw new Error('connection lost')
      return batch
    })
    const failed = Promise.allSettled([run('a')])
    const later = Promise.all([run('b'), run('c')])
    expect((await failed)[0]).toMatchObject({ status: 'rejected', reason: { message: 'connection lost' } })
    expect(await later).toEqual(['b', 'c'])
  })
})
