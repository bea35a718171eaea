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
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number]

/** A JSON value: what `data` may hold (ids, counts, ranges, reasons — never contents, tokens or secrets). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

export const auditActor = z.object({
  type: z.enum(['client', 'subject', 'holder', 'system']),
  id: z.string().max(256).optional(),
})
export type AuditActor = z.infer<typeof auditActor>

/** What an emitter hands the audit sink. */
export interface AuditEventInput {
  type: AuditEventType | `${string}.${string}`
  actor: AuditActor
  grantId?: string
  clientId?: string
  subject?: string
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
    seq: z.number().int().min(1),
    index: z.number().int().min(0).optional(),
    id: z.string(),
    at: z.string(),
    type: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
    actor: auditActor,
    grant_id: z.string().optional(),
    client_id: z.string().optional(),
    subject: z.string().optional(),
    data: z.record(z.string(), z.json()),
  })
  .strict()
export type AuditEvent = z.infer<typeof auditEventSchema>

/** An event as hashed into the log (its leaf): every member but `seq` and `index`. */
export const auditLeafSchema = auditEventSchema.omit({ seq: true, index: true })
export type AuditLeaf = z.infer<typeof auditLeafSchema>

/** An event before the store numbers it. */
export type AuditEventDraft = AuditLeaf
