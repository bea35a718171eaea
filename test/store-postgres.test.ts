import { MIGRATIONS, postgresStore } from '@consentry/store-postgres'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { describeStoreConformance } from './store-conformance.ts'

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
        return rows.map((r) => /(jtis|consume_read_quota)/.exec(r.statement)?.[1]).sort()
      } finally {
        await pool.end()
        await dropSchema(schema)
      }
    }
    expect(await prepared()).toEqual(['consume_read_quota', 'jtis'])
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
})
