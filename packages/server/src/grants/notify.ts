import type { Grant } from '@consentry/core'
import { base64url, SignJWT } from 'jose'
import type { Context } from '../context.ts'
import { EgressError, guardedFetch } from '../net/guarded-fetch.ts'
import type { OutboxEvent } from '../store/store.ts'
import { randomToken } from '../tokens/random.ts'
import { consentReceipt } from './receipt.ts'

/**
 * The event type URI of "a grant has ended" in the Security Event Tokens pushed to recipients
 * (docs/events.md).
 */
export const GRANT_ENDED_EVENT = 'urn:consentry:event:grant-ended'
/** A grant changed (amended by the recipient with the person's approval, or narrowed by the person). */
export const GRANT_AMENDED_EVENT = 'urn:consentry:event:grant-amended'
/** A grant ends soon (sent once per expiry, `expiryReminder` before it). */
export const GRANT_EXPIRING_EVENT = 'urn:consentry:event:grant-expiring'

/** How long a claimed event is hidden from other instances while one delivers it. */
const DELIVERY_LEASE_MS = 60_000
const BATCH = 20

/** A Security Event Token (RFC 8417) for `clientId` carrying one event. */
function securityEvent(ctx: Context, clientId: string, uri: string, body: Record<string, unknown>) {
  return new SignJWT({ jti: randomToken(16), events: { [uri]: body } })
    .setProtectedHeader({ alg: ctx.signingKey.alg, kid: ctx.signingKey.kid, typ: 'secevent+jwt' })
    .setIssuer(ctx.urls.issuer)
    .setAudience(clientId)
    .setIssuedAt(Math.floor(ctx.now() / 1000))
    .sign(ctx.signingKey.privateKey)
}

/** Build the Security Event Token (RFC 8417) telling a recipient one of its grants ended. */
export function grantEndedEvent(ctx: Context, grant: Grant, receipt?: string): Promise<string> {
  return securityEvent(ctx, grant.clientId, GRANT_ENDED_EVENT, {
    grant_id: grant.id,
    status: grant.status,
    reason: grant.endedReason ?? 'unspecified',
    ...(receipt ? { consent_receipt: receipt } : {}),
  })
}

/**
 * The SET telling a recipient its grant changed: how (`merge`, `replace` — approved by the person —
 * or the person's own `narrow`), the details and end as they now stand, and the new receipt.
 */
export function grantAmendedEvent(
  ctx: Context,
  grant: Grant,
  change: { action: string; by: 'client' | 'subject' },
  receipt: string,
): Promise<string> {
  return securityEvent(ctx, grant.clientId, GRANT_AMENDED_EVENT, {
    grant_id: grant.id,
    action: change.action,
    by: change.by,
    authorization_details: grant.authorizationDetails,
    expires_at: new Date(grant.expiresAt).toISOString(),
    consent_receipt: receipt,
  })
}

/** The SET reminding a recipient that a grant ends soon (renew it with a `replace`). */
export function grantExpiringEvent(ctx: Context, grant: Grant): Promise<string> {
  return securityEvent(ctx, grant.clientId, GRANT_EXPIRING_EVENT, {
    grant_id: grant.id,
    expires_at: new Date(grant.expiresAt).toISOString(),
  })
}

/** An outbox entry for `client`'s webhook (none when it has no webhook). */
export async function outboxEvent(
  ctx: Context,
  client: { clientId: string; webhookUri?: string } | null,
  grantId: string,
  body: () => Promise<string>,
): Promise<OutboxEvent | undefined> {
  if (!client?.webhookUri) return undefined
  const now = ctx.now()
  return {
    id: `evt_${randomToken(16)}`,
    clientId: client.clientId,
    grantId,
    url: client.webhookUri,
    body: await body(),
    attempts: 0,
    nextAttemptAt: now,
    createdAt: now,
  }
}

/** `grant-ended`, `grant-amended`…: the event a queued SET carries (our own token, so its payload is trusted). */
function eventName(body: string): string {
  try {
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(body.split('.')[1] ?? '')))
    const uri = Object.keys(payload.events ?? {})[0] ?? ''
    return uri.startsWith('urn:consentry:event:') ? uri.slice('urn:consentry:event:'.length) : 'unknown'
  } catch {
    return 'unknown'
  }
}

/**
 * The outbox event telling the recipient a grant ended, and the final receipt it carries — built
 * before the grant is ended, so the store can queue the event in the same transaction as the
 * transition (see `endGrant`). No event (only the receipt) when the client has no webhook.
 */
