import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite'
import {
  type AuditEvent,
  appendPlan,
  auditLeafOf,
  type ClientRecord,
  type Grant,
  type GrantStatus,
  type NodeId,
} from '@consentry/core'
import { StoreError } from '../errors.ts'
import { claimCounts } from './claim.ts'
import { GroupCommit, type GroupCommitOptions } from './sqlite-batch.ts'
import { migrateSqlite } from './sqlite-schema.ts'
import type {
  AuditLogCheckpoint,
  AuditQuery,
  ClientLogo,
  FailureWindow,
  OutboxEvent,
  ReadQuotaResult,
  RecordKind,
  RefreshTokenRecord,
  Store,
  StoredRecord,
} from './store.ts'
import { CONSUMED_RECORD_RETENTION_MS, FAILURE_RETENTION_MS } from './store.ts'

/*
 * The SQLite store: one `node:sqlite` connection (`DatabaseSync`) to one file, in ONE process.
 *
 * Contract (how the Store's rules hold here):
 * - One process per database file. The file is opened with `locking_mode=EXCLUSIVE` and locked at
 *   once: a second process, or a second store in this process, fails to open it with
 *   `StoreError('store_locked')` instead of silently sharing it. Several server instances need
 *   PostgreSQL (`postgresStore`).
 * - Atomicity: `DatabaseSync` is synchronous, so a method whose statements run without an `await`
 *   between them cannot interleave with any other call in this process — with one process per file,
 *   that makes it atomic. Every method below reads and writes synchronously; the only `await` inside
 *   a method is `integrateAuditEvents`'s `seal`, which an in-process flag keeps to one sequencer.
 *   Read-then-write in JavaScript is therefore safe here (it is not in a store shared by instances).
 * - Durability: WAL; a write's promise resolves once its transaction is committed and the WAL file
 *   fsynced (`synchronous=FULL`'s guarantee, with the fsync run off the event loop: see
 *   `GroupCommit`), so an acknowledged write survives the process being killed, and power loss.
 * - Group commit: writes made during one event-loop turn share one transaction (`GroupCommit`), and
 *   the transactions committed while an fsync runs share the next fsync. Each write of several
 *   statements runs under its own SAVEPOINT (SQLite undoes a failed single statement by itself), so
 *   a failing write (a duplicate client id) rejects only its caller, while a failed COMMIT rejects
 *   every caller of the batch and keeps nothing.
 * - Reads see the connection's own writes at once, including those of the batch not yet committed
 *   (one process: nothing else can read the file).
 * - Two writes are acknowledged before their commit, as the Store contract allows because the caller
 *   follows each with a durable write before acting (WAL is written in order): the DPoP jti of
 *   `recordJtiAndGetGrant`, and the quota row of `consumeReadQuota` with `flushedByNextWrite`.
 * - The read-quota windows are also kept in memory (sorted times per key, loaded from the file on
 *   first use), so a check is a binary search instead of a count over every stored read. Valid only
 *   because no other process writes the file.
 */

/** Read-quota rows older than this are dropped by `deleteExpired` (quota windows are at most a day). */
const READ_QUOTA_RETENTION_MS = 48 * 3_600_000

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * The database file, created (with its parent directories, readable by this user only) if missing;
   * `':memory:'` for a throwaway database (tests). One process at a time may open a file.
   */
  path: string
}

type Row = Record<string, SQLOutputValue>
type Sqlite = typeof import('node:sqlite')

const num = (v: SQLOutputValue | undefined): number => Number(v)
const str = (v: SQLOutputValue | undefined): string => String(v)
/** NULL as `undefined`. */
const optNum = (v: SQLOutputValue | undefined) => (v === null || v === undefined ? undefined : Number(v))
const optStr = (v: SQLOutputValue | undefined) => (v === null || v === undefined ? undefined : String(v))
const parse = <T>(v: SQLOutputValue | undefined): T => JSON.parse(String(v)) as T
const blob = (v: SQLOutputValue | undefined): Uint8Array => new Uint8Array(v as Uint8Array)

/** The members whose value is defined: NULL columns become absent members, as in the memory store. */
function defined<T extends Record<string, unknown>>(members: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [key, value] of Object.entries(members))
    if (value !== undefined) out[key as keyof T] = value as T[keyof T]
  return out
}

