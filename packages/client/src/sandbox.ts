/**
 * The holder's sandbox (a test holder run with `sandbox: true`): a link for a test person without any
 * page, and a test revocation that fires the usual grant-ended event. One module per operation, like
 * the rest: `link` posts to `sandbox_link_endpoint` and stores the link exactly as `completeLink`
 * does; `revoke` posts to `sandbox_revoke_endpoint`.
 */
import { type AuthorizationDetail, type DetailType, parseAuthorizationDetails } from '@consentry/core'
import * as oauth from 'oauth4webapi'
import type { ClientContext } from './context.ts'
import { ConfigurationError, InvalidRequestError, ProtocolError } from './errors.ts'
import { dpopProof, generateDPoPKey } from './keys.ts'
import { type Link, LinkImpl } from './link.ts'
import { discard, readJson, type ServerMetadata, toClientError } from './transport.ts'

/** Options of `client.sandbox.link()`. */
export interface SandboxLinkOptions {
  /** One of the holder's test people, e.g. `'alice'` or `'bob'` on the demo holder (Harbor Pay). */
  subject: string
  /**
   * What to grant (RFC 9396), as for `startLink`. A detail that names no accounts (stores, …) gets every
   * one the person holds; one that names some gets exactly those (they must be the person's).
   */
  authorizationDetails: readonly AuthorizationDetail[] | readonly Record<string, unknown>[]
}

/** What `client.sandbox.revoke()` did. */
export interface SandboxRevocation {
  grantId: string
  status: 'revoked'
  /** `sandbox_revoked`. */
  reason: string
  /** Whether a grant-ended event was queued for your webhook (false when you registered none). */
  eventQueued: boolean
}

/**
 * A holder's sandbox, for tests: `client.sandbox`. Only holders run with `sandbox: true` (never a
 * real one) announce it; on others every call throws {@link ConfigurationError}.
 */
export interface Sandbox {
  /**
   * A consented link for a test person without any page (the sandbox's answer to startLink + the
   * person's consent + completeLink): client authentication, a fresh DPoP key, the details and the
   * person go to `sandbox_link_endpoint`, which answers exactly like the code exchange. The link is
   * stored in the token store and returned, as `completeLink` does.
   *
   * @example
   * ```ts
   * const link = await client.sandbox.link({
   *   subject: 'alice',
   *   authorizationDetails: [{
   *     type: 'transaction_history', datatypes: ['accounts', 'transactions'],
   *     period: { lookback_days: 90 }, purpose: 'credit_assessment', expires_in: 86400,
   *   }],
   * })
   * const accounts = await link.accounts() // alice's wallet and savings
   * ```
   */
  link(options: SandboxLinkOptions): Promise<Link>
  /**
   * End one of your grants as if the person had revoked it (reason `sandbox_revoked`): its tokens stop
   * working at once and the signed grant-ended event goes to your webhook, as for a real revocation.
   * The token store is left alone — your webhook handler (or the next call on the link) learns of it
   * the way it would in production.
   *
   * @example
   * ```ts
   * const { eventQueued } = await client.sandbox.revoke(link.grantId)
   * // … your webhookHandler's onEvent runs with { grantId, status: 'revoked', reason: 'sandbox_revoked' }
   * ```
   */
  revoke(grantId: string): Promise<SandboxRevocation>
}

const SUBJECT = /^[^\p{Cc}]{1,256}$/u

export function createSandbox(ctx: ClientContext, detailTypes: readonly DetailType[]): Sandbox {
  const endpoint = async (member: 'sandbox_link_endpoint' | 'sandbox_revoke_endpoint') => {
    const as = await ctx.metadata()
    const url = as[member]
    if (url === undefined)
      throw new ConfigurationError(
        `the holder runs no sandbox: its metadata has no ${member} (only test holders started with sandbox: true have one)`,
      )
    return { as, url }
  }
  /** POST a client-authenticated form; `proof` adds a DPoP header (with the nonce, once asked). */
  const post = async (
    as: ServerMetadata,
    url: string,
    params: Record<string, string>,
    proof?: (nonce?: string) => Promise<string>,
  ) => {
    const auth = await ctx.auth()
    const send = async (nonce?: string) => {
      const body = new URLSearchParams(params)
      const headers = new Headers({
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      })
      // A fresh client assertion per attempt: its jti is single-use.
      await auth(as, ctx.oauthClient, body, headers)
      if (proof) headers.set('dpop', await proof(nonce))
      return ctx.t.fetch(url, { method: 'POST', headers, body, redirect: 'manual' })
    }
    let response = await send()
    const nonce = response.headers.get('dpop-nonce')
    if (proof && response.status === 400 && nonce && (await isNonceError(response.clone()))) {
      discard(response)
      response = await send(nonce)
    }
    return response
  }

  return {
    async link({ subject, authorizationDetails }: SandboxLinkOptions): Promise<Link> {
      if (typeof subject !== 'string' || !SUBJECT.test(subject))
        throw new InvalidRequestError('subject must be 1 to 256 characters (a sandbox person, e.g. alice)')
      const parsed = parseAuthorizationDetails(authorizationDetails, detailTypes)
      if (!parsed.success) throw new InvalidRequestError(parsed.error)
      const { as, url } = await endpoint('sandbox_link_endpoint')
      const dpopKey = await generateDPoPKey()
      const response = await post(
        as,
        url,
        { subject, authorization_details: JSON.stringify(parsed.data) },
        (nonce) => dpopProof(dpopKey, 'POST', url, nonce),
      )
      let tokens: oauth.TokenEndpointResponse
      try {
        tokens = await oauth.processGenericTokenEndpointResponse(as, ctx.oauthClient, response)
      } catch (err) {
        throw await toClientError(err, {
          malformed: 'the sandbox link response is malformed',
          now: ctx.clock(),
        })
      }
      // From here on, exactly completeLink: validate, fold into a LinkState, store, hand out the Link.
      const state = ctx.applyTokenResponse(tokens, undefined, { dpopKey })
      const requestedTypes = new Set(parsed.data.map((d) => d.type))
      if (!state.authorizationDetails.every((d) => requestedTypes.has(d.type)))
        throw new ProtocolError('the server granted a detail type that was not requested')
      await ctx.store.set(state.grantId, state)
      return new LinkImpl(ctx, state)
    },

    async revoke(grantId: string): Promise<SandboxRevocation> {
      if (typeof grantId !== 'string' || grantId.length === 0 || grantId.length > 256)
        throw new InvalidRequestError('grantId is required')
      const { as, url } = await endpoint('sandbox_revoke_endpoint')
      const response = await post(as, url, { grant_id: grantId })
      if (response.status !== 200) throw await toClientError(response, { grantId, now: ctx.clock() })
      const body = (await readJson(response)) as Record<string, unknown>
      if (body.grant_id !== grantId || body.status !== 'revoked' || typeof body.ended_reason !== 'string')
        throw new ProtocolError('the sandbox revoke response is malformed', { grantId })
      return {
        grantId,
        status: 'revoked',
        reason: body.ended_reason,
        eventQueued: body.event_queued === true,
      }
    },
  }
}

/** Does a 400 answer say `use_dpop_nonce` (RFC 9449 §8)? */
async function isNonceError(response: Response): Promise<boolean> {
  try {
    const body = (await response.json()) as { error?: unknown }
    return body.error === 'use_dpop_nonce'
  } catch {
    return false
  }
}
