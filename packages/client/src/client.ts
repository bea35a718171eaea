import {
  type AllowedAlg,
  type AuthorizationDetail,
  builtInDetailTypes,
  type DetailType,
  isSecureUrl,
  parseAuthorizationDetails,
} from '@consentry/core'
import type { JWK } from 'jose'
import * as oauth from 'oauth4webapi'
import { exchangeCode, readCallback } from './callback.ts'
import { ClientContext } from './context.ts'
import {
  ConfigurationError,
  InvalidRequestError,
  IssuerMismatchError,
  LinkDeniedError,
  ProtocolError,
  StateMismatchError,
} from './errors.ts'
import { type ConsentEvent, createWebhookHandler, verifyEvent } from './events.ts'
import { generateDPoPKey, importDPoPKey, thumbprint } from './keys.ts'
import { type Link, LinkImpl } from './link.ts'
import { createSandbox, type Sandbox } from './sandbox.ts'
import { type DPoPKeyJwks, memoryTokenStore, type TokenStore } from './token-store.ts'
import { createTransport, type FetchFn, toClientError } from './transport.ts'

/** Options of {@link createConsentClient}. A {@link RegisteredClient} from `registerClient` fits as-is. */
export interface ConsentClientOptions {
  /** The data holder's issuer identifier, exactly as its metadata states it (https; http only on loopback). */
  issuer: string
  /** The client id from registration. */
  clientId: string
  /** The private key registered for `private_key_jwt`: a private JWK or a signing CryptoKey. */
  privateKey: JWK | CryptoKey
  /** `kid` for the client assertion header (default: the JWK's `kid`). */
  privateKeyKid?: string
  /** `ES256` (default for generated keys), `PS256` or `EdDSA`; inferred from the key when omitted. */
  alg?: AllowedAlg
  /** The registered redirect URI the callback arrives on. */
  redirectUri: string
  /** Where links (tokens, DPoP keys) are kept. Default: in memory. */
  tokenStore?: TokenStore
  /** The `fetch` to use (default the global one), e.g. to add a proxy or timeouts. */
  fetch?: typeof fetch
  /** Default `x-fapi-customer-ip-address` for reads (normally pass it per call, only when the person is present). */
  customerIpAddress?: string
  /** Epoch-millisecond clock for the SDK's own expiry decisions (default `Date.now`). */
  clock?: () => number
  /** Resource base URL when the server's metadata lacks `consentry_resource` (default `{issuer}/api`). */
  resource?: string
  /** Holder-defined detail types accepted by `startLink` besides `transaction_history`. */
  detailTypes?: readonly DetailType[]
  /** Refresh access tokens this many seconds before they expire (default 30). */
  refreshSkewSeconds?: number
  /**
   * DANGEROUS: allow plain-http issuers that are not loopback. Tokens and keys then cross the network in
   * clear text. Never in production.
   */
  dangerouslyAllowInsecureHttp?: boolean
}

/** Options of `client.startLink()`. */
export interface StartLinkOptions {
  /** What to ask for (RFC 9396), e.g. one `transaction_history` detail. Validated before any request. */
  authorizationDetails: readonly AuthorizationDetail[] | readonly Record<string, unknown>[]
  /** Your own state value (default: 32 random bytes). Bind it to the user's session. */
  state?: string
}

/**
 * Everything needed to finish a link, as plain JSON. Keep it server-side (e.g. in the session) between
 * `startLink` and `completeLink`: it holds the PKCE verifier and the link's private DPoP key.
 */
export interface PendingLink {
  /** Format version of this object. */
  version: 1
  /** The data holder's issuer. */
  issuer: string
  /** This client's id. */
  clientId: string
  /** The redirect URI the callback must arrive on. */
  redirectUri: string
  /** The `state` the callback must carry back (CSRF defence). */
  state: string
  /** PKCE verifier (secret until the code is redeemed). */
  codeVerifier: string
  /** The DPoP key the link's tokens will be bound to (secret). */
  dpopKey: DPoPKeyJwks
  /** The requested details (after validation and defaults). */
  authorizationDetails: AuthorizationDetail[]
  /** Epoch ms. */
  createdAt: number
}

