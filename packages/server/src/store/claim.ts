import type { Grant } from '@consentry/core'
import type { ReadClaim } from './store.ts'

/**
 * Whether a read claimed in {@link Store.recordJtiAndGetGrant} is counted against `grant` (its jti
 * being first used): the grant is active, the claim's client's, and not expired at the claim's time.
 * The SQL stores say the same in SQL.
 */
export function claimCounts(
  grant: Pick<Grant, 'status' | 'clientId' | 'expiresAt'>,
  claim: ReadClaim,
): boolean {
  return grant.status === 'active' && grant.clientId === claim.clientId && grant.expiresAt > claim.now
}
