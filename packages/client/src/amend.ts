/**
 * Changing a linked grant (FAPI Grant Management §3.2–3.3): push an authorization request naming the
 * grant (`grant_id` + `grant_management_action`), send the person to approve the change on the
 * holder's page, then exchange the code for tokens of the *same* grant with the link's own DPoP key.
 */
import { type AuthorizationDetail, builtInDetailTypes, parseAuthorizationDetails } from '@consentry/core'
import { decodeJwt } from 'jose'
import * as oauth from 'oauth4webapi'
import { exchangeCode, readCallback } from './callback.ts'
import type { ClientContext } from './context.ts'
import { InvalidRequestError, ProtocolError } from './errors.ts'
import { thumbprint } from './keys.ts'
import type { LinkState } from './token-store.ts'
import { toClientError } from './transport.ts'

const STATE_RE = /^[\x21-\x7e]{1,512}$/

/**
 * How the requested details change the grant: `merge` (default) adds them to what is granted — more
 * accounts, datatypes or fields; a longer period, a later end or more reads a day only when the
 * detail says so — and `replace` makes them the whole grant (send the full details).
 */
export type AmendAction = 'merge' | 'replace'

/** Options of `link.amend()`. */
export interface AmendOptions {
  /** Default `merge`. */
  action?: AmendAction
  /** Your own state value (default: 32 random bytes). Bind it to the user's session. */
  state?: string
}

/**
 * Everything needed to finish an amendment, as plain JSON: keep it server-side between
 * `link.amend()` and `link.completeAmend()` (it holds the PKCE verifier).
 */
export interface PendingAmend {
  /** Format version. */
  version: 1
  /** Tells it apart from a `PendingLink`. */
  kind: 'amend'
  /** The holder it was pushed to. */
  issuer: string
  /** The client that pushed it. */
  clientId: string
  /** The grant it changes. */
  grantId: string
  /** The redirect URI the callback arrives on. */
  redirectUri: string
  /** The `state` the callback must carry. */
  state: string
  /** The PKCE verifier (RFC 7636) of the code exchange. Keep it secret. */
  codeVerifier: string
  /** `merge` or `replace`. */
  action: AmendAction
  /** The requested details (after validation and defaults). */
  authorizationDetails: AuthorizationDetail[]
  /** Epoch ms. */
  createdAt: number
}

/** Result of `link.amend()` / `link.renew()`. */
export interface StartAmendResult {
  /** Send the person's browser here to approve the change. */
  url: string
  /** Keep it server-side until the callback, for `link.completeAmend()`. */
  pending: PendingAmend
}

/**
 * What became of an amendment. `approved`: the grant (the same `grantId`) now allows what `grant`
 * says, and the link holds fresh tokens for it. `declined`: the person said no; the grant and the
 * link are exactly as they were.
 */
export type AmendResult =
  | {
      /** The person approved the change (perhaps narrowed by them). */
      outcome: 'approved'
      /** The same grant as before. */
      grantId: string
      /** The granted details as they now stand. */
      authorizationDetails: AuthorizationDetail[]
      /** The grant's end, from the new consent receipt (absent if the server sent none). */
      expiresAt?: Date
      /** The signed consent receipt of the amended grant (`typ: consent-receipt+jwt`). */
      consentReceipt?: string
    }
  | {
      /** The person said no: nothing changed. */
      outcome: 'declined'
      /** The grant, unchanged. */
      grantId: string
    }

