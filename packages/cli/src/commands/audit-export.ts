import { parseArgs } from 'node:util'
import type { Store } from '@consentry/server'
import { usage } from '../args.ts'
import { type AtomicFile, openAtomic } from '../files.ts'
import { type Command, type Io, UsageError } from '../io.ts'
import { openEmbeddedStore } from '../stores.ts'

/** Where the demo holder (examples/payment-provider) keeps its embedded database. */
export const DEFAULT_DATA_DIR = '.consentry/harbor-pay'
/** The demo holders' SQLite database, inside their data directory. */

/** Lines are written in chunks of about this many characters. */
const CHUNK = 64 * 1024

/**
 * `consentry audit export`: stream a data holder's audit trail out of its store as JSON Lines (the
 * format `consentry audit verify` reads). Exit 0 written, 1 failure, 2 usage error (no database, no
 * log id).
 */
export const auditExport: Command = {
  name: ['audit', 'export'],
  summary: "export a data holder's audit trail from its database (JSON Lines)",
  usage: `Usage: consentry audit export [--data-dir <dir> | --database-url <url>] [--schema <name>]
                              [--out <file>]

  Reads the audit log from the holder's store and writes it as JSON Lines (export version 2): the
  newest signed checkpoint, then every event it covers with its inclusion proof, to stdout or
  atomically to --out (mode 0600). Events not yet integrated are left for the next export. Verify:
    consentry audit verify <file> --key "<audit_log.verifier_key from the holder's metadata>"

  --data-dir <dir>        the embedded database's directory (default ${DEFAULT_DATA_DIR}): SQLite
                          (<dir>/consentry.db, the demo holders') or PGlite; stop the holder
                          first: one process at a time may open it
  --database-url <url>    a PostgreSQL database instead (default: $DATABASE_URL when set)
  --schema <name>         the schema holding the tables (default public)
  --out <file>            write here instead of stdout

  Exit status: 0 exported, 1 failure, 2 usage error (no database, log id unknown).
`,
  async run(args, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args,
        options: {
          'data-dir': { type: 'string' },
          'database-url': { type: 'string' },
          schema: { type: 'string' },
          out: { type: 'string' },
        },
        strict: true,
        allowPositionals: true,
      }),
    )
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
    if (values['data-dir'] !== undefined && values['database-url'] !== undefined)
      throw new UsageError('give --data-dir or --database-url, not both')
    const schema = values.schema
    if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema))
      throw new UsageError('--schema must be a plain identifier (letters, digits, _)')

    // Open the output first: a bad --out fails before the database is touched.
    const out = values.out === undefined ? undefined : await openOut(values.out)
    let store: Store | undefined
    try {
      store = await openStore(values['data-dir'], values['database-url'], schema)
      const checkpoint = await store.getAuditCheckpoint()
      if (!checkpoint) throw new UsageError('the store has no signed checkpoint yet: start the holder once')
      const { exportAuditLog } = await import('@consentry/server')
      const counts = await writeLines(exportAuditLog({ store, checkpoint }), out, io)
      await out?.commit()
      if (values.out !== undefined) {
        const origin = checkpoint.note.split('\n')[0]
        io.stdout(
          `${values.out}: log "${origin}", ${counts.events} events under a checkpoint of size ${checkpoint.size}\n` +
            `verify: consentry audit verify ${values.out} --key "<audit_log.verifier_key>"   (from the holder's /.well-known/oauth-authorization-server)\n`,
        )
      }
      return 0
    } catch (error) {
      await out?.abort()
      throw error
    } finally {
      await store?.close()
    }
  },
}

async function openOut(path: string): Promise<AtomicFile> {
  try {
    return await openAtomic(path)
  } catch (error) {
    throw new UsageError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
}

/**
 * PostgreSQL when a URL is given (flag, else $DATABASE_URL unless --data-dir), else the embedded
 * database in the directory: SQLite (`consentry.db`, the demo holders') or PGlite.
 */
async function openStore(dataDir: string | undefined, databaseUrl: string | undefined, schema?: string) {
  const { postgresStore } = await import('@consentry/store-postgres')
  const url = databaseUrl ?? (dataDir === undefined ? process.env.DATABASE_URL || undefined : undefined)
  const schemaOption = schema === undefined ? {} : { schema }
  if (url !== undefined) return postgresStore({ connectionString: url, ...schemaOption })
  return (await openEmbeddedStore(dataDir ?? DEFAULT_DATA_DIR, { create: false, ...schemaOption })).store
}

/** Write the lines to the file, or to stdout in chunks that wait for it to drain. */
async function writeLines(lines: AsyncIterable<string>, out: AtomicFile | undefined, io: Io) {
  const counts = { events: 0, checkpoints: 0 }
  let chunk = ''
  const flush = async () => {
    if (chunk === '') return
    if (out) await out.write(chunk)
    else {
      io.stdout(chunk)
      await io.drain?.()
    }
    chunk = ''
  }
  let first = true
  for await (const line of lines) {
    if (!first) {
      if (line.startsWith('{"checkpoint":')) counts.checkpoints++
      else counts.events++
    }
    first = false
    chunk += `${line}\n`
    if (chunk.length >= CHUNK) await flush()
  }
  await flush()
  return counts
}
