import {
  type AuditEvent,
  type AuditEventDraft,
  type AuditEventInput,
  type AuditVerification,
  auditActor,
  auditEventSchema,
  verifyAuditExport,
} from '@consentry/core'
import { base64url, type JWK } from 'jose'
import type { AuditQuery, Store, StoredCheckpoint } from '../store/store.ts'
import { type AuditSigningKey, auditPublicJwk, createCheckpoint } from './checkpoint.ts'
import { auditData } from './data.ts'
import { exportAuditTrail } from './export.ts'

export interface AuditTrailOptions {
  store: Store
  /** Names this log in checkpoints and exports (e.g. the holder's issuer or a short name). */
  logId: string
  /** Public JWKs of earlier audit keys, so checkpoints signed before a rotation still verify. */
  previousKeys?: JWK[]
  /** The key checkpoints are signed with; publish its public half (see `AuditTrail.publicJwk`). */
  signingKey: AuditSigningKey
  /** Clock, epoch milliseconds. */
  now?: () => number
}

export interface AuditTrail {
  readonly logId: string
  /**
   * Append an event to the hash chain. Throws a `TypeError` (and records nothing) if the type or
   * actor is invalid, or `data` holds a secret-looking key or a non-JSON value.
   */
  record(input: AuditEventInput): Promise<AuditEvent>
  /** Events in seq order (the store's filters and `afterSeq` paging). */
  list(query?: AuditQuery): Promise<AuditEvent[]>
  /** Sign a checkpoint over the current head; `null` if nothing was appended since the last one. */
  checkpoint(): Promise<StoredCheckpoint | null>
  /** Checkpoint every `intervalMs` (the timer does not keep the process alive). Returns `stop`. */
  startCheckpoints(intervalMs: number, onError?: (error: unknown) => void): () => void
  /** The whole trail as export lines (JSON Lines, without `\n`). */
  export(): AsyncIterable<string>
  /** Export and verify against this trail's own public key (and its previous ones). */
  verify(): Promise<AuditVerification>
  /** The public JWK checkpoints verify with. */
  publicJwk(): Promise<JWK>
}

/**
 * The audit trail: hash-chained events in the store, signed checkpoints over the head, export and
 * verification.
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = await generateKeyPair('ES256')
 * const audit = createAuditTrail({ store, logId: 'harbor-pay', signingKey: { privateKey, publicKey, kid: 'audit-1', alg: 'ES256' } })
 * await audit.record({ type: 'grant.revoked', actor: { type: 'subject', id: 'alice' }, grantId: 'g_1', data: { reason: 'user' } })
 * const stop = audit.startCheckpoints(60_000)
 * for await (const line of audit.export()) process.stdout.write(`${line}\n`)
 * ```
 */
export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const { store, logId, signingKey, now = Date.now } = options
  if (typeof logId !== 'string' || logId === '') throw new TypeError('audit logId is required')
  let checkpointQueue: Promise<unknown> = Promise.resolve()

  const trail: AuditTrail = {
    logId,

    record(input) {
      try {
        return store.appendAuditEvent(draftOf(input, now()))
      } catch (error) {
        return Promise.reject(error)
      }
    },

    list(query = {}) {
      return store.listAuditEvents(query)
    },

    checkpoint() {
      // One at a time, so two checkpoints never claim the same predecessor.
      const next = checkpointQueue.then(() => createCheckpoint({ store, logId, signingKey, now: now() }))
      checkpointQueue = next.catch(() => undefined)
      return next
    },

    startCheckpoints(intervalMs, onError = () => {}) {
      if (!(intervalMs > 0)) throw new TypeError('intervalMs must be a positive number')
      const timer = setInterval(() => {
        trail.checkpoint().catch(onError)
      }, intervalMs)
      ;(timer as { unref?: () => void }).unref?.()
      return () => clearInterval(timer)
    },

    export() {
      return exportAuditTrail({ store, logId })
    },

    async verify() {
      const lines: string[] = []
      for await (const line of exportAuditTrail({ store, logId })) lines.push(line)
      const keys = [await auditPublicJwk(signingKey), ...(options.previousKeys ?? [])]
      return verifyAuditExport(lines, { keys: { keys }, logId })
    },

    publicJwk() {
      return auditPublicJwk(signingKey)
    },
  }
  return trail
}

/** Build the stored draft from an emitter's input (validated, snake_case, secrets refused). */
function draftOf(input: AuditEventInput, at: number): AuditEventDraft {
  if (!auditEventSchema.shape.type.safeParse(input?.type).success) {
    throw new TypeError(`invalid audit event type ${JSON.stringify(input?.type)}: expected "model.verb"`)
  }
  const actor = auditActor.safeParse(input.actor)
  if (!actor.success) throw new TypeError('invalid audit actor: expected { type, id? }')
  for (const key of ['grantId', 'clientId', 'subject'] as const) {
    if (input[key] !== undefined && typeof input[key] !== 'string')
      throw new TypeError(`audit ${key} must be a string`)
  }
  return {
    id: `evt_${base64url.encode(crypto.getRandomValues(new Uint8Array(16)))}`,
    at: new Date(at).toISOString(),
    type: input.type,
    actor: actor.data,
    ...(input.grantId === undefined ? {} : { grant_id: input.grantId }),
    ...(input.clientId === undefined ? {} : { client_id: input.clientId }),
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    data: auditData(input.data),
  }
}
