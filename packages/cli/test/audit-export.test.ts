/**
 * `consentry audit export` against stores a real data holder wrote: Harbor Pay (the demo holder) on
 * its SQLite database, on PGlite in a directory and on PostgreSQL, a real recipient linking and reading over HTTP, a signed
 * checkpoint; then the export is verified with `consentry audit verify` and the holder's published
 * note verifier key (audit_log.verifier_key in its metadata).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Store, sqliteStore } from '@consentry/server'
import { pgliteStore, postgresStore } from '@consentry/store-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startHarborPay } from '../../../examples/payment-provider/src/app.ts'
import { link, registerRecipient, resourceGet } from '../../../test/helpers/recipient.ts'
import { run } from './helpers/run.ts'

const DATABASE_URL =
  process.env.CONSENTRY_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'consentry-cli-export-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/**
 * Run the holder on `store` while a recipient registers, links and reads, then checkpoint, read once
 * more and checkpoint again; close the holder and the store. Returns the issuer, the log origin and its note verifier key.
 */
async function history(store: Store, name: string) {
  const holder = await startHarborPay({ store, port: 0, publicHost: '127.0.0.1', maintenance: false })
  try {
    const recipient = await registerRecipient(holder.issuer)
    const { tokens, DPoP } = await link(holder.issuer, recipient)
    const read = () => resourceGet(tokens.access_token, `${holder.issuer}/api/accounts`, DPoP)
    expect((await read()).status).toBe(200)
    expect(await holder.server.audit.checkpoint()).toBeTruthy()
    expect((await read()).status).toBe(200)
    await holder.server.audit.checkpoint()
    const metadata = await (await fetch(`${holder.issuer}/.well-known/oauth-authorization-server`)).json()
    void name
    return {
      issuer: holder.issuer,
      jwks: metadata.audit_log.verifier_key as string,
      origin: metadata.audit_log.origin as string,
    }
  } finally {
    await holder.close()
    await store.close()
  }
}

/** The same file with one event's data changed. */
async function tamper(file: string) {
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n')
  const i = lines.findIndex((l, n) => n > 1 && l.startsWith('{"index":'))
  expect(i).toBeGreaterThan(1)
  const entry = JSON.parse(lines[i]!)
  const event = JSON.parse(Buffer.from(entry.leaf, 'base64').toString('utf8'))
  event.data = { ...event.data, edited: true }
  lines[i] = JSON.stringify({ ...entry, leaf: Buffer.from(JSON.stringify(event)).toString('base64') })
  const copy = `${file}.tampered`
  await writeFile(copy, `${lines.join('\n')}\n`)
  return copy
}

describe('consentry audit export from the demo holder’s SQLite database', () => {
  let dataDir: string
  let jwks: string

  beforeAll(async () => {
    dataDir = join(dir, 'harbor-pay-sqlite')
    ;({ jwks } = await history(await sqliteStore({ path: join(dataDir, 'consentry.db') }), 'sqlite'))
  })

  it('exports <dir>/consentry.db; the export verifies', async () => {
    const file = join(dir, 'sqlite.jsonl')
    const exported = await run('audit', 'export', '--data-dir', dataDir, '--out', file)
    expect(exported).toMatchObject({ code: 0, stderr: '' })
    const verified = await run('audit', 'verify', file, '--key', jwks)
    expect(verified.stdout).toMatch(/^OK: every entry is proven against the signed checkpoint$/m)
    expect(verified.code).toBe(0)
  })

  it('fails (exit 1, store_locked) while the holder still has it open; --schema is refused', async () => {
    const open = await sqliteStore({ path: join(dataDir, 'consentry.db') })
    try {
      const locked = await run('audit', 'export', '--data-dir', dataDir)
      expect(locked.code).toBe(1)
      expect(locked.stderr).toContain('one process per database file')
    } finally {
      await open.close()
    }
    const schema = await run('audit', 'export', '--data-dir', dataDir, '--schema', 'consentry')
    expect(schema.code).toBe(2)
    expect(schema.stderr).toContain('--schema is for PostgreSQL and PGlite')
  })
})