/** Result of `client.startLink()`. */
export interface StartLinkResult {
  /** Send the person's browser here: `{authorization_endpoint}?client_id=…&request_uri=…`. */
  url: string
  /** Keep this server-side (e.g. in the person's session) until the callback: pass it to `completeLink`. */
  pending: PendingLink
}

/** The recipient's Consentry client. Create it with {@link createConsentClient}. */
export interface ConsentClient {
  /** The data holder's issuer identifier. */
  readonly issuer: string
  /** This client's id at the holder. */
  readonly clientId: string
  /**
   * Start a link: validate the details, push the authorization request (PAR, PKCE S256, `dpop_jkt`) and
   * return the URL to send the person to plus the {@link PendingLink} to keep.
   *
   * @example
   * ```ts
   * const { url, pending } = await client.startLink({ authorizationDetails: [{
   *   type: 'transaction_history', datatypes: ['accounts', 'transactions'],
   *   fields: ['booked_at', 'amount', 'currency'], period: { lookback_days: 90 },
   *   purpose: 'credit_assessment', expires_in: 30 * 86400,
   * }] })
   * session.pending = pending
   * return Response.redirect(url, 303)
   * ```
   */
  startLink(options: StartLinkOptions): Promise<StartLinkResult>
  /**
   * Finish a link from the callback URL: checks `iss` and `state`, exchanges the code with DPoP, stores
   * the tokens and returns the {@link Link}. Throws {@link LinkDeniedError} (`link_denied`) if the person
   * declined, {@link IssuerMismatchError} / {@link StateMismatchError} on a forged or mixed-up callback.
   *
   * @example
   * ```ts
   * const link = await client.completeLink(request.url, session.pending)
   * await db.saveGrantId(user.id, link.grantId)
   * ```
   */
  completeLink(callbackUrl: string | URL, pending: PendingLink): Promise<Link>
  /**
   * Re-open a stored link. Throws {@link GrantRevokedError} / {@link GrantExpiredError} for a link the
   * SDK knows has ended, {@link LinkNotFoundError} if the token store has no such grant at all.
   *
   * @example
   * ```ts
   * const link = await client.link(grantId)
   * ```
   */
  link(grantId: string): Promise<Link>
  /**
   * Verify a pushed Security Event Token against the issuer's JWKS and return the event
   * (`grant-ended`, `grant-amended` or `grant-expiring`).
   *
   * @example
   * ```ts
   * const event = await client.verifyEvent(await request.text())
   * if (event.type === 'grant-ended') console.log(event.grantId, event.status)
   * ```
   */
  verifyEvent(jwt: string): Promise<ConsentEvent>
  /**
   * A `Request → Response` webhook handler: verifies the event, keeps the token store in step —
   * `grant-ended` ends the link (its tokens are deleted and a tombstone kept, so later calls on the
   * grant throw `GrantRevokedError` / `GrantExpiredError`); `grant-amended` records the new details
   * and end; `grant-expiring` the end — calls `onEvent`, answers `202` (or `400` for a bad token).
   *
   * @example
   * ```ts
   * const webhook = client.webhookHandler(async (event) => {
   *   if (event.type === 'grant-ended') await markEnded(event.grantId, event.status)
   *   if (event.type === 'grant-expiring') await askToRenew(event.grantId, event.expiresAt)
   * })
   * app.post('/consentry/events', (req) => webhook(req))
   * ```
   */
  webhookHandler(
    onEvent: (event: ConsentEvent) => void | Promise<void>,
  ): (request: Request) => Promise<Response>
  /**
   * The holder's sandbox, for your tests: a link for a test person without any page, and a test
   * revocation that fires the grant-ended event. Only test holders (run with `sandbox: true`) have
   * one; elsewhere its calls throw {@link ConfigurationError}.
   *
   * @example
   * ```ts
   * const link = await client.sandbox.link({ subject: 'alice', authorizationDetails: [detail] })
   * for await (const tx of link.transactions({ accountId: link.grant.accounts[0]! })) console.log(tx)
   * await client.sandbox.revoke(link.grantId) // your webhook receives the grant-ended event
   * ```
   */
  readonly sandbox: Sandbox
}

