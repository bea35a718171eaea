import { z } from 'zod'

/**
 * Audit event names, `model.verb`. Holders may add their own (any `model.verb` string is accepted);
 * these are the ones Consentry emits.
 */
export const AUDIT_EVENT_TYPES = [
  'client.registered',
  'grant.created',
  'grant.approved',
  'grant.denied',
  'grant.revoked',
  'grant.expired',
  'grant.narrowed',
  'grant.amended',
  'grant.amendment_denied',
  'code.issued',
  'code.reused',
  'token.issued',
  'token.refreshed',
  'token.revoked',
  'token.reuse_detected',
  'data.read',
  'data.read_refused',
  'subject.signed_in',
  'subject.sign_in_failed',
  'subject.signed_out',
  'receipt.issued',
  'webhook.delivered',
  'webhook.failed',
] as const
/** One of the {@link AUDIT_EVENT_TYPES} Consentry emits. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number]

/** A JSON value: what `data` may hold (ids, counts, ranges, reasons — never contents, tokens or secrets). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

/**
 * Who caused an audit event: a recipient (`client`, with its client id), the account holder (`subject`), the
 * data holder's staff (`holder`) or Consentry itself (`system`, no id).
 */
export const auditActor = z.object({
  /** The kind of actor. */
  type: z.enum(['client', 'subject', 'holder', 'system']),
  /** The client id or the subject; absent for `system`. */
  id: z.string().max(256).optional(),
})
/** Who caused an audit event (see {@link auditActor}). */
export type AuditActor = z.infer<typeof auditActor>

/** What an emitter hands the audit sink. */
export interface AuditEventInput {
  /** The event name, `model.verb` (one of {@link AUDIT_EVENT_TYPES} or the holder's own). */
  type: AuditEventType | `${string}.${string}`
  /** Who caused it. */
  actor: AuditActor
  /** The grant concerned, if any. */
  grantId?: string
  /** The recipient concerned, if any. */
  clientId?: string
  /** The account holder concerned (the holder's own user id), if any. */
  subject?: string
  /** Details: ids, counts, ranges, reasons — never data contents, tokens or secrets. */
  data?: { [key: string]: Json }
}

/**
 * One event of the audit log as stored and listed. Requests only insert events (`seq` is their
 * insertion number: unique, increasing, possibly with gaps); the log's sequencer then integrates them
 * into the Merkle tree and gives each its leaf `index` (absent while pending, at most ~1 s).
 *
 * The leaf bytes of an event are the RFC 8785 canonical JSON of every member except `seq` and
 * `index` (see `auditLeafBytes`).
 */
export const auditEventSchema = z
  .object({
    /** Insertion number: unique and increasing, possibly with gaps. */
    seq: z.number().int().min(1),
    /** Leaf index in the Merkle tree; absent while the event waits for the sequencer. */
    index: z.number().int().min(0).optional(),
    /** Unique event id. */
    id: z.string(),
    /** When it happened: ISO 8601 date-time in UTC. */
    at: z.string(),
    /** Event name, `model.verb` (see {@link AUDIT_EVENT_TYPES}). */
    type: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
    /** Who caused it. */
    actor: auditActor,
    /** The grant concerned, if any. */
    grant_id: z.string().optional(),
    /** The recipient concerned, if any. */
    client_id: z.string().optional(),
    /** The account holder concerned, if any. */
    subject: z.string().optional(),
    /** Details (ids, counts, ranges, reasons); `{}` when there are none. */
    data: z.record(z.string(), z.json()),
  })
  .strict()
/** One stored audit event (see {@link auditEventSchema}). */
export type AuditEvent = z.infer<typeof auditEventSchema>

/** An event as hashed into the log (its leaf): every member but `seq` and `index`. */
export const auditLeafSchema = auditEventSchema.omit({ seq: true, index: true })
/** An audit event as hashed into the log: every member but `seq` and `index`. */
export type AuditLeaf = z.infer<typeof auditLeafSchema>

/** An event before the store numbers it. */
export type AuditEventDraft = AuditLeaf
