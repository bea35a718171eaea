import {
  type AuditEvent,
  type AuditEventDraft,
  appendPlan,
  auditLeafOf,
  type ClientRecord,
  type Grant,
  type GrantStatus,
} from '@consentry/core'
import type {
  AuditLogCheckpoint,
  ClientLogo,
  OutboxEvent,
  ReadClaim,
  ReadQuotaResult,
  RecordKind,
  RefreshTokenRecord,
  Store,
  StoredRecord,
} from '@consentry/server'
import { CONSUMED_RECORD_RETENTION_MS, FAILURE_RETENTION_MS, type FailureWindow } from '@consentry/server'
import { type Db, int8, type Queryable, quoteIdent, type Row } from './db.ts'
import { grouped } from './group.ts'
import { migrate } from './migrations.ts'

/** Read-quota rows older than this are dropped by `deleteExpired` (quota windows are at most a day). */
const READ_QUOTA_RETENTION_MS = 48 * 3_600_000

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505'
const isUniqueViolation = (e: unknown) => (e as { code?: unknown } | null)?.code === UNIQUE_VIOLATION

const json = (value: unknown) => JSON.stringify(value)
/** `null` columns become absent members, as in the memory store. */
const opt = (value: unknown) => (value === null || value === undefined ? undefined : int8(value))
const optText = (value: unknown) => (value === null || value === undefined ? undefined : String(value))

function toGrant(r: Row): Grant {
  const g: Grant = {
    id: String(r.id),
    clientId: String(r.client_id),
    subject: String(r.subject),
    status: r.status as GrantStatus,
    authorizationDetails: r.authorization_details as Grant['authorizationDetails'],
    createdAt: int8(r.created_at),
    updatedAt: int8(r.updated_at),
    expiresAt: int8(r.expires_at),
  }
  const endedAt = opt(r.ended_at)
  const endedReason = optText(r.ended_reason)
  if (endedAt !== undefined) g.endedAt = endedAt
  if (endedReason !== undefined) g.endedReason = endedReason
  return g
}

/** consume_read_quota's row (allowed, used, oldest) → the Store's answer. */
function quotaAnswer(
  allowed: boolean,
  used: unknown,
  oldest: unknown,
  now: number,
  windowMs: number,
): ReadQuotaResult {
  if (allowed) return { allowed: true, used: int8(used) }
  const from = oldest === null || oldest === undefined || oldest === '' ? now : int8(oldest)
  return { allowed: false, retryAfterMs: Math.max(1, from + windowMs - now) }
}

/** The same row as text, as read_gate returns it: `(t,3,)`, `(f,5,1700000000000)`. */
function quotaOf(text: string, now: number, windowMs: number): ReadQuotaResult {
  const [allowed, used, oldest] = text.slice(1, -1).split(',')
  return quotaAnswer(allowed === 't', used, oldest, now, windowMs)
}

function toRefreshToken(r: Row): RefreshTokenRecord {
  const t: RefreshTokenRecord = {
    tokenHash: String(r.token_hash),
    grantId: String(r.grant_id),
    clientId: String(r.client_id),
    jkt: String(r.jkt),
    createdAt: int8(r.created_at),
    expiresAt: int8(r.expires_at),
  }
  const usedAt = opt(r.used_at)
  const revokedAt = opt(r.revoked_at)
  if (usedAt !== undefined) t.usedAt = usedAt
  if (revokedAt !== undefined) t.revokedAt = revokedAt
  return t
}

const bytes = (value: unknown): Uint8Array => {
  if (value instanceof Uint8Array) return new Uint8Array(value)
  // Some drivers hand bytea back as '\\x…' text.
  const text = String(value)
  return Uint8Array.from(Buffer.from(text.startsWith('\\x') ? text.slice(2) : text, 'hex'))
}
const hexOf = (value: Uint8Array) => Buffer.from(value).toString('hex')

const toCheckpoint = (r: Row): AuditLogCheckpoint => ({
  size: int8(r.size),
  root: bytes(r.root),
  note: String(r.note),
  createdAt: int8(r.created_at),
})

/** A stored event row back to an event: the stored JSON (old rows: without their chain members). */
function toAuditEvent(r: Row): AuditEvent {
  const {
    seq: _seq,
    prev_hash: _prev,
    hash: _hash,
    index: _index,
    ...stored
  } = r.event as Record<string, unknown>
  return {
    seq: int8(r.seq),
    ...(r.leaf_index === null || r.leaf_index === undefined ? {} : { index: int8(r.leaf_index) }),
    ...stored,
  } as AuditEvent
}

