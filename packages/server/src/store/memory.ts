import {
  type AuditEvent,
  type AuditEventDraft,
  appendPlan,
  auditLeafOf,
  type ClientRecord,
  type Grant,
} from '@consentry/core'
import { claimCounts } from './claim.ts'
import type {
  AuditLogCheckpoint,
  AuditQuery,
  ClientLogo,
  OutboxEvent,
  ReadQuotaResult,
  RecordKind,
  RefreshTokenRecord,
  Store,
  StoredRecord,
} from './store.ts'
import { CONSUMED_RECORD_RETENTION_MS, FAILURE_RETENTION_MS, type FailureWindow } from './store.ts'

/**
 * A deep copy. Records are plain JSON-like objects, copied member by member (several times cheaper
 * than `structuredClone`, which every store call used to pay); anything else (bytes, a `Date`) goes
 * through `structuredClone`.
 */
function copy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(copy) as T
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return structuredClone(value)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key])
  return out as T
}
/** Records are copied as JSON, as a SQL store keeps them (`undefined` members vanish). */
const copyRecord = (record: StoredRecord): StoredRecord => JSON.parse(JSON.stringify(record))
/** One map for every kind; a kind holds no `:`, so the key is unambiguous. */
const recordKey = (kind: RecordKind, id: string) => `${kind}:${id}`

/**
 * An in-memory {@link Store} for tests and throwaway demos: one process, nothing survives a restart.
 * Atomic operations are atomic because each runs synchronously between two awaits.
 *
 * @example
 * ```ts
 * const server = createConsentServer({ ...config, store: memoryStore() })
 * ```
 */