const toGrant = (r: Row): Grant => ({
  id: str(r.id),
  clientId: str(r.client_id),
  subject: str(r.subject),
  status: str(r.status) as GrantStatus,
  authorizationDetails: parse(r.authorization_details),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
  expiresAt: num(r.expires_at),
  ...defined({ endedAt: optNum(r.ended_at), endedReason: optStr(r.ended_reason) }),
})

const toRefreshToken = (r: Row): RefreshTokenRecord => ({
  tokenHash: str(r.token_hash),
  grantId: str(r.grant_id),
  clientId: str(r.client_id),
  jkt: str(r.jkt),
  createdAt: num(r.created_at),
  expiresAt: num(r.expires_at),
  ...defined({ usedAt: optNum(r.used_at), revokedAt: optNum(r.revoked_at) }),
})

const toRecord = (r: Row): StoredRecord => ({
  kind: str(r.kind) as RecordKind,
  id: str(r.id),
  value: parse(r.value),
  expiresAt: num(r.expires_at),
  ...defined({ owner: optStr(r.owner), consumedAt: optNum(r.consumed_at) }),
})

/** A stored event row back to an event: `seq`, `index` once integrated, then the stored JSON. */
const toAuditEvent = (r: Row): AuditEvent =>
  ({
    seq: num(r.seq),
    ...(r.leaf_index === null ? {} : { index: num(r.leaf_index) }),
    ...parse<object>(r.event),
  }) as AuditEvent

const toCheckpoint = (r: Row): AuditLogCheckpoint => ({
  size: num(r.size),
  root: blob(r.root),
  note: str(r.note),
  createdAt: num(r.created_at),
})

const toOutboxEvent = (r: Row): OutboxEvent => ({
  id: str(r.id),
  clientId: str(r.client_id),
  grantId: str(r.grant_id),
  url: str(r.url),
  body: str(r.body),
  attempts: num(r.attempts),
  nextAttemptAt: num(r.next_attempt_at),
  createdAt: num(r.created_at),
})

const toFailureWindow = (r: Row, withPrevious: boolean): FailureWindow => ({
  count: num(r.count),
  firstAt: num(r.first_at),
  lastAt: num(r.last_at),
  ...defined({ previousAt: withPrevious ? optNum(r.prev_at) : undefined }),
})

const outboxParams = (e: OutboxEvent): SQLInputValue[] => [
  e.id,
  e.clientId,
  e.grantId,
  e.url,
  e.body,
  e.attempts,
  e.nextAttemptAt,
  e.createdAt,
]