const toFailureWindow = (r: Row): FailureWindow => {
  const w: FailureWindow = { count: Number(r.count), firstAt: int8(r.first_at), lastAt: int8(r.last_at) }
  const previousAt = opt(r.prev_at)
  if (previousAt !== undefined) w.previousAt = previousAt
  return w
}

const toRecord = (r: Row): StoredRecord => {
  const record: StoredRecord = {
    kind: r.kind as RecordKind,
    id: String(r.id),
    value: r.value as Record<string, unknown>,
    expiresAt: int8(r.expires_at),
  }
  const owner = optText(r.owner)
  const consumedAt = opt(r.consumed_at)
  if (owner !== undefined) record.owner = owner
  if (consumedAt !== undefined) record.consumedAt = consumedAt
  return record
}

const toOutboxEvent = (r: Row): OutboxEvent => ({
  id: String(r.id),
  clientId: String(r.client_id),
  grantId: String(r.grant_id),
  url: String(r.url),
  body: String(r.body),
  attempts: Number(r.attempts),
  nextAttemptAt: int8(r.next_attempt_at),
  createdAt: int8(r.created_at),
})

/** Migrate `schema`, then serve it as a {@link Store}; the connection is closed if migration fails. */
export async function openStore(db: Db, schema: string): Promise<Store> {
  try {
    await migrate(db, schema)
  } catch (error) {
    await db.close()
    throw error
  }
  return sqlStore(db, schema)
}

/**
 * The {@link Store} over any {@link Db} (pg pool or PGlite), on tables in `schema` (already migrated).
 * Every atomic operation is one conditional statement or one transaction holding a lock; see the
 * package README for the list.
 */
