import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Store } from '@consentry/server'
import { UsageError } from './io.ts'

/** The SQLite file inside a data directory (the demo holders' and `consentry serve --data-dir`'s). */
export const SQLITE_FILE = 'consentry.db'

const isFile = async (path: string) => (await stat(path).catch(() => null))?.isFile() === true

/**
 * The embedded database in `dir`: SQLite (`<dir>/consentry.db`), or a PGlite directory written by an
 * earlier release (it has `PG_VERSION`), kept as it is. With neither: a new SQLite database when
 * `create`, else a usage error (opening a directory must not create an empty database there).
 * `schema` is PGlite's (SQLite has none).
 */
export async function openEmbeddedStore(
  dir: string,
  options: { create: boolean; schema?: string },
): Promise<{ store: Store; kind: 'SQLite' | 'PGlite' }> {
  const sqlite = join(dir, SQLITE_FILE)
  const pglite = (await isFile(sqlite)) ? false : await isFile(join(dir, 'PG_VERSION'))
  if (pglite) {
    const { pgliteStore } = await import('@consentry/store-postgres')
    const schema = options.schema === undefined ? {} : { schema: options.schema }
    return { store: await pgliteStore({ dataDir: dir, ...schema }), kind: 'PGlite' }
  }
  if (options.schema !== undefined)
    throw new UsageError('--schema is for PostgreSQL and PGlite, not a SQLite database')
  if (!options.create && !(await isFile(sqlite)))
    throw new UsageError(`no database in ${dir} (give --data-dir or --database-url)`)
  const { sqliteStore } = await import('@consentry/server')
  return { store: await sqliteStore({ path: sqlite }), kind: 'SQLite' }
}
