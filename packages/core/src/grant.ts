import { z } from 'zod'
import type { AuthorizationDetail } from './details/registry.ts'

/**
 * A grant's lifecycle: `pending` while the person decides, then `active` or `denied`; an active grant
 * ends as `revoked` (by the person, the recipient or the holder) or `expired` (on its own).
 */
export const GRANT_STATUSES = ['pending', 'active', 'denied', 'revoked', 'expired'] as const
export type GrantStatus = (typeof GRANT_STATUSES)[number]

/** A grant as stored by the holder. Times are epoch milliseconds. */
export interface Grant {
  id: string
  clientId: string
  /** The account holder (the holder's own user id). */
  subject: string
  status: GrantStatus
  /** What the person allowed, after choosing accounts and narrowing: never wider than what was asked. */
  authorizationDetails: AuthorizationDetail[]
  createdAt: number
  updatedAt: number
  expiresAt: number
  /** Why the grant ended, e.g. `revoked_by_subject`, `refresh_token_reuse`. */
  endedReason?: string
  endedAt?: number
}

/** The status a grant has at `now`: an active grant past its expiry is `expired`, whatever is stored. */
export function effectiveStatus(grant: Pick<Grant, 'status' | 'expiresAt'>, now: number): GrantStatus {
  return grant.status === 'active' && grant.expiresAt <= now ? 'expired' : grant.status
}

/** Grant management response (`GET /grants/{id}`), as served to the client that owns the grant. */
export const grantResponseSchema = z.object({
  grant_id: z.string(),
  status: z.enum(GRANT_STATUSES),
  client_id: z.string(),
  authorization_details: z.array(z.looseObject({ type: z.string() })),
  created_at: z.string(),
  expires_at: z.string(),
  ended_at: z.string().optional(),
  ended_reason: z.string().optional(),
})
export type GrantResponse = z.infer<typeof grantResponseSchema>
