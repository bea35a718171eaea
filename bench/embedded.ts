/**
 * The store work of one resource read on the embedded candidates, in-process, no HTTP: the DPoP jti
 * insert + grant lookup, the read-quota count-and-record, and one audit insert (what the audit append
 * becomes with the insert-only transparency log). Durable commits on both: PGlite as `pgliteStore`
 * opens it (fsync on), SQLite (`node:sqlite`, Node ≥ 22.13) in WAL mode with `synchronous=FULL`
 * (and, for reference, `NORMAL`, which is not durable against power loss); then `sqliteStore`
 * itself, one read after the other (each waits for its own WAL fsync: latency, not throughput).
 *
 *   node --conditions=source --import tsx bench/embedded.ts [reads=2000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteStore } from '@consentry/server'
import { openPglite, pgliteStore } from '@consentry/store-postgres'

const READS = Number(process.argv[2] ?? 2000)
const dir = mkdtempSync(join(tmpdir(), 'consentry-embedded-'))
const T = Date.now()
const grant = {
  id: 'g1',
  clientId: 'c1',
  subject: 'alice',
  status: 'active' as const,
  authorizationDetails: [],
  createdAt: T,
  updatedAt: T,
  expiresAt: T + 86_400_000,
}
const event = JSON.stringify({
  type: 'data.read',
  grant_id: 'g1',
  client_id: 'c1',
  at: T,
  data: { records: 100 },
})
const rows: string[] = []
const line = (name: string, ms: number) => {
  rows.push(
    `| ${name} | Node ${process.version} | ${READS} | ${((ms * 1000) / READS).toFixed(0)} | ${((READS / ms) * 1000).toFixed(0)} |`,
  )
  console.error(rows.at(-1))
}

{
  const pg = await openPglite(join(dir, 'pglite'))
  const store = await pgliteStore({ pglite: pg })
  await store.createGrant(grant)
  await pg.exec('CREATE TABLE audit_log (id bigserial PRIMARY KEY, grant_id text, event json NOT NULL)')
  const t0 = performance.now()
  for (let i = 0; i < READS; i++) {
    await store.recordJtiAndGetGrant(`dpop:k:${i}`, T + 120_000, 'g1')
    await store.consumeReadQuota('attended:g1', T + i, 1_000_000, 86_400_000, { flushedByNextWrite: true })
    await pg.query('INSERT INTO audit_log (grant_id, event) VALUES ($1, $2)', ['g1', event])
  }
  line('PGlite (durable: the audit insert commits synchronously), 3 statements', performance.now() - t0)
  await store.close()
  await pg.close()
}

let sqlite: typeof import('node:sqlite') | undefined
try {
  sqlite = await import('node:sqlite')
} catch {
  console.error(`node:sqlite is not available on Node ${process.version}`)
}
if (sqlite) {
  for (const sync of ['FULL', 'FULL for the audit insert only', 'NORMAL']) {
    const last = sync.startsWith('FULL for')
    const db = new sqlite.DatabaseSync(join(dir, `sqlite-${rows.length}.db`))
    db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=${last ? 'NORMAL' : sync};
      CREATE TABLE grants (id TEXT PRIMARY KEY, status TEXT, body TEXT);
      CREATE TABLE jtis (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE TABLE read_quota (id INTEGER PRIMARY KEY, grant_id TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE INDEX read_quota_grant_at ON read_quota (grant_id, at);
      CREATE TABLE audit_log (id INTEGER PRIMARY KEY, grant_id TEXT, event TEXT NOT NULL);`)
    db.prepare('INSERT INTO grants VALUES (?, ?, ?)').run('g1', 'active', JSON.stringify(grant))
    const jti = db.prepare('INSERT INTO jtis VALUES (?, ?) ON CONFLICT DO NOTHING')
    const get = db.prepare('SELECT * FROM grants WHERE id = ?')
    const count = db.prepare('SELECT count(*) AS n FROM read_quota WHERE grant_id = ? AND at > ?')
    const record = db.prepare('INSERT INTO read_quota (grant_id, at) VALUES (?, ?)')
    const audit = db.prepare('INSERT INTO audit_log (grant_id, event) VALUES (?, ?)')
    const t0 = performance.now()
    for (let i = 0; i < READS; i++) {
      // Same commits as the SQL store: jti+grant, quota (its own transaction), audit.
      if (last) db.exec('PRAGMA synchronous=NORMAL')
      jti.run(`dpop:k:${i}`, T + 120_000)
      get.get('g1')
      db.exec('BEGIN IMMEDIATE')
      count.get('attended:g1', T + i - 86_400_000)
      record.run('attended:g1', T + i)
      db.exec('COMMIT')
      // In WAL mode a FULL commit syncs the WAL up to it, earlier NORMAL commits included.
      if (last) db.exec('PRAGMA synchronous=FULL')
      audit.run('g1', event)
    }
    line(`SQLite (node:sqlite, WAL, synchronous=${sync}), 3 commits`, performance.now() - t0)
    db.close()
  }
  // The store as the server calls it on a read: jti + grant and the quota row acknowledged at once,
  // the audit append waiting for its commit and the WAL fsync.
  const store = await sqliteStore({ path: join(dir, 'store', 'consentry.db') })
  await store.createGrant(grant)
  const t0 = performance.now()
  for (let i = 0; i < READS; i++) {
    await store.recordJtiAndGetGrant(`dpop:k:${i}`, T + 120_000, 'g1')
    await store.consumeReadQuota('attended:g1', T + i, 1_000_000, 86_400_000, { flushedByNextWrite: true })
    await store.appendAuditEvent({
      id: `e${i}`,
      at: new Date(T).toISOString(),
      type: 'data.read',
      actor: { type: 'client', id: 'c1' },
      grant_id: 'g1',
      data: { records: 100 },
    })
  }
  line('sqliteStore (group commit, WAL fsync off the event loop), one read at a time', performance.now() - t0)
  await store.close()
}
rmSync(dir, { recursive: true, force: true })
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
console.log('| store | runtime | reads | µs per read (store work) | reads/s |\n|---|---|---:|---:|---:|')
console.log(rows.join('\n'))
