import { createHash } from 'node:crypto'
import type { Store } from '@consentry/server'
import pg from 'pg'
import type { Db, Queryable, QueryOptions, Row } from './db.ts'
import { openStore } from './store.ts'

const INT8 = 20
const JSON_OID = 114
const JSONB_OID = 3802

/**
 * Per-query type parsing, so a pool handed in by the application keeps its own global settings:
 * int8 (our epoch-ms and seq columns, `count(*)`) as a JS number, json parsed.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8) return (value: string) => Number(value)
    if (oid === JSON_OID || oid === JSONB_OID) return (value: string) => JSON.parse(value)
    return pg.types.getTypeParser(oid, format)
  }) as pg.CustomTypesConfig['getTypeParser'],
}

type PgRunner = Pick<pg.Pool | pg.PoolClient, 'query'>

/**
 * Named prepared statements, by text: `pg` prepares a named statement once per connection and then
 * only binds and executes it (PostgreSQL parses and plans it once, not on every call). The name is a
 * hash of the text, so pools shared by stores on several schemas never mix two texts under one name.
 */
const statementNames = new Map<string, string>()

function statementName(sql: string): string {
  let name = statementNames.get(sql)
  if (!name) {
    name = `consentry_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`
    statementNames.set(sql, name)
  }
  return name
}

function queryable(runner: PgRunner, prepare: boolean): Queryable {
  return {
    async query<R = Row>(sql: string, params: readonly unknown[] = [], options?: QueryOptions) {
      const result = await runner.query({
        text: sql,
        values: params as unknown[],
        types,
        ...(prepare && options?.prepared ? { name: statementName(sql) } : {}),
      })
      return result.rows as R[]
    },
    async exec(sql) {
      // No parameters: the simple-query protocol, which accepts several statements.
      await runner.query(sql)
    },
  }
}

/** A {@link Db} over a `pg` pool; ends the pool on close only if `owned`. */
export function pgDb(pool: pg.Pool, owned: boolean, prepare = true): Db {
  return {
    ...queryable(pool, prepare),
    async transaction(fn) {
      const client = await pool.connect()
      let broken: Error | undefined
      try {
        await client.query('BEGIN')
        const result = await fn(queryable(client, prepare))
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e // the connection is unusable: destroy it instead of returning it to the pool
        })
        throw error
      } finally {
        client.release(broken)
      }
    },
    async close() {
      if (owned) await pool.end()
    },
  }
}

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /** e.g. `postgres://user@db.internal:5432/consentry`; used when no `pool` is given. */
  connectionString?: string
  /** An existing pool to use; it is not ended by `close()`. */
  pool?: pg.Pool
  /** Schema holding Consentry's tables; created if missing. Default `public`. */
  schema?: string
  /**
   * Run the read path's statements as named prepared statements, parsed and planned once per
   * connection (default `true`; about 8 % less database CPU per read). Set `false` behind a pooler
   * that moves sessions between server connections without tracking prepared statements (PgBouncer
   * in transaction mode before 1.21, or without `max_prepared_statements`).
   */
  preparedStatements?: boolean
}

/**
 * A {@link Store} on PostgreSQL, shared safely by any number of server instances. Runs pending
 * migrations (serialised by an advisory lock) before resolving.
 *
 * @example
 * ```ts
 * import { postgresStore } from '@consentry/store-postgres'
 * const store = await postgresStore({ connectionString: process.env.DATABASE_URL, schema: 'consentry' })
 * const server = createConsentServer({ ...config, store })
 * // on shutdown
 * await store.close()
 * ```
 */
export async function postgresStore(options: PostgresStoreOptions = {}): Promise<Store> {
  const schema = options.schema ?? 'public'
  const owned = !options.pool
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString })
  if (owned) {
    // An idle connection dropped by the server emits 'error' on the pool; unhandled, that would
    // crash the process. The pool discards the connection and the next query opens a new one.
    pool.on('error', () => {})
  }
  return openStore(pgDb(pool, owned, options.preparedStatements !== false), schema)
}
