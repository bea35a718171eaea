import {
  type AuditActor,
  type AuditEvent,
  type AuditEventDraft,
  type AuditEventInput,
  type AuditLogBundle,
  type AuditLogEntry,
  type AuditVerification,
  appendPlan,
  auditActor,
  auditLeafBytes,
  auditLeafHash,
  consistencyPlan,
  foldNodes,
  formatCheckpoint,
  type Hash,
  inclusionPlan,
  newNodes,
  type ProofPlan,
  rootPlan,
  signNote,
  toBase64,
  verifyAuditExport,
} from '@consentry/core'
import type { AuditBatch, AuditLogCheckpoint, AuditQuery, AuditSeal, Store } from '../store/store.ts'
import { randomToken } from '../tokens/random.ts'
import { auditData } from './data.ts'
import { exportAuditLog } from './export.ts'
import type { AuditLogKey } from './log-key.ts'
import { resolveProofs } from './proofs.ts'

/** Events integrated per sequencer transaction (C2SP-style batches: every 100 ms or 1,000 events). */
export const AUDIT_BATCH_SIZE = 1000
/** Default sequencer period. */
export const AUDIT_SEQUENCE_INTERVAL_MS = 100
/** Entries per access-log page. */
export const ACCESS_LOG_PAGE = 1000

/** Options of {@link createAuditTrail}. */
export interface AuditTrailOptions {
  /** The store holding the log. */
  store: Store
  /** The log's Ed25519 key and origin (see `loadAuditLogKey`). */
  logKey: AuditLogKey
  /** Clock, epoch milliseconds. */
  now?: () => number
  /** Where a failed background integration is reported. */
  onError?: (error: unknown) => void
  /** Called with each checkpoint signed by this process (the server traces it). */
  onCheckpoint?: (checkpoint: { size: number }) => void
}

/** The holder's audit log (see docs/audit.md); `server.audit` is one. */
export interface AuditTrail {
  /** The log's origin (checkpoint first line and note key name). */
  readonly origin: string
  /** The note verifier key, `<origin>+<key id>+<base64 key>` (published as `audit_log.verifier_key`). */
  readonly verifierKey: string
  /**
   * Insert an event (pending until the sequencer integrates it, within ~100 ms). Throws a `TypeError`
   * (and records nothing) if the type or actor is invalid, or `data` holds a secret-looking key or a
   * non-JSON value.
   */
  record(input: AuditEventInput): Promise<AuditEvent>
  /** Events, pending ones included (the store's filters and paging). */
  list(query?: AuditQuery): Promise<AuditEvent[]>
  /** One sequencer step (≤ 1,000 events); `null` if another instance holds the sequencer or nothing was pending. */
  integrate(): Promise<AuditLogCheckpoint | null>
  /** Integrate until nothing recorded before this call is pending; returns the newest checkpoint. */
  flush(): Promise<AuditLogCheckpoint | null>
  /** Same as `flush()`: integrate what is pending, return the newest signed checkpoint. */
  checkpoint(): Promise<AuditLogCheckpoint | null>
  /** The newest checkpoint, without integrating. */
  latest(): Promise<AuditLogCheckpoint | null>
  /** Run the sequencer every `intervalMs` (default 100; timers never keep the process alive). Returns `stop`. */
  startSequencer(intervalMs?: number): () => void
  /** RFC 9162 §2.1.4 consistency proof between two tree sizes (≤ the newest checkpoint's size). */
  consistencyProof(first: number, second: number): Promise<Hash[]>
  /** RFC 9162 §2.1.3 inclusion proofs of leaves in the tree of `size`. */
  inclusionProofs(indexes: readonly number[], size: number): Promise<Hash[][]>
  /**
   * A verifiable access log: the integrated events matching `filter` below the newest checkpoint,
   * after leaf `after`, with inclusion proofs against that checkpoint; at most 1,000 entries
   * (`more` tells whether there are others).
   */
  accessLog(
    filter: Pick<AuditQuery, 'grantId' | 'clientId' | 'subject'>,
    after?: number,
  ): Promise<{
    /** The checkpoint every proof leads to. */
    checkpoint: AuditLogCheckpoint
    /** The events, with inclusion proofs. */
    entries: AuditLogEntry[]
    /** Whether more entries follow (ask again with `after` = the last index). */
    more: boolean
  } | null>
  /** The whole log as export lines (JSON Lines, without `\n`), after a flush. */
  export(): AsyncIterable<string>
  /** Export and verify against this log's own verifier key. */
  verify(): Promise<AuditVerification>
}