const STATE_RE = /^[\x21-\x7e]{1,512}$/

/**
 * Create the recipient's client. Nothing is fetched until first use; discovery is cached.
 *
 * @example
 * ```ts
 * const client = createConsentClient({
 *   issuer: 'https://pay.example',
 *   clientId: 'cl_123',
 *   privateKey: savedPrivateJwk,
 *   redirectUri: 'https://lender.example/callback',
 *   tokenStore: myDatabaseStore,
 * })
 * ```
 */
export function createConsentClient(options: ConsentClientOptions): ConsentClient {
  if (!options || typeof options !== 'object') throw new ConfigurationError('options are required')
  const transport = createTransport({
    issuer: options.issuer,
    ...(options.fetch ? { fetch: options.fetch as FetchFn } : {}),
    ...(options.dangerouslyAllowInsecureHttp ? { dangerouslyAllowInsecureHttp: true } : {}),
  })
  if (typeof options.clientId !== 'string' || options.clientId.length === 0)
    throw new ConfigurationError('clientId is required')
  if (!options.privateKey) throw new ConfigurationError('privateKey is required')
  if (
    typeof options.redirectUri !== 'string' ||
    !(isSecureUrl(options.redirectUri) || options.dangerouslyAllowInsecureHttp)
  )
    throw new ConfigurationError('redirectUri must be https, or http on a loopback host')
  if (options.resource !== undefined && typeof options.resource !== 'string')
    throw new ConfigurationError('resource must be a URL')
  const skew = options.refreshSkewSeconds ?? 30
  if (!Number.isFinite(skew) || skew < 0)
    throw new ConfigurationError('refreshSkewSeconds must be a non-negative number')
  const clock = options.clock ?? (() => Date.now())
  const ctx = new ClientContext({
    transport,
    clientId: options.clientId,
    privateKey: options.privateKey,
    ...(options.privateKeyKid ? { privateKeyKid: options.privateKeyKid } : {}),
    ...(options.alg ? { alg: options.alg } : {}),
    redirectUri: options.redirectUri,
    tokenStore: options.tokenStore ?? memoryTokenStore(),
    clock,
    ...(options.resource ? { resource: options.resource } : {}),
    ...(options.customerIpAddress ? { customerIpAddress: options.customerIpAddress } : {}),
    ...(options.detailTypes ? { detailTypes: options.detailTypes } : {}),
    refreshSkewSeconds: skew,
  })
  const detailTypes = [...builtInDetailTypes, ...(options.detailTypes ?? [])]

  const verify = async (jwt: string): Promise<ConsentEvent> =>
    verifyEvent(jwt, {
      issuer: transport.issuer,
      clientId: ctx.clientId,
      jwks: await ctx.holderKeys(),
      clock,
    })

  return {
    issuer: transport.issuer,
    clientId: options.clientId,

    async startLink({ authorizationDetails, state }: StartLinkOptions): Promise<StartLinkResult> {
      const parsed = parseAuthorizationDetails(authorizationDetails, detailTypes)
      if (!parsed.success) throw new InvalidRequestError(parsed.error)
      if (state !== undefined && (typeof state !== 'string' || !STATE_RE.test(state)))
        throw new InvalidRequestError('state must be 1 to 512 printable ASCII characters')
      const [as, auth] = await Promise.all([ctx.metadata(), ctx.auth()])
      const codeVerifier = oauth.generateRandomCodeVerifier()
      const linkState = state ?? oauth.generateRandomState()
      const dpopKey = await generateDPoPKey()
      const params = new URLSearchParams({
        response_type: 'code',
        redirect_uri: ctx.redirectUri,
        state: linkState,
        code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        authorization_details: JSON.stringify(parsed.data),
        dpop_jkt: await thumbprint(dpopKey.publicKey),
      })
      let requestUri: string
      try {
        const response = await oauth.pushedAuthorizationRequest(
          as,
          ctx.oauthClient,
          auth,
          params,
          transport.opts,
        )
        requestUri = (await oauth.processPushedAuthorizationResponse(as, ctx.oauthClient, response))
          .request_uri
      } catch (err) {
        throw await toClientError(err, {
          malformed: 'the pushed authorization response is malformed',
          now: clock(),
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
          issuer: transport.issuer,
          clientId: ctx.clientId,
          redirectUri: ctx.redirectUri,
          state: linkState,
          codeVerifier,
          dpopKey,
          authorizationDetails: parsed.data,
          createdAt: clock(),
        },
      }
    },

    async completeLink(callbackUrl: string | URL, pending: PendingLink): Promise<Link> {
      checkPending(pending, transport.issuer, ctx.clientId)
      const read = await readCallback(ctx, callbackUrl, pending.state)
      if (read === 'denied') throw new LinkDeniedError({ serverError: 'access_denied' })
      const dpop = oauth.DPoP(ctx.oauthClient, await importDPoPKey(pending.dpopKey))
      const response = await exchangeCode(ctx, read, pending, dpop)
      const state = ctx.applyTokenResponse(response, undefined, { dpopKey: pending.dpopKey })
      const requestedTypes = new Set(pending.authorizationDetails.map((d) => d.type))
      if (!state.authorizationDetails.every((d) => requestedTypes.has(d.type)))
        throw new ProtocolError('the server granted a detail type that was not requested')
      await ctx.store.set(state.grantId, state)
      await ctx.adoptDPoP(state, dpop)
      return new LinkImpl(ctx, state)
    },

    async link(grantId: string): Promise<Link> {
      if (typeof grantId !== 'string' || grantId.length === 0)
        throw new InvalidRequestError('grantId is required')
      const state = await ctx.loadState(grantId)
      if (state.issuer !== transport.issuer || state.clientId !== ctx.clientId)
        throw new InvalidRequestError('the stored link belongs to another issuer or client')
      return new LinkImpl(ctx, state)
    },

    verifyEvent: verify,

    sandbox: createSandbox(ctx, detailTypes),

    webhookHandler(onEvent) {
      return createWebhookHandler(verify, async (event) => {
        if (event.type === 'grant-ended') {
          // Tombstone, then drop the tokens: later calls on this grant throw GrantRevokedError / GrantExpiredError.
          await ctx.endLink(event.grantId, event.status === 'expired' ? 'expired' : 'revoked', event.reason)
        } else {
          // Keep the stored link in step: reads are enforced by the holder against the grant anyway.
          const state = await ctx.store.get(event.grantId)
          if (state && state.issuer === transport.issuer && state.clientId === ctx.clientId)
            await ctx.store.set(event.grantId, {
              ...state,
              ...(event.type === 'grant-amended'
                ? { authorizationDetails: structuredClone(event.authorizationDetails) }
                : {}),
              grantExpiresAt: event.expiresAt.getTime(),
              updatedAt: clock(),
            })
        }
        await onEvent(event)
      })
    },
  }
}

function checkPending(pending: PendingLink, issuer: string, clientId: string): void {
  const ok =
    pending &&
    typeof pending === 'object' &&
    pending.version === 1 &&
    typeof pending.state === 'string' &&
    typeof pending.codeVerifier === 'string' &&
    typeof pending.redirectUri === 'string' &&
    pending.dpopKey &&
    typeof pending.dpopKey === 'object' &&
    Array.isArray(pending.authorizationDetails)
  if (!ok) throw new InvalidRequestError('pending is not a PendingLink from startLink')
  if (pending.issuer !== issuer || pending.clientId !== clientId)
    throw new InvalidRequestError('pending was started with another issuer or client')
}
