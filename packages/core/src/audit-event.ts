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
 * One line of the audit trail as stored and exported (JSON Lines): hash-chained, `hash` covers the
 * canonical encoding (RFC 8785) of every other member, and `prev_hash` is the previous event's `hash`
 * (64 zeros for the first event).
 */
export const auditEventSchema = z
  .object({
    seq: z.number().int().min(1),
    id: z.string(),
    at: z.string(),
    type: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
    actor: auditActor,
    grant_id: z.string().optional(),
    client_id: z.string().optional(),
    subject: z.string().optional(),
    data: z.record(z.string(), z.json()),
    prev_hash: z.string().regex(/^[0-9a-f]{64}$/),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict()
export type AuditEvent = z.infer<typeof auditEventSchema>

export const GENESIS_HASH = '0'.repeat(64)