/** Index of the first element of sorted `times` greater than `after`. */
function firstAfter(times: readonly number[], after: number): number {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (times[mid]! > after) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * The specifier in a variable: bundlers (esbuild, under tsup) would otherwise rewrite the literal to
 * `sqlite` — `node:sqlite` exists only with its prefix — or try to resolve it.
 */
const SQLITE_MODULE = 'node:sqlite'

/** `node:sqlite`, or a coded error on runtimes without it (Bun, Node before 22.13). */
async function loadSqlite(): Promise<Sqlite> {
  try {
    return (await import(SQLITE_MODULE)) as Sqlite
  } catch (cause) {
    throw new StoreError(
      'sqlite_unavailable',
      `sqliteStore needs node:sqlite (Node >= 22.13), which this runtime (${process.release?.name ?? 'unknown'} ` +
        `${process.version}) does not provide: use Node >= 22.13, or pgliteStore / postgresStore from @consentry/store-postgres`,
      { cause },
    )
  }
}

/** SQLITE_BUSY / SQLITE_LOCKED: another connection holds the file. */
const isLocked = (e: unknown) => {
  const code = (e as { errcode?: unknown } | null)?.errcode
  return typeof code === 'number' && ((code & 0xff) === 5 || (code & 0xff) === 6)
}

/** An open database: the connection, and how its WAL is made durable (absent in memory). */
interface OpenDatabase {
  db: DatabaseSync
  wal?: { sync: GroupCommitOptions['sync']; close: () => void }
}

/** Open the file: exclusive lock taken at once, WAL, migrated; the WAL file kept open to fsync it. */
function openDatabase(sqlite: Sqlite, path: string): OpenDatabase {
  const memory = path === ':memory:'
  if (!memory && !existsSync(path)) {
    // The file holds server secrets: created readable by this user only (WAL files inherit the mode).
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    writeFileSync(path, '', { mode: 0o600, flag: 'a' })
  }
  const db = new sqlite.DatabaseSync(path)
  try {
    // busy_timeout 0: a file held by someone else is refused at once, never waited for.
    db.exec('PRAGMA busy_timeout = 0')
    // Before WAL: in exclusive mode the WAL index lives in this process's memory (no -shm file).
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    db.exec('PRAGMA journal_mode = WAL')
    // Opening and migrating sync on every commit.
    db.exec('PRAGMA synchronous = FULL')
    // Take the exclusive lock now (kept until close), not at the first write; creates the WAL file.
    db.exec('BEGIN EXCLUSIVE; COMMIT')
    migrateSqlite(db)
  } catch (error) {
    db.close()
    if (isLocked(error))
      throw new StoreError(
        'store_locked',
        `the SQLite database ${path} is open in another process (or another store in this one): ` +
          'one process per database file; stop the other one, or use PostgreSQL for several instances',
        { cause: error },
      )
    throw error
  }
  if (memory) return { db }
  try {
    return { db, wal: durableWal(db, path) }
  } catch (error) {
    db.close()
    throw error
  }
}

/**
 * From here on commits write the WAL without syncing it, and GroupCommit fsyncs the WAL file before
 * acknowledging anything, off the event loop: FULL's durability without blocking the loop. In
 * exclusive WAL mode the -wal file lives (same inode) until the connection closes.
 */
function durableWal(db: DatabaseSync, path: string): NonNullable<OpenDatabase['wal']> {
  db.exec('PRAGMA synchronous = NORMAL')
  const fd = openSync(`${path}-wal`, 'r+')
  fsyncSync(fd)
  // The WAL file's directory entry too (the file may have just been created), once.
  const dir = openSync(dirname(path), 'r')
  try {
    fsyncSync(dir)
  } finally {
    closeSync(dir)
  }
  return { sync: (callback) => fsync(fd, callback), close: () => closeSync(fd) }
}

/**
 * A {@link Store} in one SQLite file through `node:sqlite` (built into Node >= 22.13, no
 * dependency): the embedded default of the demo holders. Durable: a write resolves once committed
 * and its write-ahead log fsynced (what `synchronous=FULL` gives, with the fsync off the event
 * loop). Group commit: the writes of one event-loop turn share one transaction, and the transactions
 * committed while an fsync runs share the next one.
 *
 * One process per database file: the file is locked when opened, and a second process (or a second
 * store in the same process) opening it fails at once with `StoreError` `store_locked`. For several
 * server instances use `postgresStore` (`@consentry/store-postgres`). On runtimes without
 * `node:sqlite` (Bun, older Node) it throws `StoreError` `sqlite_unavailable`; importing
 * `@consentry/server` never fails there. Node 22 and 24 print one `ExperimentalWarning` for
 * `node:sqlite` (see docs/stores.md).
 *
 * @example
 * ```ts
 * import { createConsentServer, sqliteStore } from '@consentry/server'
 * const store = await sqliteStore({ path: '.consentry/consentry.db' })
 * const server = await createConsentServer({ ...config, store })
 * // on shutdown
 * await store.close()
 * ```
 */
export async function sqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const sqlite = await loadSqlite()
  const { db, wal } = openDatabase(sqlite, options.path)
  // In memory, server secrets never reach a disk (no key-encryption key needed, as memoryStore).
  return wal ? openSqliteStore(db, { wal }) : openSqliteStore(db, { ephemeral: true })
}

/**
 * The store over an open, migrated connection; `wal` fsyncs its write-ahead log (absent: commits are
 * final at once), `ephemeral` says nothing reaches a disk. Exported for tests that wrap the
 * connection to provoke failures; applications use {@link sqliteStore}.
 */
