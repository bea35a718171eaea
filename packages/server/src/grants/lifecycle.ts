import { type AuditActor, effectiveStatus, type Grant, type GrantStatus } from '@consentry/core'
import type { Context } from '../context.ts'
import { deliverSoon, grantEndedNotice } from './notify.ts'
import { recordReceipt } from './receipt.ts'

/** Attempts at ending a grant whose status changes under us (e.g. approved while being revoked). */
const END_ATTEMPTS = 3

/**
 * End a grant (revoked or expired). The final receipt and the signed event for the recipient are
 * built first, from the grant as it will be once ended; then the store ends it, revokes its refresh
 * tokens and queues the event in ONE transaction — a crash can lose neither the event nor the
 * revocation. Then the audit trail records it and delivery is attempted. Ending an already-ended
 * grant is a no-op that returns `null`, so concurrent revocations emit one event.
 */
export async function endGrant(
  ctx: Context,
  grantId: string,
  status: 'revoked' | 'expired',
  reason: string,
  actor: AuditActor,
  from: readonly GrantStatus[] = ['active', 'pending'],
): Promise<Grant | null> {
  for (let attempt = 0; attempt < END_ATTEMPTS; attempt++) {
    const current = await ctx.store.getGrant(grantId)
    if (!current || !from.includes(current.status)) return null
    const now = ctx.now()
    const patch = { status, updatedAt: now, endedAt: now, endedReason: reason }
    // The recipient only knows grants it received tokens for: an unanswered request needs no event.
    const notice =
      current.status === 'active' ? await grantEndedNotice(ctx, { ...current, ...patch }) : undefined
    // Compare-and-set against the status the notice was built from, so it describes what was ended.
    const ended = await ctx.store.transitionGrant(grantId, [current.status], patch, {
      revokeRefreshTokensAt: now,
      ...(notice?.event ? { outbox: notice.event } : {}),
    })
    if (!ended) continue // changed meanwhile: look again
    await ctx.audit.record({
      type: status === 'revoked' ? 'grant.revoked' : 'grant.expired',
      actor,
      grantId,
      clientId: ended.clientId,
      subject: ended.subject,
      data: { reason },
    })
    if (notice) await recordReceipt(ctx, ended, notice.receipt)
    if (notice?.event) deliverSoon(ctx)
    return ended
  }
  return null
}

/**
 * The grant named by a token, if it may be used right now. This is the single indexed lookup behind
 * "revocation works on the very next request": tokens are only as good as their grant's stored status.
 * An active grant found past its expiry is ended on the spot.
 */
export async function usableGrant(
  ctx: Context,
  grantId: string,
  loaded?: Grant | null,
): Promise<Grant | null> {
  const grant = loaded === undefined ? await ctx.store.getGrant(grantId) : loaded
  if (!grant) return null
  const status = effectiveStatus(grant, ctx.now())
  if (status === 'active') return grant
  if (status === 'expired' && grant.status === 'active')
    await endGrant(ctx, grant.id, 'expired', 'lifetime_elapsed', { type: 'system' })
  return null
}

/** End every active grant past its expiry (run periodically; also happens lazily on use). */
export async function sweepExpiredGrants(ctx: Context, batch = 100): Promise<number> {
  const due = await ctx.store.listExpiringGrants(ctx.now(), batch)
  let ended = 0
  for (const g of due) {
    // A pending grant past its expiry is a consent request the person never answered.
    const ok =
      g.status === 'pending'
        ? await endGrant(ctx, g.id, 'expired', 'consent_not_given', { type: 'system' }, ['pending'])
        : await endGrant(ctx, g.id, 'expired', 'lifetime_elapsed', { type: 'system' }, ['active'])
    if (ok) ended++
  }
  return ended
}
