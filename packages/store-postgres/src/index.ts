/**
 * `@consentry/store-postgres` — the production {@link Store} for Consentry on PostgreSQL, and the same
 * SQL embedded in-process through PGlite (the demos' embedded default is `sqliteStore` from
 * `@consentry/server`; see docs/stores.md).
 *
 * @example
 * ```ts
 * import { pgliteStore, postgresStore } from '@consentry/store-postgres'
 * const store = process.env.DATABASE_URL
 *   ? await postgresStore({ connectionString: process.env.DATABASE_URL })
 *   : await pgliteStore() // .consentry/db
 * ```
 */
export type { Store } from '@consentry/server'
export { MIGRATIONS, type Migration } from './migrations.ts'
export { type PostgresStoreOptions, postgresStore } from './pg.ts'
export { DEFAULT_PGLITE_DIR, openPglite, type PgliteStoreOptions, pgliteStore } from './pglite.ts'