describe('consentry audit export from a PGlite directory', () => {
  let dataDir: string
  let origin: string
  let jwks: string

  beforeAll(async () => {
    dataDir = join(dir, 'harbor-pay')
    ;({ origin, jwks } = await history(await pgliteStore({ dataDir }), 'pglite'))
  })

  it('writes an export that verifies with the holder’s published verifier key; a tampered copy does not', async () => {
    const file = join(dir, 'pglite.jsonl')
    const exported = await run('audit', 'export', '--data-dir', dataDir, '--out', file)
    expect(exported.stderr).toBe('')
    expect(exported.code).toBe(0)
    expect(exported.stdout).toContain(`log "${origin}"`)
    expect(exported.stdout).toContain('--key')
    expect((await stat(file)).mode & 0o777).toBe(0o600)

    const text = await readFile(file, 'utf8')
    const lines = text.trimEnd().split('\n')
    // The origin is read from the newest checkpoint.
    expect(JSON.parse(lines[0]!)).toEqual({ consentry_audit_export: 2, origin })
    expect(lines.filter((l) => l.startsWith('{"checkpoint":'))).toHaveLength(1)
    expect(
      lines.some(
        (l) =>
          l.startsWith('{"index":') &&
          Buffer.from(JSON.parse(l).leaf, 'base64').toString().includes('"type":"data.read"'),
      ),
    ).toBe(true)

    const verified = await run('audit', 'verify', file, '--key', jwks)
    expect(verified.stdout).toMatch(/^OK: every entry is proven against the signed checkpoint$/m)
    expect(verified.code).toBe(0)

    const tampered = await run('audit', 'verify', await tamper(file), '--key', jwks)
    expect(tampered.stdout).toMatch(/edited_event/)
    expect(tampered.code).toBe(1)

    // To stdout: the same lines; no temporary files are left behind.
    const toStdout = await run('audit', 'export', '--data-dir', dataDir)
    expect(toStdout).toMatchObject({ code: 0, stderr: '' })
    expect(toStdout.stdout).toBe(text)
    const { readdir } = await import('node:fs/promises')
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('exits 2 for a directory without a database, bad flags', async () => {
    const empty = join(dir, 'not-a-database')
    const missing = await run('audit', 'export', '--data-dir', empty)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain(`no database in ${empty}`)
    await expect(stat(empty)).rejects.toThrow() // and none was created

    for (const argv of [
      ['--data-dir', dataDir, '--database-url', DATABASE_URL],
      ['--data-dir', dataDir, '--schema', 'x; drop table y'],
      ['--data-dir', dataDir, 'extra'],
      ['--data-dir', dataDir, '--out', join(dir, 'no-such-dir', 'a.jsonl')],
    ]) {
      const result = await run('audit', 'export', ...argv)
      expect(result.code, argv.join(' ')).toBe(2)
      expect(result.stderr).toContain('Usage: consentry audit export')
    }
  })

  it('exits 2 when the store has no signed checkpoint yet', async () => {
    const fresh = join(dir, 'fresh')
    await (await pgliteStore({ dataDir: fresh })).close()
    const unknown = await run('audit', 'export', '--data-dir', fresh)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('no signed checkpoint yet')
  })
})

describe('consentry audit export from PostgreSQL', () => {
  const schema = `cli_export_${process.pid}_${Date.now()}`
  let origin: string
  let jwks: string

  beforeAll(async () => {
    ;({ origin, jwks } = await history(await postgresStore({ connectionString: DATABASE_URL, schema }), 'pg'))
  })
  afterAll(async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL })
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
  })

  it('exports with --database-url and --schema; the export verifies, a tampered copy does not', async () => {
    const file = join(dir, 'pg.jsonl')
    const exported = await run(
      'audit',
      'export',
      '--database-url',
      DATABASE_URL,
      '--schema',
      schema,
      '--out',
      file,
    )
    expect(exported.stderr).toBe('')
    expect(exported.code).toBe(0)
    expect(JSON.parse((await readFile(file, 'utf8')).split('\n')[0]!).origin).toBe(origin)

    const verified = await run('audit', 'verify', file, '--key', jwks)
    expect(verified.code).toBe(0)
    expect(verified.stdout).toContain(`log "${origin}"`)
    expect((await run('audit', 'verify', await tamper(file), '--key', jwks)).code).toBe(1)
  })

  it('takes the database from $DATABASE_URL when no flag names one', async () => {
    vi.stubEnv('DATABASE_URL', DATABASE_URL)
    try {
      const result = await run('audit', 'export', '--schema', schema)
      expect(result).toMatchObject({ code: 0, stderr: '' })
      expect(result.stdout).toBe(await readFile(join(dir, 'pg.jsonl'), 'utf8'))
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