export function memoryStore(): Store {
  const clients = new Map<string, ClientRecord>()
  const logos = new Map<string, ClientLogo>()
  const records = new Map<string, StoredRecord>()
  const grants = new Map<string, Grant>()
  /** Grant id → the expiry its recipient was reminded of. */
  const reminded = new Map<string, number>()
  const refreshTokens = new Map<string, RefreshTokenRecord>()
  const jtis = new Map<string, number>()
  const reads = new Map<string, number[]>()
  const secrets = new Map<string, string>()
  const events: AuditEvent[] = []
  const pending: AuditEvent[] = []
  const tree = new Map<string, Uint8Array>()
  let checkpoint: AuditLogCheckpoint | null = null
  let sequencing = false
  let nextSeq = 1
  const outbox = new Map<string, OutboxEvent>()
  const failures = new Map<string, { count: number; firstAt: number; lastAt: number }>()

  /** consumeReadQuota's work, synchronous (also counted inside recordJtiAndGetGrant's claim). */
  function consume(grantId: string, now: number, limit: number, windowMs: number): ReadQuotaResult {
    // Times kept sorted; the reads in the window are those after the first one > now - windowMs
    // (a binary search), so a high limit costs O(log n) per read, not a scan of every kept time.
    const times = reads.get(grantId) ?? []
    let lo = 0
    let hi = times.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (times[mid]! > now - windowMs) hi = mid
      else lo = mid + 1
    }
    // Drop what fell out of the window now and then (amortised), not on every read.
    let first = lo
    if (lo > 64 && lo * 2 > times.length) {
      times.splice(0, lo)
      first = 0
    }
    reads.set(grantId, times)
    const used = times.length - first
    if (used >= limit) {
      const oldest = times[first] ?? now
      return { allowed: false, retryAfterMs: Math.max(1, oldest + windowMs - now) }
    }
    let at = times.length
    while (at > first && times[at - 1]! > now) at-- // an out-of-order clock: keep the order
    times.splice(at, 0, now)
    return { allowed: true, used: used + 1 }
  }

  return {
    async createClient(client) {
      if (clients.has(client.clientId)) throw new Error('client already exists')
      clients.set(client.clientId, copy(client))
    },
    async getClient(id) {
      const c = clients.get(id)
      return c ? copy(c) : null
    },
    async findClientsByNameSkeleton(skeleton, limit) {
      return [...clients.values()]
        .filter((c) => c.nameSkeleton === skeleton)
        .sort((a, b) => a.createdAt - b.createdAt)
        .slice(0, limit)
        .map(copy)
    },
    async saveClientLogo(logo) {
      logos.set(logo.clientId, copy(logo))
    },
    async getClientLogo(clientId) {
      const l = logos.get(clientId)
      return l ? copy(l) : null
    },

    async saveRecord(record) {
      const key = recordKey(record.kind, record.id)
      if (records.get(key)?.consumedAt !== undefined) return // never revived
      const { kind, id, value, owner, expiresAt } = record
      records.set(key, copyRecord({ kind, id, value, ...(owner !== undefined ? { owner } : {}), expiresAt }))
    },
    async findRecord(kind, id, now) {
      const r = records.get(recordKey(kind, id))
      return r && r.consumedAt === undefined && r.expiresAt > now ? copyRecord(r) : null
    },
    async consumeRecord(kind, id, now, owner) {
      const r = records.get(recordKey(kind, id))
      if (!r) return null
      if (owner !== undefined && r.owner !== undefined && r.owner !== owner)
        return { status: 'wrong_owner', record: copyRecord(r) }
      if (r.consumedAt !== undefined) return { status: 'consumed', record: copyRecord(r) }
      if (r.expiresAt <= now) return null
      r.consumedAt = now
      return { status: 'ok', record: copyRecord(r) }
    },
    async deleteRecord(kind, id) {
      records.delete(recordKey(kind, id))
    },

    async createGrant(g) {
      if (grants.has(g.id)) throw new Error('grant already exists')
      grants.set(g.id, copy(g))
    },
    async getGrant(id) {
      const g = grants.get(id)
      return g ? copy(g) : null
    },
    async transitionGrant(id, from, patch, effects = {}) {
      const g = grants.get(id)
      if (!g || !from.includes(g.status)) return null
      if (effects.ifUpdatedAt !== undefined && g.updatedAt !== effects.ifUpdatedAt) return null
      // Check every effect before changing anything: all or nothing.
      if (effects.outbox && outbox.has(effects.outbox.id)) throw new Error('outbox event already exists')
      if (effects.outbox) outbox.set(effects.outbox.id, copy(effects.outbox))
      if (effects.revokeRefreshTokensAt !== undefined)
        for (const t of refreshTokens.values())
          if (t.grantId === id && t.revokedAt === undefined) t.revokedAt = effects.revokeRefreshTokensAt
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined))
      Object.assign(g, copy(defined))
      return copy(g)
    },
    async listGrants({ subject, clientId }) {
      return [...grants.values()]
        .filter(
          (g) =>
            (subject === undefined || g.subject === subject) &&
            (clientId === undefined || g.clientId === clientId),
        )
        .sort((a, b) => b.createdAt - a.createdAt)
        .map(copy)
    },
    async listExpiringGrants(now, limit) {
      return [...grants.values()]
        .filter((g) => (g.status === 'active' || g.status === 'pending') && g.expiresAt <= now)
        .sort((a, b) => a.expiresAt - b.expiresAt)
        .slice(0, limit)
        .map(copy)
    },
    async listGrantsToRemind(now, before, limit) {
      return [...grants.values()]
        .filter(
          (g) =>
            g.status === 'active' &&
            g.expiresAt > now &&
            g.expiresAt <= before &&
            reminded.get(g.id) !== g.expiresAt,
        )
        .sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1))
        .slice(0, limit)
        .map(copy)
    },
    async markGrantReminded(id, expiresAt, event) {
      const g = grants.get(id)
      if (!g || g.status !== 'active' || g.expiresAt !== expiresAt || reminded.get(id) === expiresAt)
        return false
      if (event && outbox.has(event.id)) throw new Error('outbox event already exists')
      reminded.set(id, expiresAt)
      if (event) outbox.set(event.id, copy(event))
      return true
    },

    async saveRefreshToken(t) {
      refreshTokens.set(t.tokenHash, copy(t))
    },
    async getRefreshToken(hash) {
      const t = refreshTokens.get(hash)
      return t ? copy(t) : null
    },
    async rotateRefreshToken(oldHash, next, now) {
      const t = refreshTokens.get(oldHash)
      if (!t || t.revokedAt !== undefined) return null
      if (t.usedAt !== undefined) return { status: 'reused', token: copy(t) }
      if (t.expiresAt <= now) return null
      t.usedAt = now
      refreshTokens.set(next.tokenHash, copy(next))
      return { status: 'ok', token: copy(t) }
    },
    async revokeRefreshTokens(grantId, now) {
      for (const t of refreshTokens.values())
        if (t.grantId === grantId && t.revokedAt === undefined) t.revokedAt = now
    },

    async recordJti(key, expiresAt) {
      if (jtis.has(key)) return false
      jtis.set(key, expiresAt)
      return true
    },
    async recordJtiAndGetGrant(key, expiresAt, grantId, claim) {
      const firstUse = !jtis.has(key)
      if (firstUse) jtis.set(key, expiresAt)
      const g = grants.get(grantId)
      const grant = g ? copy(g) : null
      if (!claim || !firstUse || !g || !claimCounts(g, claim)) return { firstUse, grant }
      return { firstUse, grant, quota: consume(claim.key, claim.now, claim.limit, claim.windowMs) }
    },

    async consumeReadQuota(grantId, now, limit, windowMs) {
      return consume(grantId, now, limit, windowMs)
    },
    async releaseReadQuota(key, at) {
      const times = reads.get(key)
      const i = times?.lastIndexOf(at) ?? -1
      if (i >= 0) times!.splice(i, 1)
    },

    async getOrCreateSecret(name, create) {
      let value = secrets.get(name)
      if (value === undefined) {
        value = create()
        secrets.set(name, value)
      }
      return value
    },
    async replaceSecret(name, expected, value) {
      if (secrets.get(name) !== expected) return false
      secrets.set(name, value)
      return true
    },
    ephemeral: true,

    async appendAuditEvent(draft: AuditEventDraft) {
      const event: AuditEvent = { seq: nextSeq++, ...copy(auditLeafOf(draft)) }
      pending.push(event)
      return copy(event)
    },
    async listAuditEvents(q: AuditQuery) {
      const byIndex = q.afterIndex !== undefined || q.belowIndex !== undefined
      // Integrated events precede pending ones in seq order too (FIFO integration).
      const source = byIndex ? events : q.pending ? pending : [...events, ...pending]
      const out: AuditEvent[] = []
      for (const e of source) {
        if (q.afterSeq !== undefined && e.seq <= q.afterSeq) continue
        if (q.afterIndex !== undefined && e.index! <= q.afterIndex) continue
        if (q.belowIndex !== undefined && e.index! >= q.belowIndex) continue
        if (q.grantId !== undefined && e.grant_id !== q.grantId) continue
        if (q.subject !== undefined && e.subject !== q.subject) continue
        if (q.clientId !== undefined && e.client_id !== q.clientId) continue
        if (q.types && !q.types.includes(e.type)) continue
        out.push(copy(e))
        if (q.limit !== undefined && out.length >= q.limit) break
      }
      return out
    },
    async integrateAuditEvents(limit, seal) {
      if (sequencing) return null
      if (pending.length === 0 && checkpoint) return null
      sequencing = true
      try {
        const size = checkpoint?.size ?? 0
        const batch = pending.slice(0, limit)
        const edge = appendPlan(size).map((n) => tree.get(`${n.level}/${n.index}`)!)
        const sealed = await seal({ size, events: copy(batch), edge })
        pending.splice(0, batch.length)
        for (const [i, e] of batch.entries()) events.push({ ...e, index: size + i })
        for (const n of sealed.nodes) tree.set(`${n.level}/${n.index}`, n.hash.slice())
        checkpoint = copy(sealed.checkpoint)
        return copy(checkpoint)
      } finally {
        sequencing = false
      }
    },
    async getAuditCheckpoint() {
      return checkpoint ? copy(checkpoint) : null
    },
    async getAuditNodes(nodes) {
      return nodes.map((n) => {
        const hash = tree.get(`${n.level}/${n.index}`)
        if (!hash) throw new Error(`audit tree node ${n.level}/${n.index} is not stored`)
        return hash.slice()
      })
    },

    async enqueueEvent(event) {
      outbox.set(event.id, copy(event))
    },
    async claimEvents(now, limit, leaseMs) {
      const due = [...outbox.values()]
        .filter((e) => e.nextAttemptAt <= now)
        .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1))
        .slice(0, limit)
      for (const e of due) e.nextAttemptAt = now + leaseMs
      return due.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).map(copy)
    },
    async rescheduleEvent(id, attempts, nextAttemptAt) {
      const e = outbox.get(id)
      if (e) Object.assign(e, { attempts, nextAttemptAt })
    },
    async deleteEvent(id) {
      outbox.delete(id)
    },

    async recordFailure(key, now, windowMs) {
      const f = failures.get(key)
      if (!f || f.firstAt <= now - windowMs) {
        failures.set(key, { count: 1, firstAt: now, lastAt: now })
        return { count: 1, firstAt: now, lastAt: now }
      }
      const previousAt = f.lastAt
      f.count += 1
      f.lastAt = now
      return { ...f, previousAt } satisfies FailureWindow
    },
    async getFailures(key, now, windowMs) {
      const f = failures.get(key)
      return f && f.firstAt > now - windowMs ? { ...f } : null
    },
    async forgiveFailure(key) {
      const f = failures.get(key)
      if (f) f.count = Math.max(0, f.count - 1)
    },
    async clearFailures(key) {
      failures.delete(key)
    },

    async deleteExpired(now) {
      // Consumed records are kept a day past expiry so a code's reuse is still detected, then dropped.
      for (const [k, v] of records)
        if (
          v.consumedAt === undefined ? v.expiresAt <= now : v.expiresAt + CONSUMED_RECORD_RETENTION_MS <= now
        )
          records.delete(k)
      for (const [k, v] of jtis) if (v <= now) jtis.delete(k)
      // Read-quota entries older than 48 hours can no longer count in any (at most daily) window.
      for (const [k, v] of reads) {
        const kept = v.filter((t) => t > now - 48 * 3_600_000)
        if (kept.length) reads.set(k, kept)
        else reads.delete(k)
      }
      for (const [k, v] of failures) if (v.lastAt <= now - FAILURE_RETENTION_MS) failures.delete(k)
    },
    async close() {},
  }
}
