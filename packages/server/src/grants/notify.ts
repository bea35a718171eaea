import type { Grant } from '@consentry/core'
import { SignJWT } from 'jose'
import type { Context } from '../context.ts'
import { randomToken } from '../tokens/random.ts'
import { issueReceipt } from './receipt.ts'

export const GRANT_ENDED_EVENT = 'urn:consentry:event:grant-ended'

/** Build the Security Event Token (RFC 8417) telling a recipient one of its grants ended. */
export function grantEndedEvent(ctx: Context, grant: Grant, receipt?: string): Promise<string> {
  return new SignJWT({
    jti: randomToken(16),
    events: {
      [GRANT_ENDED_EVENT]: {
        grant_id: grant.id,
        status: grant.status,
        reason: grant.endedReason ?? 'unspecified',
        ...(receipt ? { consent_receipt: receipt } : {}),
      },
    },
  })
    .setProtectedHeader({ alg: ctx.signingKey.alg, kid: ctx.signingKey.kid, typ: 'secevent+jwt' })
    .setIssuer(ctx.urls.issuer)
    .setAudience(grant.clientId)
    .setIssuedAt(Math.floor(ctx.now() / 1000))
    .sign(ctx.signingKey.privateKey)
}

/**
 * Push the event to the client's `webhook_uri` (RFC 8935) in the background, retrying with the
 * configured backoff until a 2xx. Delivery and failure are audited (status codes only).
 */
export function notifyGrantEnded(ctx: Context, grant: Grant): void {
  void (async () => {
    const client = await ctx.store.getClient(grant.clientId)
    // The ended grant's receipt is issued (and audited) whether or not the client listens for events.
    const receipt = await issueReceipt(
      ctx,
      grant,
      client ?? { clientId: grant.clientId, clientName: grant.clientId },
    )
    if (!client?.webhookUri) return
    const set = await grantEndedEvent(ctx, grant, receipt)
    const delays = ctx.config.webhookRetryDelaysMs
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      let status = 0
      try {
        const res = await ctx.config.fetch(client.webhookUri, {
          method: 'POST',
          headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json' },
          body: set,
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        })
        status = res.status
        await res.body?.cancel()
      } catch {
        status = 0
      }
      const ok = status >= 200 && status < 300
      await ctx.audit.record({
        type: ok ? 'webhook.delivered' : 'webhook.failed',
        actor: { type: 'system' },
        grantId: grant.id,
        clientId: grant.clientId,
        data: { attempt: attempt + 1, status, event: 'grant-ended' },
      })
      if (ok || attempt === delays.length) return
      await new Promise((r) => setTimeout(r, delays[attempt]).unref?.())
    }
  })().catch((e) => ctx.config.onError(e))
}