/** Push the amendment request (PAR) bound to the link's DPoP key. */
export async function startAmend(
  ctx: ClientContext,
  state: LinkState,
  details: readonly AuthorizationDetail[] | readonly Record<string, unknown>[],
  options: AmendOptions = {},
): Promise<StartAmendResult> {
  const action = options.action ?? 'merge'
  if (action !== 'merge' && action !== 'replace')
    throw new InvalidRequestError('action must be merge or replace')
  const parsed = parseAuthorizationDetails(details, [
    ...builtInDetailTypes,
    ...(ctx.options.detailTypes ?? []),
  ])
  if (!parsed.success) throw new InvalidRequestError(parsed.error)
  if (options.state !== undefined && (typeof options.state !== 'string' || !STATE_RE.test(options.state)))
    throw new InvalidRequestError('state must be 1 to 512 printable ASCII characters')
  const [as, auth] = await Promise.all([ctx.metadata(), ctx.auth()])
  const supported = (as as { grant_management_actions_supported?: unknown })
    .grant_management_actions_supported
  if (!Array.isArray(supported) || !supported.includes(action))
    throw new ProtocolError(`the server does not support grant_management_action=${action}`)
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const linkState = options.state ?? oauth.generateRandomState()
  const params = new URLSearchParams({
    response_type: 'code',
    redirect_uri: ctx.redirectUri,
    state: linkState,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    // Only what the caller wrote: defaults filled in here would lengthen or widen a merge.
    authorization_details: JSON.stringify(details),
    // The new tokens stay bound to the link's key (RFC 9449 §10).
    dpop_jkt: await thumbprint(state.dpopKey.publicKey),
    grant_id: state.grantId,
    grant_management_action: action,
  })
  let requestUri: string
  try {
    const response = await oauth.pushedAuthorizationRequest(as, ctx.oauthClient, auth, params, ctx.t.opts)
    requestUri = (await oauth.processPushedAuthorizationResponse(as, ctx.oauthClient, response)).request_uri
  } catch (err) {
    throw await toClientError(err, {
      malformed: 'the pushed authorization response is malformed',
      now: ctx.clock(),
    })
  }
  const url = new URL(as.authorization_endpoint as string)
  url.search = ''
  url.searchParams.set('client_id', ctx.clientId)
  url.searchParams.set('request_uri', requestUri)
  return {
    url: url.href,
    pending: {
      version: 1,
      kind: 'amend',
      issuer: ctx.t.issuer,
      clientId: ctx.clientId,
      grantId: state.grantId,
      redirectUri: ctx.redirectUri,
      state: linkState,
      codeVerifier,
      action,
      authorizationDetails: parsed.data,
      createdAt: ctx.clock(),
    },
  }
}

/**
 * Finish an amendment from the callback: check `iss` and `state`; a refusal (`access_denied`) is a
 * `declined` result; otherwise exchange the code with the link's DPoP key, check the tokens are for
 * the same grant, and store them in the link.
 */
export async function completeAmend(
  ctx: ClientContext,
  state: LinkState,
  callbackUrl: string | URL,
  pending: PendingAmend,
): Promise<{ result: AmendResult; state?: LinkState }> {
  checkPendingAmend(pending, ctx, state.grantId)
  const read = await readCallback(ctx, callbackUrl, pending.state)
  if (read === 'denied') return { result: { outcome: 'declined', grantId: state.grantId } }
  const response = await exchangeCode(ctx, read, pending, await ctx.dpopFor(state))
  if (response.grant_id !== state.grantId)
    throw new ProtocolError('the amended tokens are not for this grant', { grantId: state.grantId })
  const applied = ctx.applyTokenResponse(response, state)
  const allowed = new Set([
    ...pending.authorizationDetails.map((d) => d.type),
    ...(pending.action === 'merge' ? state.authorizationDetails.map((d) => d.type) : []),
  ])
  if (!applied.authorizationDetails.every((d) => allowed.has(d.type)))
    throw new ProtocolError('the server granted a detail type that was not requested', {
      grantId: state.grantId,
    })
  const receipt = typeof response.consent_receipt === 'string' ? response.consent_receipt : undefined
  const expiresAt = receiptExpiry(receipt)
  const next: LinkState = { ...applied, ...(expiresAt !== undefined ? { grantExpiresAt: expiresAt } : {}) }
  await ctx.store.set(state.grantId, next)
  return {
    result: {
      outcome: 'approved',
      grantId: state.grantId,
      authorizationDetails: structuredClone(next.authorizationDetails),
      ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt) } : {}),
      ...(receipt ? { consentReceipt: receipt } : {}),
    },
    state: next,
  }
}

/** The `expires_at` of a consent receipt (from the token endpoint, over the same channel as the tokens). */
function receiptExpiry(receipt: string | undefined): number | undefined {
  if (!receipt) return undefined
  try {
    const at = decodeJwt(receipt).expires_at
    const ms = typeof at === 'string' ? Date.parse(at) : Number.NaN
    return Number.isFinite(ms) ? ms : undefined
  } catch {
    return undefined
  }
}

function checkPendingAmend(pending: PendingAmend, ctx: ClientContext, grantId: string): void {
  const ok =
    pending &&
    typeof pending === 'object' &&
    pending.version === 1 &&
    pending.kind === 'amend' &&
    typeof pending.state === 'string' &&
    typeof pending.codeVerifier === 'string' &&
    typeof pending.redirectUri === 'string' &&
    (pending.action === 'merge' || pending.action === 'replace') &&
    Array.isArray(pending.authorizationDetails)
  if (!ok) throw new InvalidRequestError('pending is not a PendingAmend from link.amend')
  if (pending.issuer !== ctx.t.issuer || pending.clientId !== ctx.clientId)
    throw new InvalidRequestError('pending was started with another issuer or client')
  if (pending.grantId !== grantId) throw new InvalidRequestError('pending amends another grant')
}