/**
 * The audit log: events are inserted without any lock; a sequencer integrates them in batches into
 * an RFC 9162 Merkle tree and signs a C2SP checkpoint over each new tree head.
 *
 * @example
 * ```ts
 * const logKey = await loadAuditLogKey(store, 'bank.example/audit')
 * const audit = createAuditTrail({ store, logKey })
 * await audit.record({ type: 'grant.revoked', actor: { type: 'subject', id: 'alice' }, grantId: 'g_1', data: {} })
 * const stop = audit.startSequencer()
 * ```
 */
export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const { store, logKey, now = Date.now, onError = () => {}, onCheckpoint } = options
  let running: Promise<AuditLogCheckpoint | null> | null = null
  let sinceRun = 0

  const seal = async (batch: AuditBatch): Promise<AuditSeal> => {
    const known = new Map<string, Uint8Array>()
    for (const [i, n] of appendPlan(batch.size).entries()) known.set(`${n.level}/${n.index}`, batch.edge[i]!)
    const lookup = (level: number, index: number) => {
      const hash = known.get(`${level}/${index}`)
      if (!hash) throw new Error(`audit tree node ${level}/${index} missing while sealing`)
      return hash
    }
    const nodes = newNodes(batch.size, batch.events.map(auditLeafHash), lookup)
    for (const n of nodes) known.set(`${n.level}/${n.index}`, n.hash)
    const size = batch.size + batch.events.length
    const root = foldNodes(rootPlan(size).map((n) => lookup(n.level, n.index)))
    const note = await signNote(
      formatCheckpoint({ origin: logKey.origin, size, root }),
      logKey.origin,
      logKey.privateKey,
      logKey.publicKey,
    )
    return { nodes, checkpoint: { size, root, note, createdAt: now() } }
  }

  const integrate = () => {
    // One step at a time in this process; the store keeps instances apart.
    running ??= store
      .integrateAuditEvents(AUDIT_BATCH_SIZE, seal)
      .then((checkpoint) => {
        if (checkpoint && onCheckpoint) onCheckpoint(checkpoint)
        return checkpoint
      })
      .finally(() => {
        running = null
      })
    sinceRun = 0
    return running
  }

  const resolve = (plans: ProofPlan[]) => resolveProofs(store, plans)

  const trail: AuditTrail = {
    origin: logKey.origin,
    verifierKey: logKey.verifierKey,

    async record(input) {
      const event = await store.appendAuditEvent(draftOf(input, now()))
      // A full batch waiting: integrate now rather than at the next tick.
      if (++sinceRun >= AUDIT_BATCH_SIZE) void integrate().catch(onError)
      return event
    },

    list(query = {}) {
      return store.listAuditEvents(query)
    },

    integrate,

    async flush() {
      for (;;) {
        // A step already running may have missed events recorded since: wait, then step again.
        if (running) await running.catch(() => null)
        if (await integrate()) continue
        if ((await store.listAuditEvents({ pending: true, limit: 1 })).length === 0)
          return store.getAuditCheckpoint()
        // Another instance holds the sequencer: let it finish.
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    },

    checkpoint() {
      return trail.flush()
    },

    latest() {
      return store.getAuditCheckpoint()
    },

    startSequencer(intervalMs = AUDIT_SEQUENCE_INTERVAL_MS) {
      if (!(intervalMs > 0)) throw new TypeError('intervalMs must be a positive number')
      const timer = setInterval(() => {
        integrate().catch(onError)
      }, intervalMs)
      ;(timer as { unref?: () => void }).unref?.()
      return () => clearInterval(timer)
    },

    async consistencyProof(first, second) {
      return (await resolve([consistencyPlan(first, second)]))[0]!
    },

    inclusionProofs(indexes, size) {
      return resolve(indexes.map((i) => inclusionPlan(i, size)))
    },

    async accessLog(filter, after) {
      const checkpoint = await store.getAuditCheckpoint()
      if (!checkpoint) return null
      const events = await store.listAuditEvents({
        ...filter,
        afterIndex: after ?? -1,
        belowIndex: checkpoint.size,
        limit: ACCESS_LOG_PAGE + 1,
      })
      const page = events.slice(0, ACCESS_LOG_PAGE)
      const proofs = await trail.inclusionProofs(
        page.map((e) => e.index!),
        checkpoint.size,
      )
      const entries = page.map((e, i) => ({
        index: e.index!,
        leaf: toBase64(auditLeafBytes(e)),
        proof: proofs[i]!.map(toBase64),
      }))
      return { checkpoint, entries, more: events.length > ACCESS_LOG_PAGE }
    },

    async *export() {
      const checkpoint = await trail.flush()
      yield* exportAuditLog({ store, checkpoint, verifierKey: logKey.verifierKey })
    },

    async verify() {
      const lines: string[] = []
      for await (const line of trail.export()) lines.push(line)
      return verifyAuditExport(lines, { verifierKey: logKey.verifierKey })
    },
  }
  return trail
}