export async function grantEndedNotice(
  ctx: Context,
  ended: Grant,
): Promise<{ receipt: string; event?: OutboxEvent }> {
  const client = await ctx.store.getClient(ended.clientId)
  const receipt = await consentReceipt(
    ctx,
    ended,
    client ?? { clientId: ended.clientId, clientName: ended.clientId },
  )
  if (!client?.webhookUri) return { receipt }
  const now = ctx.now()
  return {
    receipt,
    event: {
      id: `evt_${randomToken(16)}`,
      clientId: client.clientId,
      grantId: ended.id,
      url: client.webhookUri,
      body: await grantEndedEvent(ctx, ended, receipt),
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
    },
  }
}

/** Try to deliver queued events now, in the background (never throws into the caller). */
export function deliverSoon(ctx: Context): void {
  void deliverEvents(ctx).catch((e) => ctx.config.onError(e, { area: 'webhook', event: 'webhook.error' }))
}

/**
 * Push every due event (RFC 8935): a 2xx removes it; a failure schedules the next attempt after the
 * configured backoff, until the schedule is exhausted and the event is given up. Every attempt is
 * audited (status codes only). Runs after each new event, on each retry timer, and from maintenance
 * (which also picks up what a crashed instance left behind). `dueBy`: also claim events due by this
 * time (a retry timer's own due time).
 */
export async function deliverEvents(ctx: Context, dueBy?: number): Promise<number> {
  const delays = ctx.config.webhookRetryDelaysMs
  let delivered = 0
  for (;;) {
    const batch = await ctx.store.claimEvents(Math.max(ctx.now(), dueBy ?? 0), BATCH, DELIVERY_LEASE_MS)
    for (const event of batch) {
      const { status, error } = await post(ctx, event.url, event.body)
      const ok = status >= 200 && status < 300
      const attempt = event.attempts + 1
      const givingUp = !ok && attempt > delays.length
      if (ok || givingUp) await ctx.store.deleteEvent(event.id)
      else {
        const delay = delays[attempt - 1]!
        const due = ctx.now() + delay
        await ctx.store.rescheduleEvent(event.id, attempt, due)
        // The timer may fire a little before the clock reads `due` (libuv counts timeouts from the
        // event loop's cached time), so the retry claims what is due by `due`, not by its own now:
        // otherwise it would find nothing due and the event would wait for the next maintenance run.
        setTimeout(
          () =>
            void deliverEvents(ctx, due).catch((e) =>
              ctx.config.onError(e, { area: 'webhook', event: 'webhook.error' }),
            ),
          delay,
        ).unref?.()
      }
      if (ok) delivered++
      traceAttempt(ctx, event, { attempt, status, ok, givingUp, ...(error ? { error } : {}) })
      await ctx.audit.record({
        type: ok ? 'webhook.delivered' : 'webhook.failed',
        actor: { type: 'system' },
        grantId: event.grantId,
        clientId: event.clientId,
        data: {
          attempt,
          status,
          event: eventName(event.body),
          ...(error ? { error } : {}),
          ...(givingUp ? { gave_up: true } : {}),
        },
      })
    }
    if (batch.length < BATCH) return delivered
  }
}

/**
 * One `debug` line per delivery attempt (area `webhook`), and a `warn` when the schedule is exhausted:
 * the recipient never learned that the grant ended. The webhook's origin only: its path may hold a
 * secret of the recipient's.
 */
function traceAttempt(
  ctx: Context,
  event: { grantId: string; clientId: string; url: string },
  a: { attempt: number; status: number; ok: boolean; givingUp: boolean; error?: string },
) {
  const log = ctx.config.log('webhook')
  let origin: string | undefined
  try {
    origin = new URL(event.url).origin
  } catch {}
  const fields = {
    grant_id: event.grantId,
    client_id: event.clientId,
    origin,
    attempt: a.attempt,
    status: a.status,
    ...(a.error ? { error: a.error } : {}),
  }
  if (a.givingUp)
    log.warn(
      { event: 'webhook.gave_up', ...fields },
      `gave up delivering a grant-ended event to ${origin} after ${a.attempt} attempts`,
    )
  else if (log.tracing)
    log.debug(
      { event: 'webhook.attempt', ...fields, delivered: a.ok },
      `webhook ${origin} answered ${a.status || a.error}`,
    )
}

/**
 * POST the event through the guarded fetch. The recipient's answer body is never read (only its
 * status counts); a redirect, a refused address or a timeout is a failed attempt (status 0, or the
 * 3xx status) with the reason's code for the audit trail.
 */
async function post(ctx: Context, url: string, body: string): Promise<{ status: number; error?: string }> {
  try {
    const res = await guardedFetch(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json' },
        body,
        maxBytes: 0,
        discardBody: true,
      },
      ctx.config.egressOptions,
    )
    return { status: res.status }
  } catch (e) {
    if (e instanceof EgressError) return { status: e.status ?? 0, error: e.code }
    return { status: 0, error: 'egress_failed' }
  }
}