export function openSqliteStore(
  db: DatabaseSync,
  { wal, ephemeral = false }: { wal?: NonNullable<OpenDatabase['wal']>; ephemeral?: boolean } = {},
): Store {
  /** Read-quota times per key, sorted, mirroring the `read_quota` rows of that key. */
  const quotaTimes = new Map<string, number[]>()
  /**
   * Seqs up to `committedSeq` are committed; the sequencer seals only those (see
   * integrateAuditEvents). `batchSeq`: the highest seq written so far, committed or not.
   */
  let committedSeq = 0
  let batchSeq = 0
  const batch = new GroupCommit(db, {
    ...(wal ? { sync: wal.sync } : {}),
    committed: () => {
      committedSeq = batchSeq
    },
    rolledBack: () => {
      batchSeq = committedSeq
      quotaTimes.clear()
    },
  })
  let closed = false
  let sequencing = false

  const statements = new Map<string, StatementSync>()
  /** A prepared statement, prepared once per SQL text. */
  const sql = (text: string): StatementSync => {
    let s = statements.get(text)
    if (!s) {
      s = db.prepare(text)
      statements.set(text, s)
    }
    return s
  }
  committedSeq = num(sql('SELECT coalesce(max(seq), 0) AS s FROM audit_events').get()?.s)
  batchSeq = committedSeq
  /** A write of several statements, atomic under its savepoint. */
  const write = <T>(fn: () => T) => batch.write(fn)
  /** A write of one statement (nothing after it throws); `acknowledgeAtOnce`: see GroupCommit. */
  const writeOne = <T>(fn: () => T, acknowledgeAtOnce = false) =>
    batch.write(fn, { oneStatement: true, acknowledgeAtOnce })

  // ---- single-use records -----------------------------------------------------------------------
  const getRecord = (kind: RecordKind, id: string) =>
    sql('SELECT * FROM records WHERE kind = ? AND id = ?').get(kind, id)

  const records: Pick<Store, 'saveRecord' | 'findRecord' | 'consumeRecord' | 'deleteRecord'> = {
    saveRecord(r) {
      // A consumed record is never revived: the update applies only while consumed_at IS NULL.
      return writeOne(() => {
        sql(
          `INSERT INTO records (kind, id, value, owner, expires_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (kind, id) DO UPDATE SET
             value = excluded.value, owner = excluded.owner, expires_at = excluded.expires_at
           WHERE records.consumed_at IS NULL`,
        ).run(r.kind, r.id, JSON.stringify(r.value), r.owner ?? null, r.expiresAt)
      })
    },
    async findRecord(kind, id, now) {
      const r = sql(
        'SELECT * FROM records WHERE kind = ? AND id = ? AND expires_at > ? AND consumed_at IS NULL',
      ).get(kind, id, now)
      return r ? toRecord(r) : null
    },
    consumeRecord(kind, id, now, owner) {
      // Read, decide and mark in one synchronous step: nothing can run in between.
      return writeOne(() => {
        const r = getRecord(kind, id)
        if (!r) return null
        const record = toRecord(r)
        // Another party's record is left exactly as it was, whatever its state.
        if (owner !== undefined && record.owner !== undefined && record.owner !== owner)
          return { status: 'wrong_owner' as const, record }
        if (record.consumedAt !== undefined) return { status: 'consumed' as const, record }
        if (record.expiresAt <= now) return null
        sql('UPDATE records SET consumed_at = ? WHERE kind = ? AND id = ?').run(now, kind, id)
        return { status: 'ok' as const, record: { ...record, consumedAt: now } }
      })
    },
    deleteRecord(kind, id) {
      return writeOne(() => {
        sql('DELETE FROM records WHERE kind = ? AND id = ?').run(kind, id)
      })
    },
  }

  // ---- refresh tokens -----------------------------------------------------------------------------
  const upsertRefreshToken = (t: RefreshTokenRecord) =>
    sql(
      `INSERT INTO refresh_tokens
         (token_hash, grant_id, client_id, jkt, created_at, expires_at, used_at, revoked_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (token_hash) DO UPDATE SET
         grant_id = excluded.grant_id, client_id = excluded.client_id, jkt = excluded.jkt,
         created_at = excluded.created_at, expires_at = excluded.expires_at,
         used_at = excluded.used_at, revoked_at = excluded.revoked_at`,
    ).run(
      t.tokenHash,
      t.grantId,
      t.clientId,
      t.jkt,
      t.createdAt,
      t.expiresAt,
      t.usedAt ?? null,
      t.revokedAt ?? null,
    )
  const revokeTokens = (grantId: string, at: number) =>
    sql('UPDATE refresh_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL').run(at, grantId)
  /** A plain INSERT: an id already queued throws (and the caller's savepoint undoes its step). */
  const insertOutbox = (e: OutboxEvent) =>
    sql(
      `INSERT INTO outbox (id, client_id, grant_id, url, body, attempts, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...outboxParams(e))
  const getGrantRow = (id: string) => sql('SELECT * FROM grants WHERE id = ?').get(id)

  // ---- read quota -----------------------------------------------------------------------------------
  /** The key's stored read times, sorted (loaded from the file on first use). */
  const timesOf = (key: string): number[] => {
    let times = quotaTimes.get(key)
    if (!times) {
      times = sql('SELECT at FROM read_quota WHERE grant_id = ? ORDER BY at')
        .all(key)
        .map((r) => num(r.at))
      quotaTimes.set(key, times)
    }
    return times
  }
  const recordRead = (key: string, at: number) => {
    sql('INSERT INTO read_quota (grant_id, at) VALUES (?, ?)').run(key, at)
    const times = quotaTimes.get(key)
    if (times) times.splice(firstAfter(times, at), 0, at)
  }
  /** consumeReadQuota's work, inside a write (also a claim's, in recordJtiAndGetGrant). */
  const consume = (key: string, now: number, limit: number, windowMs: number): ReadQuotaResult => {
    const times = timesOf(key)
    const first = firstAfter(times, now - windowMs)
    const used = times.length - first
    if (used >= limit) {
      const oldest = times[first] ?? now
      return { allowed: false, retryAfterMs: Math.max(1, oldest + windowMs - now) }
    }
    recordRead(key, now)
    return { allowed: true, used: used + 1 }
  }

  // ---- audit log ------------------------------------------------------------------------------------
  const auditFilters = (q: AuditQuery) => {
    const where: string[] = []
    const params: SQLInputValue[] = []
    const byIndex = q.afterIndex !== undefined || q.belowIndex !== undefined
    const add = (clause: string, value?: SQLInputValue) => {
      where.push(clause)
      if (value !== undefined) params.push(value)
    }
    if (q.afterSeq !== undefined) add('seq > ?', q.afterSeq)
    if (byIndex) add('leaf_index IS NOT NULL')
    if (q.pending) add('leaf_index IS NULL')
    if (q.afterIndex !== undefined) add('leaf_index > ?', q.afterIndex)
    if (q.belowIndex !== undefined) add('leaf_index < ?', q.belowIndex)
    if (q.grantId !== undefined) add('grant_id = ?', q.grantId)
    if (q.subject !== undefined) add('subject = ?', q.subject)
    if (q.clientId !== undefined) add('client_id = ?', q.clientId)
    if (q.types !== undefined) add('type IN (SELECT value FROM json_each(?))', JSON.stringify(q.types))
    if (q.limit !== undefined) params.push(q.limit)
    const text =
      `SELECT seq, leaf_index, event FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY ${byIndex ? 'leaf_index' : 'seq'}${q.limit !== undefined ? ' LIMIT ?' : ''}`
    return { text, params }
  }
  const nodeHashes = (nodes: readonly NodeId[]) =>
    nodes.map((n) => {
      const r = sql('SELECT hash FROM audit_tree WHERE level = ? AND idx = ?').get(n.level, n.index)
      return r ? blob(r.hash) : undefined
    })

  const store: Store = {
    ...records,
    ...(ephemeral ? { ephemeral: true } : {}),

    // ---- clients ------------------------------------------------------------------------------
    createClient(client) {
      return write(() => {
        if (sql('SELECT 1 FROM clients WHERE client_id = ?').get(client.clientId))
          throw new Error('client already exists')
        sql('INSERT INTO clients (client_id, record, created_at, name_skeleton) VALUES (?, ?, ?, ?)').run(
          client.clientId,
          JSON.stringify(client),
          client.createdAt,
          client.nameSkeleton ?? null,
        )
      })
    },
    async getClient(clientId) {
      const r = sql('SELECT record FROM clients WHERE client_id = ?').get(clientId)
      return r ? parse<ClientRecord>(r.record) : null
    },
    async findClientsByNameSkeleton(skeleton, limit) {
      return sql('SELECT record FROM clients WHERE name_skeleton = ? ORDER BY created_at, client_id LIMIT ?')
        .all(skeleton, limit)
        .map((r) => parse<ClientRecord>(r.record))
    },
    saveClientLogo(logo) {
      return writeOne(() => {
        sql(
          `INSERT INTO client_logos (client_id, content_type, data, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (client_id) DO UPDATE SET
             content_type = excluded.content_type, data = excluded.data, created_at = excluded.created_at`,
        ).run(logo.clientId, logo.contentType, logo.bytes, logo.createdAt)
      })
    },
    async getClientLogo(clientId): Promise<ClientLogo | null> {
      const r = sql('SELECT * FROM client_logos WHERE client_id = ?').get(clientId)
      if (!r) return null
      return {
        clientId: str(r.client_id),
        contentType: str(r.content_type),
        bytes: blob(r.data),
        createdAt: num(r.created_at),
      }
    },

    // ---- grants -------------------------------------------------------------------------------
    createGrant(g) {
      return write(() => {
        if (getGrantRow(g.id)) throw new Error('grant already exists')
        sql(
          `INSERT INTO grants (id, client_id, subject, status, authorization_details,
             created_at, updated_at, expires_at, ended_at, ended_reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          g.id,
          g.clientId,
          g.subject,
          g.status,
          JSON.stringify(g.authorizationDetails),
          g.createdAt,
          g.updatedAt,
          g.expiresAt,
          g.endedAt ?? null,
          g.endedReason ?? null,
        )
      })
    },
    async getGrant(grantId) {
      const r = getGrantRow(grantId)
      return r ? toGrant(r) : null
    },
    transitionGrant(grantId, from, patch, effects = {}) {
      // Compare-and-set and its effects in one step; an effect that throws (an outbox id already
      // queued) undoes the whole step through its savepoint.
      return write(() => {
        const r = getGrantRow(grantId)
        if (!r || !from.includes(str(r.status) as GrantStatus)) return null
        if (effects.ifUpdatedAt !== undefined && num(r.updated_at) !== effects.ifUpdatedAt) return null
        const updated = sql(
          `UPDATE grants SET
             status = coalesce(?, status),
             authorization_details = coalesce(?, authorization_details),
             expires_at = coalesce(?, expires_at),
             updated_at = ?,
             ended_at = coalesce(?, ended_at),
             ended_reason = coalesce(?, ended_reason)
           WHERE id = ? RETURNING *`,
        ).get(
          patch.status ?? null,
          patch.authorizationDetails === undefined ? null : JSON.stringify(patch.authorizationDetails),
          patch.expiresAt ?? null,
          patch.updatedAt,
          patch.endedAt ?? null,
          patch.endedReason ?? null,
          grantId,
        )!
        if (effects.revokeRefreshTokensAt !== undefined) revokeTokens(grantId, effects.revokeRefreshTokensAt)
        if (effects.outbox) insertOutbox(effects.outbox)
        return toGrant(updated)
      })
    },
    async listGrants({ subject, clientId }) {
      const where = [subject !== undefined && 'subject = ?', clientId !== undefined && 'client_id = ?']
        .filter(Boolean)
        .join(' AND ')
      const params = [subject, clientId].filter((p): p is string => p !== undefined)
      return sql(`SELECT * FROM grants ${where ? `WHERE ${where}` : ''} ORDER BY created_at DESC, id`)
        .all(...params)
        .map(toGrant)
    },
    async listExpiringGrants(now, limit) {
      return sql(
        `SELECT * FROM grants WHERE status IN ('active', 'pending') AND expires_at <= ?
         ORDER BY expires_at, id LIMIT ?`,
      )
        .all(now, limit)
        .map(toGrant)
    },
    async listGrantsToRemind(now, before, limit) {
      return sql(
        `SELECT * FROM grants
         WHERE status = 'active' AND expires_at > ? AND expires_at <= ? AND reminded_for IS NOT expires_at
         ORDER BY expires_at, id LIMIT ?`,
      )
        .all(now, before, limit)
        .map(toGrant)
    },
    markGrantReminded(grantId, expiresAt, event) {
      return write(() => {
        const marked = sql(
          // Anonymous parameters only: Node 22.13's node:sqlite fails to bind numbered ones (?1)
          // used more than once ("column index out of range").
          `UPDATE grants SET reminded_for = ?
           WHERE id = ? AND status = 'active' AND expires_at = ? AND reminded_for IS NOT ?`,
        ).run(expiresAt, grantId, expiresAt, expiresAt)
        if (marked.changes === 0) return false
        if (event) insertOutbox(event)
        return true
      })
    },

    // ---- refresh tokens -----------------------------------------------------------------------
    saveRefreshToken(token) {
      return writeOne(() => void upsertRefreshToken(token))
    },
    async getRefreshToken(tokenHash) {
      const r = sql('SELECT * FROM refresh_tokens WHERE token_hash = ?').get(tokenHash)
      return r ? toRefreshToken(r) : null
    },
    rotateRefreshToken(oldHash, next, now) {
      return write(() => {
        const r = sql('SELECT * FROM refresh_tokens WHERE token_hash = ?').get(oldHash)
        if (!r) return null
        const token = toRefreshToken(r)
        if (token.revokedAt !== undefined) return null
        if (token.usedAt !== undefined) return { status: 'reused' as const, token }
        if (token.expiresAt <= now) return null
        sql('UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?').run(now, oldHash)
        upsertRefreshToken(next)
        return { status: 'ok' as const, token: { ...token, usedAt: now } }
      })
    },
    revokeRefreshTokens(grantId, now) {
      return writeOne(() => void revokeTokens(grantId, now))
    },

    // ---- replay protection --------------------------------------------------------------------
    recordJti(key, expiresAt) {
      return writeOne(
        () =>
          sql('INSERT INTO jtis (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(
            key,
            expiresAt,
          ).changes === 1,
      )
    },
    recordJtiAndGetGrant(key, expiresAt, grantId, claim) {
      // The jti insert-if-absent, the grant read and a claimed read's count in one synchronous step.
      // Acknowledged before its commit: the read that follows commits its audit event durably before
      // serving anything.
      return writeOne(() => {
        const r = getGrantRow(grantId)
        const grant = r ? toGrant(r) : null
        const firstUse =
          sql('INSERT INTO jtis (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(
            key,
            expiresAt,
          ).changes === 1
        if (!claim || !firstUse || !grant || !claimCounts(grant, claim)) return { firstUse, grant }
        return { firstUse, grant, quota: consume(claim.key, claim.now, claim.limit, claim.windowMs) }
      }, true)
    },

    // ---- rate limits --------------------------------------------------------------------------
    async consumeReadQuota(grantId, now, limit, windowMs, options) {
      // Counted and recorded in the same synchronous call: no other read can slip in between.
      return writeOne(() => consume(grantId, now, limit, windowMs), options?.flushedByNextWrite === true)
    },
    releaseReadQuota(key, at) {
      return writeOne(() => {
        const gone =
          sql(
            'DELETE FROM read_quota WHERE rowid = (SELECT rowid FROM read_quota WHERE grant_id = ? AND at = ? LIMIT 1)',
          ).run(key, at).changes === 1
        const times = quotaTimes.get(key)
        if (gone && times) {
          const i = times.lastIndexOf(at)
          if (i >= 0) times.splice(i, 1)
        }
      })
    },

    // ---- server secrets -----------------------------------------------------------------------
    getOrCreateSecret(name, create) {
      // Through the batch even when found: the value is returned once committed.
      return write(() => {
        const r = sql('SELECT value FROM secrets WHERE name = ?').get(name)
        if (r) return str(r.value)
        const value = create()
        sql('INSERT INTO secrets (name, value) VALUES (?, ?)').run(name, value)
        return value
      })
    },
    replaceSecret(name, expected, value) {
      return writeOne(
        () =>
          sql('UPDATE secrets SET value = ? WHERE name = ? AND value = ?').run(value, name, expected)
            .changes === 1,
      )
    },

    // ---- audit log ------------------------------------------------------------------------------
    appendAuditEvent(given) {
      const text = JSON.stringify(auditLeafOf(given))
      return writeOne(() => {
        const seq = num(
          sql(
            'INSERT INTO audit_events (type, grant_id, client_id, subject, event) VALUES (?, ?, ?, ?, ?) RETURNING seq',
          ).get(given.type, given.grant_id ?? null, given.client_id ?? null, given.subject ?? null, text)
            ?.seq,
        )
        batchSeq = Math.max(batchSeq, seq)
        return { seq, ...JSON.parse(text) } as AuditEvent
      })
    },
    async listAuditEvents(q) {
      const { text, params } = auditFilters(q)
      return sql(text)
        .all(...params)
        .map(toAuditEvent)
    },
    async integrateAuditEvents(limit, seal) {
      // One sequencer at a time (one process per file: an in-process flag is the lock).
      if (sequencing) return null
      sequencing = true
      try {
        const head = sql('SELECT size FROM audit_checkpoints ORDER BY size DESC LIMIT 1').get()
        // Only committed events: a batch that fails to commit cannot leave a checkpoint over events
        // it lost (seqs grow in commit order, so "committed" is "seq <= committedSeq").
        const rows = sql(
          'SELECT seq, leaf_index, event FROM audit_events WHERE leaf_index IS NULL AND seq <= ? ORDER BY seq LIMIT ?',
        ).all(committedSeq, limit)
        if (rows.length === 0 && head) return null
        const size = head ? num(head.size) : 0
        const plan = appendPlan(size)
        const edge = nodeHashes(plan).map((hash, i) => {
          if (!hash) throw new Error(`audit tree node ${plan[i]!.level}/${plan[i]!.index} is missing`)
          return hash
        })
        const events = rows.map(toAuditEvent)
        const sealed = await seal({ size, events, edge })
        return await write(() => {
          const place = sql('UPDATE audit_events SET leaf_index = ? WHERE seq = ?')
          for (const [i, e] of events.entries()) place.run(size + i, e.seq)
          const node = sql('INSERT INTO audit_tree (level, idx, hash) VALUES (?, ?, ?)')
          for (const n of sealed.nodes) node.run(n.level, n.index, n.hash)
          const cp = sealed.checkpoint
          sql('INSERT INTO audit_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)').run(
            cp.size,
            cp.root,
            cp.note,
            cp.createdAt,
          )
          return { ...cp, root: cp.root.slice() }
        })
      } finally {
        sequencing = false
      }
    },
    async getAuditCheckpoint() {
      const r = sql('SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1').get()
      return r ? toCheckpoint(r) : null
    },
    async getAuditNodes(nodes) {
      return nodeHashes(nodes).map((hash, i) => {
        if (!hash) throw new Error(`audit tree node ${nodes[i]!.level}/${nodes[i]!.index} is not stored`)
        return hash
      })
    },

    // ---- outbox -------------------------------------------------------------------------------
    enqueueEvent(e) {
      return writeOne(() => {
        sql(
          `INSERT INTO outbox (id, client_id, grant_id, url, body, attempts, next_attempt_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at`,
        ).run(...outboxParams(e))
      })
    },
    claimEvents(now, limit, leaseMs) {
      return writeOne(() =>
        sql(
          `UPDATE outbox SET next_attempt_at = ?
           WHERE id IN (SELECT id FROM outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?)
           RETURNING *`,
        )
          .all(now + leaseMs, now, limit)
          .map(toOutboxEvent)
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)),
      )
    },
    rescheduleEvent(id, attempts, nextAttemptAt) {
      return writeOne(() => {
        sql('UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?').run(
          attempts,
          nextAttemptAt,
          id,
        )
      })
    },
    deleteEvent(id) {
      return writeOne(() => {
        sql('DELETE FROM outbox WHERE id = ?').run(id)
      })
    },

    // ---- sign-in failures ---------------------------------------------------------------------
    recordFailure(key, now, windowMs) {
      // A window that opened at or before now - windowMs restarts at count 1.
      return writeOne(() => {
        const r = sql(
          // Anonymous parameters only (see markGrantReminded); `opened` is now - windowMs.
          `INSERT INTO sign_in_failures AS f (key, count, first_at, last_at, prev_at)
           VALUES (?, 1, ?, ?, NULL)
           ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN f.first_at <= ? THEN 1 ELSE f.count + 1 END,
             prev_at = CASE WHEN f.first_at <= ? THEN NULL ELSE f.last_at END,
             first_at = CASE WHEN f.first_at <= ? THEN ? ELSE f.first_at END,
             last_at = ?
           RETURNING count, first_at, last_at, prev_at`,
        ).get(key, now, now, now - windowMs, now - windowMs, now - windowMs, now, now)!
        return toFailureWindow(r, true)
      })
    },
    async getFailures(key, now, windowMs) {
      const r = sql('SELECT * FROM sign_in_failures WHERE key = ? AND first_at > ?').get(key, now - windowMs)
      return r ? toFailureWindow(r, false) : null
    },
    forgiveFailure(key) {
      return writeOne(() => {
        sql('UPDATE sign_in_failures SET count = max(count - 1, 0) WHERE key = ?').run(key)
      })
    },
    clearFailures(key) {
      return writeOne(() => {
        sql('DELETE FROM sign_in_failures WHERE key = ?').run(key)
      })
    },

    // ---- housekeeping -------------------------------------------------------------------------
    deleteExpired(now) {
      return write(() => {
        // Unconsumed records go at expiry; consumed ones a day later (a code replay is still reported).
        sql(`DELETE FROM records WHERE (consumed_at IS NULL AND expires_at <= ?) OR expires_at <= ?`).run(
          now,
          now - CONSUMED_RECORD_RETENTION_MS,
        )
        sql('DELETE FROM jtis WHERE expires_at <= ?').run(now)
        const before = now - READ_QUOTA_RETENTION_MS
        sql('DELETE FROM read_quota WHERE at <= ?').run(before)
        for (const [key, times] of quotaTimes) {
          times.splice(0, firstAfter(times, before))
          if (times.length === 0) quotaTimes.delete(key)
        }
        sql('DELETE FROM sign_in_failures WHERE last_at <= ?').run(now - FAILURE_RETENTION_MS)
      })
    },
    async close() {
      if (closed) return
      closed = true
      try {
        await batch.close()
      } finally {
        wal?.close()
        db.close()
      }
    },
  }
  return store
}
