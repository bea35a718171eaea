import { z } from 'zod'
import type { AuthorizationDetail } from './details/registry.ts'

/**
 * A grant's lifecycle: `pending` while the person decides, then `active` or `denied`; an active grant
 * ends as `revoked` (by the person, the recipient or the holder) or `expired` (on its own).
 */
export const GRANT_STATUSES = ['pending', 'active', 'denied', 'revoked', 'expired'] as const
/** One of the {@link GRANT_STATUSES}. */
export type GrantStatus = (typeof GRANT_STATUSES)[number]

/** A grant as stored by the holder. Times are epoch milliseconds. */
export interface Grant {
  /** The grant id (`gr_…`), also `grant_id` on the wire. */
  id: string
  /** The recipient the grant was given to. */
  clientId: string
  /** The account holder (the holder's own user id). */
  subject: string
  /** The stored status; use {@link effectiveStatus} to account for expiry. */
  status: GrantStatus
  /** What the person allowed, after choosing accounts and narrowing: never wider than what was asked. */
  authorizationDetails: AuthorizationDetail[]
  /** When the request was first shown to the person. */
  createdAt: number
  /** Last change of status or details. */
  updatedAt: number
  /** When the grant ends on its own. */
  expiresAt: number
  /** Why the grant ended, e.g. `revoked_by_subject`, `refresh_token_reuse`. */
  endedReason?: string
  /** When it was revoked, expired or denied. */
  endedAt?: number
}

/**
 * The status a grant has at `now`: an active grant past its expiry is `expired`, whatever is stored.
 *
 * @example
 * ```ts
 * if (effectiveStatus(grant, Date.now()) !== 'active') return refuse()
 * ```
 */
export function effectiveStatus(grant: Pick<Grant, 'status' | 'expiresAt'>, now: number): GrantStatus {
  return grant.status === 'active' && grant.expiresAt <= now ? 'expired' : grant.status
}

/** Grant management response (`GET /grants/{id}`), as served to the client that owns the grant. */
export const grantResponseSchema = z.object({
  /** The grant id. */
  grant_id: z.string(),
  /** The grant's status now. */
  status: z.enum(GRANT_STATUSES),
  /** The recipient that owns it. */
  client_id: z.string(),
  /** What the person granted (concrete accounts, ticked fields). */
  authorization_details: z.array(z.looseObject({ type: z.string() })),
  /** ISO 8601 date-time (UTC). */
  created_at: z.string(),
  /** ISO 8601 date-time (UTC). */
  expires_at: z.string(),
  /** ISO 8601 date-time (UTC), once ended. */
  ended_at: z.string().optional(),
  /** Why it ended, e.g. `revoked_by_subject` (see docs/events.md). */
  ended_reason: z.string().optional(),
})
/** A grant management response (see {@link grantResponseSchema}). */
export type GrantResponse = z.infer<typeof grantResponseSchema>