export function sqlStore(db: Db, schema: string): Store {
  const s = quoteIdent(schema)
  const t = (table: string) => `${s}.${table}`
  const lockKey = (name: string) => `consentry:${schema}:${name}`
  // The read path's statements, prepared once per connection (fixed result columns).
  const READ_FLIGHT = `SELECT n, first_use, quota, grant_row, seq FROM ${t('read_flight')}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
  const CONSUME_READ_QUOTA = `SELECT * FROM ${t('consume_read_quota')}($1, $2, $3, $4, $5, $6)`

  // ---- the read gate and the audit appends: one flight ----------------------------------------------
  type Gate = { key: string; expiresAt: number; grantId: string; claim: ReadClaim | undefined }
  type GateAnswer = { firstUse: boolean; grant: Grant | null; quota?: ReadQuotaResult }
  type Call = { gate: Gate; draft?: never } | { draft: AuditEventDraft; gate?: never }
  /**
   * Group commit for the resource read's two writes, the read gate (its first statement) and the
   * audit appends (every event, a read's last statement): while {@link FLIGHTS} flights are in the
   * air, the calls of both kinds arriving meanwhile go together in the next — ONE statement
   * (read_flight, migration 14; seven PL/pgSQL statements for a read and its event since migration
   * 15), one round trip, one transaction, one lock of a grant's quota row for all its reads. The
   * transaction commits synchronously whenever it holds an audit event, so each caller's promise
   * settles only once what it wrote is as durable as it was with a statement of its own. A lone call
   * goes at once.
   *
   * FLIGHTS: one leaves the cores idle while a synchronous commit waits for its WAL flush. Side by
   * side (bench/README.md, "Signatures off the event loop, one flight"), per-round ratios to the jose
   * server were 0.45/0.45/0.46 and 0.39/0.44/0.49 with one, 0.47/0.45/0.52 and 0.44/0.45/0.51 with
   * two, 0.48/0.51/0.47 with three. Two: most of the gain, one more pooled connection held.
   */
  const FLIGHTS = 2
  const flight = grouped(
    1000,
    async (batch: Call[]): Promise<(GateAnswer | AuditEvent | Error)[]> => {
      const gates: Gate[] = []
      const drafts: AuditEventDraft[] = []
      for (const c of batch) {
        if (c.gate) gates.push(c.gate)
        else drafts.push(c.draft)
      }
      const rows = await db.query(
        READ_FLIGHT,
        [
          gates.map((q) => q.key),
          gates.map((q) => q.expiresAt),
          gates.map((q) => q.grantId),
          gates.map((q) => q.claim?.key ?? null),
          gates.map((q) => q.claim?.clientId ?? null),
          gates.map((q) => q.claim?.now ?? null),
          gates.map((q) => q.claim?.limit ?? null),
          gates.map((q) => q.claim?.windowMs ?? null),
          drafts.map((d) => d.type),
          drafts.map((d) => d.grant_id ?? null),
          drafts.map((d) => d.client_id ?? null),
          drafts.map((d) => d.subject ?? null),
          drafts.map((d) => json(d)),
        ],
        { prepared: true },
      )
      const gated = new Map<number, Row>()
      const seqs: number[] = []
      for (const r of rows) {
        if (r.n !== null && r.n !== undefined) gated.set(int8(r.n), r)
        else seqs.push(int8(r.seq))
      }
      let g = 0
      let d = 0
      return batch.map((c) => {
        if (c.draft) {
          const seq = seqs[d++]
          return seq === undefined
            ? new Error('read_flight returned no seq for an audit event')
            : { seq, ...c.draft }
        }
        const q = c.gate
        const r = gated.get(++g)
        if (!r) return new Error('read_flight returned no row for a request')
        const grant = r.grant_row ? toGrant(r.grant_row as Row) : null
        const quota =
          typeof r.quota === 'string' && q.claim ? quotaOf(r.quota, q.claim.now, q.claim.windowMs) : undefined
        return { firstUse: r.first_use === true, grant, ...(quota ? { quota } : {}) }
      })
    },
    FLIGHTS,
  )
  const gate = (g: Gate) => flight({ gate: g }) as Promise<GateAnswer>
  const append = (draft: AuditEventDraft) => flight({ draft }) as Promise<AuditEvent>

  const upsertRefreshToken = (q: Queryable, r: RefreshTokenRecord) =>
    q.query(
      `INSERT INTO ${t('refresh_tokens')}
         (token_hash, grant_id, client_id, jkt, created_at, expires_at, used_at, revoked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (token_hash) DO UPDATE SET
         grant_id = excluded.grant_id, client_id = excluded.client_id, jkt = excluded.jkt,
         created_at = excluded.created_at, expires_at = excluded.expires_at,
         used_at = excluded.used_at, revoked_at = excluded.revoked_at`,
      [
        r.tokenHash,
        r.grantId,
        r.clientId,
        r.jkt,
        r.createdAt,
        r.expiresAt,
        r.usedAt ?? null,
        r.revokedAt ?? null,
      ],
    )

  return {
    // ---- clients ------------------------------------------------------------------------------
    async createClient(client) {
      try {
        await db.query(
          `INSERT INTO ${t('clients')} (client_id, record, created_at, name_skeleton)
           VALUES ($1, $2::json, $3, $4)`,
          [client.clientId, json(client), client.createdAt, client.nameSkeleton ?? null],
        )
      } catch (e) {
        if (isUniqueViolation(e)) throw new Error('client already exists')
        throw e
      }
    },
    async getClient(clientId) {
      const [r] = await db.query(`SELECT record FROM ${t('clients')} WHERE client_id = $1`, [clientId])
      return r ? (r.record as ClientRecord) : null
    },
    async findClientsByNameSkeleton(skeleton, limit) {
      const rows = await db.query(
        `SELECT record FROM ${t('clients')} WHERE name_skeleton = $1 ORDER BY created_at, client_id LIMIT $2`,
        [skeleton, limit],
      )
      return rows.map((r) => r.record as ClientRecord)
    },
    async saveClientLogo(logo) {
      // base64 text rather than bytea: identical on pg and PGlite, and a logo is at most 256 KiB.
      await db.query(
        `INSERT INTO ${t('client_logos')} (client_id, content_type, data, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (client_id) DO UPDATE SET
           content_type = excluded.content_type, data = excluded.data, created_at = excluded.created_at`,
        [logo.clientId, logo.contentType, Buffer.from(logo.bytes).toString('base64'), logo.createdAt],
      )
    },
    async getClientLogo(clientId): Promise<ClientLogo | null> {
      const [r] = await db.query(`SELECT * FROM ${t('client_logos')} WHERE client_id = $1`, [clientId])
      if (!r) return null
      return {
        clientId: String(r.client_id),
        contentType: String(r.content_type),
        bytes: new Uint8Array(Buffer.from(String(r.data), 'base64')),
        createdAt: int8(r.created_at),
      }
    },

    // ---- single-use records: pushed requests, interactions, codes, sessions -------------------
    async saveRecord(r) {
      // The conflict update's WHERE keeps a consumed record as it is (never revived).
      await db.query(
        `INSERT INTO ${t('records')} AS r (kind, id, value, owner, expires_at) VALUES ($1, $2, $3::json, $4, $5)
         ON CONFLICT (kind, id) DO UPDATE SET
           value = excluded.value, owner = excluded.owner, expires_at = excluded.expires_at
         WHERE r.consumed_at IS NULL`,
        [r.kind, r.id, json(r.value), r.owner ?? null, r.expiresAt],
      )
    },
    async findRecord(kind, id, now) {
      const [r] = await db.query(
        `SELECT * FROM ${t('records')} WHERE kind = $1 AND id = $2 AND consumed_at IS NULL AND expires_at > $3`,
        [kind, id, now],
      )
      return r ? toRecord(r) : null
    },
    async consumeRecord(kind, id, now, owner) {
      // The conditional UPDATE is the single-use gate: under concurrency PostgreSQL re-checks
      // `consumed_at IS NULL` after the winner commits, so exactly one caller gets the row. The owner
      // check is in the same statement: a stranger's attempt never marks the record.
      const [won] = await db.query(
        `UPDATE ${t('records')} SET consumed_at = $3
         WHERE kind = $1 AND id = $2 AND consumed_at IS NULL AND expires_at > $3
           AND ($4::text IS NULL OR owner IS NULL OR owner = $4)
         RETURNING *`,
        [kind, id, now, owner ?? null],
      )
      if (won) return { status: 'ok', record: toRecord(won) }
      // Lost or not eligible: a read (never a write) tells another owner's, consumed before (reuse:
      // report it), and unknown or expired unconsumed (null) apart.
      const [r] = await db.query(`SELECT * FROM ${t('records')} WHERE kind = $1 AND id = $2`, [kind, id])
      if (!r) return null
      const record = toRecord(r)
      if (owner !== undefined && record.owner !== undefined && record.owner !== owner)
        return { status: 'wrong_owner', record }
      return record.consumedAt !== undefined ? { status: 'consumed', record } : null
    },
    async deleteRecord(kind, id) {
      await db.query(`DELETE FROM ${t('records')} WHERE kind = $1 AND id = $2`, [kind, id])
    },

    // ---- grants -------------------------------------------------------------------------------
    async createGrant(g) {
      try {
        await db.query(
          `INSERT INTO ${t('grants')} (id, client_id, subject, status, authorization_details,
             created_at, updated_at, expires_at, ended_at, ended_reason)
           VALUES ($1, $2, $3, $4, $5::json, $6, $7, $8, $9, $10)`,
          [
            g.id,
            g.clientId,
            g.subject,
            g.status,
            json(g.authorizationDetails),
            g.createdAt,
            g.updatedAt,
            g.expiresAt,
            g.endedAt ?? null,
            g.endedReason ?? null,
          ],
        )
      } catch (e) {
        if (isUniqueViolation(e)) throw new Error('grant already exists')
        throw e
      }
    },
    async getGrant(grantId) {
      const [r] = await db.query(`SELECT * FROM ${t('grants')} WHERE id = $1`, [grantId])
      return r ? toGrant(r) : null
    },
    transitionGrant(grantId, from, patch, effects = {}) {
      // Compare-and-set in one statement; absent patch members keep the stored value. With effects,
      // the transition, the refresh-token revocation and the outbox row commit together or not at all.
      const run = async (q: Queryable) => {
        const [r] = await q.query(
          `UPDATE ${t('grants')} SET
             status = COALESCE($3, status),
             authorization_details = COALESCE($4::json, authorization_details),
             expires_at = COALESCE($5, expires_at),
             updated_at = $6,
             ended_at = COALESCE($7, ended_at),
             ended_reason = COALESCE($8, ended_reason)
           WHERE id = $1 AND status = ANY($2::text[]) AND ($9::bigint IS NULL OR updated_at = $9)
           RETURNING *`,
          [
            grantId,
            [...from],
            patch.status ?? null,
            patch.authorizationDetails === undefined ? null : json(patch.authorizationDetails),
            patch.expiresAt ?? null,
            patch.updatedAt,
            patch.endedAt ?? null,
            patch.endedReason ?? null,
            effects.ifUpdatedAt ?? null,
          ],
        )
        if (!r) return null
        if (effects.revokeRefreshTokensAt !== undefined)
          await q.query(
            `UPDATE ${t('refresh_tokens')} SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL`,
            [grantId, effects.revokeRefreshTokensAt],
          )
        const e = effects.outbox
        if (e)
          // A plain INSERT: an id already queued fails the whole transaction.
          await q.query(
            `INSERT INTO ${t('outbox')} (id, client_id, grant_id, url, body, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            [e.id, e.clientId, e.grantId, e.url, e.body, e.attempts, e.nextAttemptAt, e.createdAt],
          )
        return toGrant(r)
      }
      return effects.outbox || effects.revokeRefreshTokensAt !== undefined ? db.transaction(run) : run(db)
    },
    async listGrants({ subject, clientId }) {
      const where: string[] = []
      const params: unknown[] = []
      if (subject !== undefined) where.push(`subject = $${params.push(subject)}`)
      if (clientId !== undefined) where.push(`client_id = $${params.push(clientId)}`)
      const rows = await db.query(
        `SELECT * FROM ${t('grants')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at DESC, id`,
        params,
      )
      return rows.map(toGrant)
    },
    async listExpiringGrants(now, limit) {
      const rows = await db.query(
        `SELECT * FROM ${t('grants')} WHERE status IN ('active', 'pending') AND expires_at <= $1
         ORDER BY expires_at, id LIMIT $2`,
        [now, limit],
      )
      return rows.map(toGrant)
    },
    async listGrantsToRemind(now, before, limit) {
      // The grants_expiring partial index (migration 3) covers active grants by expires_at.
      const rows = await db.query(
        `SELECT * FROM ${t('grants')}
         WHERE status = 'active' AND expires_at > $1 AND expires_at <= $2
           AND reminded_for IS DISTINCT FROM expires_at
         ORDER BY expires_at, id LIMIT $3`,
        [now, before, limit],
      )
      return rows.map(toGrant)
    },
    markGrantReminded(grantId, expiresAt, event) {
      // Compare-and-set on (status, expiry, not yet reminded of it); the outbox row commits with it.
      const run = async (q: Queryable) => {
        const [r] = await q.query(
          `UPDATE ${t('grants')} SET reminded_for = $2
           WHERE id = $1 AND status = 'active' AND expires_at = $2
             AND reminded_for IS DISTINCT FROM $2
           RETURNING id`,
          [grantId, expiresAt],
        )
        if (!r) return false
        if (event)
          await q.query(
            `INSERT INTO ${t('outbox')} (id, client_id, grant_id, url, body, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            [
              event.id,
              event.clientId,
              event.grantId,
              event.url,
              event.body,
              event.attempts,
              event.nextAttemptAt,
              event.createdAt,
            ],
          )
        return true
      }
      return event ? db.transaction(run) : run(db)
    },

    // ---- refresh tokens -----------------------------------------------------------------------
    async saveRefreshToken(token) {
      await upsertRefreshToken(db, token)
    },
    async getRefreshToken(tokenHash) {
      const [r] = await db.query(`SELECT * FROM ${t('refresh_tokens')} WHERE token_hash = $1`, [tokenHash])
      return r ? toRefreshToken(r) : null
    },
    rotateRefreshToken(oldHash, next, now) {
      return db.transaction(async (tx) => {
        // The conditional UPDATE takes the row lock; a concurrent rotation waits, re-checks
        // `used_at IS NULL` once we commit, and falls through to `reused`.
        const [won] = await tx.query(
          `UPDATE ${t('refresh_tokens')} SET used_at = $2
           WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
           RETURNING *`,
          [oldHash, now],
        )
        if (won) {
          await upsertRefreshToken(tx, next)
          return { status: 'ok' as const, token: toRefreshToken(won) }
        }
        const [r] = await tx.query(`SELECT * FROM ${t('refresh_tokens')} WHERE token_hash = $1`, [oldHash])
        if (!r || r.revoked_at !== null) return null
        return r.used_at !== null ? { status: 'reused' as const, token: toRefreshToken(r) } : null
      })
    },
    async revokeRefreshTokens(grantId, now) {
      await db.query(
        `UPDATE ${t('refresh_tokens')} SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL`,
        [grantId, now],
      )
    },

    // ---- replay protection --------------------------------------------------------------------
    async recordJti(key, expiresAt) {
      const rows = await db.query(
        `INSERT INTO ${t('jtis')} (key, expires_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`,
        [key, expiresAt],
      )
      return rows.length === 1
    },
    recordJtiAndGetGrant(key, expiresAt, grantId, claim) {
      // One statement for the requests of a moment, in the flight that also carries the audit
      // appends of the moment (read_flight; since migration 15 it does the gate's work itself): per
      // request the jti insert-if-absent, the grant read under a fresh snapshot, and a claimed read
      // counted (count_read) in the same transaction. The jti table is an ordinary (logged,
      // unique-keyed) table: a replay is refused by every instance and after any restart; a key
      // twice in one group is first used once (the second insert sees the first).
      //
      // A flight of gate calls alone does not wait for the WAL flush (synchronous_commit off for that
      // transaction; one holding an audit event waits): the read that follows commits its audit event
      // synchronously, and WAL is flushed in order, so by the time data is served this jti (and its
      // counted read) is durable too. A crash can lose only the jti of a request that served nothing
      // (it failed before its audit event), whose replay can only fail the same way within the
      // proof's 60 s iat window.
      return gate({ key, expiresAt, grantId, claim })
    },

    // ---- rate limits --------------------------------------------------------------------------
    async consumeReadQuota(grantId, now, limit, windowMs, options) {
      // One round trip: consume_read_quota (migration 13; through count_read since migration 15)
      // locks the key's count row, moves it to this call's window and records the read inside one
      // statement's transaction, in constant time (each read leaves a window once); each statement
      // of the PL/pgSQL function takes a fresh snapshot, so it sees every read committed before the
      // lock was granted.
      // (p_lock, the second argument, is unused since migration 13: kept for the signature.)
      const [r] = await db.query(
        CONSUME_READ_QUOTA,
        [grantId, '', now, limit, windowMs, options?.flushedByNextWrite === true],
        { prepared: true },
      )
      return quotaAnswer(r?.allowed === true, r?.used, r?.oldest, now, windowMs)
    },
    async releaseReadQuota(key, at) {
      await db.query(`SELECT ${t('release_read_quota')}($1, $2)`, [key, at])
    },

    // ---- server secrets -----------------------------------------------------------------------
    async getOrCreateSecret(name, create) {
      const select = `SELECT value FROM ${t('secrets')} WHERE name = $1`
      const [existing] = await db.query(select, [name])
      if (existing) return String(existing.value)
      // Insert-if-absent decides the race; the loser reads the winner's value.
      const [inserted] = await db.query(
        `INSERT INTO ${t('secrets')} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value`,
        [name, create()],
      )
      if (inserted) return String(inserted.value)
      const [winner] = await db.query(select, [name])
      if (!winner) throw new Error('server secret vanished while being created')
      return String(winner.value)
    },

    async replaceSecret(name, expected, value) {
      const rows = await db.query(
        `UPDATE ${t('secrets')} SET value = $3 WHERE name = $1 AND value = $2 RETURNING name`,
        [name, expected, value],
      )
      return rows.length === 1
    },

    // ---- audit log ------------------------------------------------------------------------------
    appendAuditEvent(given) {
      // Grouped (see flight): one INSERT for the drafts arriving together, in the statement that also
      // carries the read gate calls of the moment; acknowledged once committed synchronously.
      return append(auditLeafOf(given))
    },
    async listAuditEvents(q) {
      const where: string[] = []
      const params: unknown[] = []
      const byIndex = q.afterIndex !== undefined || q.belowIndex !== undefined
      if (q.afterSeq !== undefined) where.push(`seq > $${params.push(q.afterSeq)}`)
      if (byIndex) where.push('leaf_index IS NOT NULL')
      if (q.pending) where.push('leaf_index IS NULL')
      if (q.afterIndex !== undefined) where.push(`leaf_index > $${params.push(q.afterIndex)}`)
      if (q.belowIndex !== undefined) where.push(`leaf_index < $${params.push(q.belowIndex)}`)
      if (q.grantId !== undefined) where.push(`grant_id = $${params.push(q.grantId)}`)
      if (q.subject !== undefined) where.push(`subject = $${params.push(q.subject)}`)
      if (q.clientId !== undefined) where.push(`client_id = $${params.push(q.clientId)}`)
      if (q.types !== undefined) where.push(`type = ANY($${params.push([...q.types])}::text[])`)
      const limit = q.limit !== undefined ? `LIMIT $${params.push(q.limit)}` : ''
      const rows = await db.query(
        `SELECT seq, leaf_index, event FROM ${t('audit_events')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY ${byIndex ? 'leaf_index' : 'seq'} ${limit}`,
        params,
      )
      return rows.map(toAuditEvent)
    },
    integrateAuditEvents(limit, seal) {
      return db.transaction(async (tx) => {
        // The sequencer's lock: tried, never waited for, and taken by nothing on the request path.
        const [lock] = await tx.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS ok',
          [lockKey('audit-sequencer')],
        )
        if (!lock?.ok) return null
        const [head] = await tx.query(
          `SELECT size FROM ${t('audit_log_checkpoints')} ORDER BY size DESC LIMIT 1`,
        )
        const rows = await tx.query(
          `SELECT seq, event FROM ${t('audit_events')} WHERE leaf_index IS NULL ORDER BY seq LIMIT $1`,
          [limit],
        )
        if (rows.length === 0 && head) return null
        const size = head ? int8(head.size) : 0
        const plan = appendPlan(size)
        const found = plan.length
          ? await tx.query(
              `SELECT level, idx, hash FROM ${t('audit_tree')}
               WHERE (level, idx) IN (SELECT * FROM unnest($1::smallint[], $2::bigint[]))`,
              [plan.map((n) => n.level), plan.map((n) => n.index)],
            )
          : []
        const byId = new Map(found.map((r) => [`${r.level}/${int8(r.idx)}`, bytes(r.hash)]))
        const edge = plan.map((n) => {
          const hash = byId.get(`${n.level}/${n.index}`)
          if (!hash) throw new Error(`audit tree node ${n.level}/${n.index} is missing`)
          return hash
        })
        const events = rows.map((r) => toAuditEvent({ seq: r.seq, event: r.event }))
        const sealed = await seal({ size, events, edge })
        if (events.length) {
          await tx.query(
            `UPDATE ${t('audit_events')} e SET leaf_index = v.i
             FROM unnest($1::bigint[], $2::bigint[]) AS v(seq, i) WHERE e.seq = v.seq`,
            [events.map((e) => e.seq), events.map((_, i) => size + i)],
          )
        }
        if (sealed.nodes.length) {
          await tx.query(
            `INSERT INTO ${t('audit_tree')} (level, idx, hash)
             SELECT l, i, decode(h, 'hex') FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS v(l, i, h)`,
            [
              sealed.nodes.map((n) => n.level),
              sealed.nodes.map((n) => n.index),
              sealed.nodes.map((n) => hexOf(n.hash)),
            ],
          )
        }
        const cp = sealed.checkpoint
        await tx.query(
          `INSERT INTO ${t('audit_log_checkpoints')} (size, root, note, created_at) VALUES ($1, decode($2, 'hex'), $3, $4)`,
          [cp.size, hexOf(cp.root), cp.note, cp.createdAt],
        )
        return cp
      })
    },
    async getAuditCheckpoint() {
      const [r] = await db.query(
        `SELECT size, root, note, created_at FROM ${t('audit_log_checkpoints')} ORDER BY size DESC LIMIT 1`,
      )
      return r ? toCheckpoint(r) : null
    },
    async getAuditNodes(nodes) {
      if (nodes.length === 0) return []
      const rows = await db.query(
        `SELECT level, idx, hash FROM ${t('audit_tree')}
         WHERE (level, idx) IN (SELECT * FROM unnest($1::smallint[], $2::bigint[]))`,
        [nodes.map((n) => n.level), nodes.map((n) => n.index)],
      )
      const byId = new Map(rows.map((r) => [`${r.level}/${int8(r.idx)}`, bytes(r.hash)]))
      return nodes.map((n) => {
        const hash = byId.get(`${n.level}/${n.index}`)
        if (!hash) throw new Error(`audit tree node ${n.level}/${n.index} is not stored`)
        return hash
      })
    },

    // ---- outbox -------------------------------------------------------------------------------
    async enqueueEvent(e) {
      await db.query(
        `INSERT INTO ${t('outbox')} (id, client_id, grant_id, url, body, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET attempts = EXCLUDED.attempts, next_attempt_at = EXCLUDED.next_attempt_at`,
        [e.id, e.clientId, e.grantId, e.url, e.body, e.attempts, e.nextAttemptAt, e.createdAt],
      )
    },
    async claimEvents(now, limit, leaseMs) {
      // SKIP LOCKED: instances claiming at once each take different rows; the lease hides them after.
      const rows = await db.query(
        `UPDATE ${t('outbox')} SET next_attempt_at = $2
         WHERE id IN (
           SELECT id FROM ${t('outbox')} WHERE next_attempt_at <= $1
           ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [now, now + leaseMs, limit],
      )
      return rows.map(toOutboxEvent).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
    },
    async rescheduleEvent(id, attempts, nextAttemptAt) {
      await db.query(`UPDATE ${t('outbox')} SET attempts = $2, next_attempt_at = $3 WHERE id = $1`, [
        id,
        attempts,
        nextAttemptAt,
      ])
    },
    async deleteEvent(id) {
      await db.query(`DELETE FROM ${t('outbox')} WHERE id = $1`, [id])
    },

    // ---- housekeeping -------------------------------------------------------------------------
    // ---- sign-in failures --------------------------------------------------------------------
    async recordFailure(key, now, windowMs) {
      // One statement: the insert-or-update is decided under the row's lock, so concurrent
      // failures each see their own count. A window that opened at or before now - windowMs restarts.
      const [r] = await db.query(
        `INSERT INTO ${t('sign_in_failures')} AS f (key, count, first_at, last_at, prev_at)
         VALUES ($1, 1, $2::bigint, $2::bigint, NULL)
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN f.first_at <= $2::bigint - $3::bigint THEN 1 ELSE f.count + 1 END,
           prev_at = CASE WHEN f.first_at <= $2::bigint - $3::bigint THEN NULL ELSE f.last_at END,
           first_at = CASE WHEN f.first_at <= $2::bigint - $3::bigint THEN $2::bigint ELSE f.first_at END,
           last_at = $2::bigint
         RETURNING count, first_at, last_at, prev_at`,
        [key, now, windowMs],
      )
      return toFailureWindow(r!)
    },
    async getFailures(key, now, windowMs) {
      const [r] = await db.query(
        `SELECT count, first_at, last_at FROM ${t('sign_in_failures')} WHERE key = $1 AND first_at > $2`,
        [key, now - windowMs],
      )
      return r ? toFailureWindow({ ...r, prev_at: null }) : null
    },
    async forgiveFailure(key) {
      await db.query(`UPDATE ${t('sign_in_failures')} SET count = GREATEST(count - 1, 0) WHERE key = $1`, [
        key,
      ])
    },
    async clearFailures(key) {
      await db.query(`DELETE FROM ${t('sign_in_failures')} WHERE key = $1`, [key])
    },

    async deleteExpired(now) {
      await db.transaction(async (tx) => {
        // Unconsumed expired records can go now (they only ever give `null`); consumed ones stay a
        // day past expiry so a code's replay is still detected as reuse.
        await tx.query(
          `DELETE FROM ${t('records')} WHERE (consumed_at IS NULL AND expires_at <= $1) OR expires_at <= $2`,
          [now, now - CONSUMED_RECORD_RETENTION_MS],
        )
        await tx.query(`DELETE FROM ${t('jtis')} WHERE expires_at <= $1`, [now])
        // Read-quota rows past the retention: a key's count covers only rows newer than its
        // counted_after, so only keys counted from before the retention cutoff (a window longer than
        // it, or a key idle since) can lose counted rows. Their count rows are locked first (so no
        // read of theirs is in flight), then recounted; emptied ones go.
        const before = now - READ_QUOTA_RETENTION_MS
        await tx.query(
          `SELECT 1 FROM ${t('read_quota_counts')} WHERE counted_after < $1 ORDER BY grant_id FOR UPDATE`,
          [before],
        )
        await tx.query(`DELETE FROM ${t('read_quota')} WHERE at <= $1`, [before])
        await tx.query(
          `UPDATE ${t('read_quota_counts')} c SET used = (SELECT count(*) FROM ${t('read_quota')} q
             WHERE q.grant_id = c.grant_id AND q.at > c.counted_after) WHERE c.counted_after < $1`,
          [before],
        )
        await tx.query(`DELETE FROM ${t('read_quota_counts')} WHERE counted_after < $1 AND used = 0`, [
          before,
        ])
        await tx.query(`DELETE FROM ${t('sign_in_failures')} WHERE last_at <= $1`, [
          now - FAILURE_RETENTION_MS,
        ])
      })
    },
    close() {
      return db.close()
    },
  }
}
