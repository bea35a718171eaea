import {
  type AuditActor,
  type AuthorizationDetail,
  effectiveStatus,
  type Grant,
  type GrantStatus,
  type Json,
} from '@consentry/core'
import type { Context } from '../context.ts'
import type { AmendAction } from './amend.ts'
import {
  deliverSoon,
  grantAmendedEvent,
  grantEndedNotice,
  grantExpiringEvent,
  outboxEvent,
} from './notify.ts'
import { consentReceipt, receiptId, recordReceipt } from './receipt.ts'

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

/** A change to an active grant, decided by the person (see {@link amendGrant}). */
export interface GrantChange {
  action: AmendAction
  /** Who asked: the recipient (`merge`/`replace`, approved by the person) or the person (`narrow`). */
  by: 'client' | 'subject'
  actor: AuditActor
  authorizationDetails: AuthorizationDetail[]
  expiresAt: number
}

/**
 * Apply a change to the *same* grant — one id, one history, one trail. `read` is the grant as the
 * change was computed from it: if it changed meanwhile (another amendment, a revocation) nothing is
 * applied and `null` is returned, so a decision is never applied to a grant the person did not see.
 *
 * The new receipt and the `grant-amended` event are built first; the store then applies the change
 * and queues the event in ONE transaction; then the trail records `grant.amended` (before and
 * after) and the receipt, and delivery is attempted. Tokens issued before keep working, but only
 * within the new details: every read checks the grant as it stands.
 */
export async function amendGrant(ctx: Context, read: Grant, change: GrantChange): Promise<Grant | null> {
  if (read.status !== 'active') return null
  // Strictly later than the version it replaces: each version has its own receipt id.
  const updatedAt = Math.max(ctx.now(), read.updatedAt + 1)
  const next: Grant = {
    ...read,
    authorizationDetails: change.authorizationDetails,
    expiresAt: change.expiresAt,
    updatedAt,
  }
  const client = await ctx.store.getClient(read.clientId)
  const how = { action: change.action, by: change.by }
  const receipt = await consentReceipt(
    ctx,
    next,
    client ?? { clientId: read.clientId, clientName: read.clientId },
    { ...how, previous: receiptId(read) },
  )
  const event = await outboxEvent(ctx, client, read.id, () => grantAmendedEvent(ctx, next, how, receipt))
  const amended = await ctx.store.transitionGrant(
    read.id,
    ['active'],
    { authorizationDetails: next.authorizationDetails, expiresAt: next.expiresAt, updatedAt },
    { ifUpdatedAt: read.updatedAt, ...(event ? { outbox: event } : {}) },
  )
  if (!amended) return null
  const iso = (ms: number) => new Date(ms).toISOString()
  await ctx.audit.record({
    type: 'grant.amended',
    actor: change.actor,
    grantId: read.id,
    clientId: read.clientId,
    subject: read.subject,
    data: {
      action: change.action,
      by: change.by,
      before: read.authorizationDetails as Json,
      after: amended.authorizationDetails as Json,
      expires_before: iso(read.expiresAt),
      expires_after: iso(amended.expiresAt),
      previous_receipt: receiptId(read),
      receipt: receiptId(amended),
    },
  })
  await recordReceipt(ctx, amended, receipt)
  if (event) deliverSoon(ctx)
  return amended
}

/**
 * Remind recipients of grants that end within `ctx.config.expiryReminderMs` (a `grant-expiring`
 * event through the outbox, once per expiry: a renewal moves the expiry and re-arms it). Run from
 * maintenance. Returns how many grants were reminded.
 */
export async function remindExpiringGrants(ctx: Context, batch = 100): Promise<number> {
  const before = ctx.now() + ctx.config.expiryReminderMs
  if (ctx.config.expiryReminderMs <= 0) return 0
  let reminded = 0
  let stale = 0
  for (;;) {
    const due = await ctx.store.listGrantsToRemind(ctx.now(), before, batch)
    for (const g of due) {
      const client = await ctx.store.getClient(g.clientId)
      const event = await outboxEvent(ctx, client, g.id, () => grantExpiringEvent(ctx, g))
      if (await ctx.store.markGrantReminded(g.id, g.expiresAt, event)) reminded++
      else stale++
    }
    // A full batch that another instance reminded first: look again, but never spin on it.
    if (due.length < batch || stale === due.length) break
    stale = 0
  }
  if (reminded) deliverSoon(ctx)
  return reminded
}