/** The bundle body for an access-log page. */
export function accessLogBundle(
  page: { checkpoint: AuditLogCheckpoint; entries: AuditLogEntry[] },
  next?: string,
): AuditLogBundle {
  return { checkpoint: page.checkpoint.note, entries: page.entries, ...(next ? { next } : {}) }
}

/** `model.verb`, as `auditEventSchema.shape.type` (checked here without zod: this runs on every read). */
const EVENT_TYPE = /^[a-z_]+\.[a-z_]+$/
const ACTOR_TYPES: ReadonlySet<string> = new Set(auditActor.shape.type.options)

/** The actor as `auditActor` parses it (unknown members dropped), or `null` where it would fail. */
function actorOf(input: unknown): AuditActor | null {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return null
  const { type, id } = input as { type?: unknown; id?: unknown }
  if (typeof type !== 'string' || !ACTOR_TYPES.has(type)) return null
  if (id === undefined) return { type: type as AuditActor['type'] }
  if (typeof id !== 'string' || id.length > 256) return null
  return { type: type as AuditActor['type'], id }
}

/** Build the stored draft from an emitter's input (validated, snake_case, secrets refused). */
function draftOf(input: AuditEventInput, at: number): AuditEventDraft {
  if (typeof input?.type !== 'string' || !EVENT_TYPE.test(input.type)) {
    throw new TypeError(`invalid audit event type ${JSON.stringify(input?.type)}: expected "model.verb"`)
  }
  const actor = actorOf(input.actor)
  if (!actor) throw new TypeError('invalid audit actor: expected { type, id? }')
  for (const key of ['grantId', 'clientId', 'subject'] as const) {
    if (input[key] !== undefined && typeof input[key] !== 'string')
      throw new TypeError(`audit ${key} must be a string`)
  }
  return {
    id: `evt_${randomToken(16)}`,
    at: new Date(at).toISOString(),
    type: input.type,
    actor,
    ...(input.grantId === undefined ? {} : { grant_id: input.grantId }),
    ...(input.clientId === undefined ? {} : { client_id: input.clientId }),
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    data: auditData(input.data),
  }
}
