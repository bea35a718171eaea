import { mkdirSync } from 'node:fs'
import type { Store } from '@consentry/server'
import type { PGlite, Transaction } from '@electric-sql/pglite'
import type { Db, Queryable, Row } from './db.ts'
import { openStore } from './store.ts'

/** Where the embedded database lives unless told otherwise (relative to the working directory). */
export const DEFAULT_PGLITE_DIR = '.consentry/db'

const parsers = {
  20: (value: string) => Number(value), // int8: epoch ms, seq, count(*)
  114: (value: string) => JSON.parse(value), // json
  3802: (value: string) => JSON.parse(value), // jsonb
}

function queryable(runner: Pick<PGlite | Transaction, 'query' | 'exec'>): Queryable {
  return {
    async query<R = Row>(sql: string, params: readonly unknown[] = []) {
      return (await runner.query<R>(sql, [...params], { parsers })).rows
    },
    async exec(sql) {
      await runner.exec(sql)
    },
  }
}

/**
 * A {@link Db} over one PGlite instance. PGlite is a single connection: `transaction` holds it
 * exclusively, so other queries wait for COMMIT — the same isolation PostgreSQL gives with locks.
 */
export function pgliteDb(pg: PGlite, owned: boolean): Db {
  return {
    ...queryable(pg),
    transaction: (fn) => pg.transaction((tx) => fn(queryable(tx))),
    async close() {
      if (owned) await pg.close()
    },
  }
}

/**
 * Open (or create) an embedded database the way {@link pgliteStore} does: parent directories made,
 * durable commits. Useful to share one PGlite between Consentry and the application (pass it as
 * `pglite`; then close it yourself).
 *
 * Durability: PGlite runs PostgreSQL with `fsync=on` and `synchronous_commit=on`, and on Node its
 * NODEFS writes straight into `dataDir`, so a COMMIT's WAL has been written before the query
 * resolves and survives the process being killed. `relaxedDurability: false` (PGlite's default) is
 * passed explicitly: `true` would resolve queries before the filesystem sync, trading acknowledged
 * writes for speed.
 *
 * @example
 * ```ts
 * const db = await openPglite('.consentry/db')
 * const store = await pgliteStore({ pglite: db })
 * ```
 */
export async function openPglite(dataDir: string = DEFAULT_PGLITE_DIR): Promise<PGlite> {
  // PGlite creates only the last path segment; make the parents (`.consentry/`).
  if (!dataDir.includes('://')) mkdirSync(dataDir, { recursive: true })
  const { PGlite } = await import('@electric-sql/pglite')
  return PGlite.create(dataDir, { relaxedDurability: false })
}

/** Options of {@link pgliteStore}. */
export interface PgliteStoreOptions {
  /**
   * Directory of the embedded database (created if missing), or `memory://` for a throwaway one.
   * Default `.consentry/db`. One process at a time may open a directory.
   */
  dataDir?: string
  /** Use an already open PGlite instead (not closed by `close()`); `dataDir` is then ignored. */
  pglite?: PGlite
  /** Schema for the tables; default `public`. Lets several stores share one PGlite (tests). */
  schema?: string
}

/**
 * A {@link Store} on embedded PostgreSQL (PGlite, in-process WebAssembly), running the same SQL as
 * {@link postgresStore} (the demos' embedded default is `sqliteStore`, cheaper per request). For
 * one server process; use PostgreSQL for several. A committed write survives a crash of the process
 * (see {@link openPglite}).
 *
 * @example
 * ```ts
 * import { pgliteStore } from '@consentry/store-postgres'
 * const store = await pgliteStore() // .consentry/db
 * const testStore = await pgliteStore({ dataDir: 'memory://' })
 * ```
 */
export async function pgliteStore(options: PgliteStoreOptions = {}): Promise<Store> {
  const schema = options.schema ?? 'public'
  let pg = options.pglite
  const owned = !pg
  if (!pg) pg = await openPglite(options.dataDir ?? DEFAULT_PGLITE_DIR)
  return openStore(pgliteDb(pg, owned), schema)
}
