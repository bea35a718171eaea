/**
 * The shared engine behind a ConsentClient and its Links: cached discovery and client authentication,
 * token refresh (deduplicated per grant, rotation persisted before use), DPoP handles, the grant
 * management token, and protected-resource requests with nonce / invalid_token retries.
 * Internal: not exported from the package.
 */
import type { AllowedAlg, AuthorizationDetail, DetailType } from '@consentry/core'
import { createRemoteJWKSet, customFetch, decodeJwt, type JWK, type JWTVerifyGetKey } from 'jose'
import * as oauth from 'oauth4webapi'
import {
  type ConsentryClientError,
  GrantExpiredError,
  GrantRevokedError,
  LinkNotFoundError,
  ProtocolError,
  safeCode,
  UnauthorizedError,
} from './errors.ts'
import { type ClientKey, importClientKey, importDPoPKey, privateKeyJwtAuth, thumbprint } from './keys.ts'
import type { EndedLink, LinkState, TokenStore } from './token-store.ts'
import {
  challengeError,
  discard,
  discover,
  isAllowedUrl,
  type ServerMetadata,
  type Transport,
  toClientError,
  withNonceRetry,
} from './transport.ts'

export interface ContextOptions {
  transport: Transport
  clientId: string
  privateKey: JWK | CryptoKey
  privateKeyKid?: string
  alg?: AllowedAlg
  redirectUri: string
  tokenStore: TokenStore
  clock: () => number
  resource?: string
  customerIpAddress?: string
  detailTypes?: readonly DetailType[]
  refreshSkewSeconds: number
}

/** Scopes of the client_credentials token used for grant management. */
export const GRANT_MANAGEMENT_SCOPE = 'grant_management_query grant_management_revoke'

/** Ended links remembered in memory per client (for token stores without `getEnded`). */
const MAX_REMEMBERED_ENDS = 10_000

/** The error every call on an ended link throws. */
export function endedError(ended: EndedLink): ConsentryClientError {
  const details = {
    grantId: ended.grantId,
    ...(ended.reason !== undefined ? { reason: ended.reason } : {}),
    ...(typeof ended.endedAt === 'number' ? { endedAt: ended.endedAt } : {}),
  }
  return ended.status === 'expired' ? new GrantExpiredError(details) : new GrantRevokedError(details)
}

export class ClientContext {
  readonly t: Transport
  readonly clientId: string
  readonly redirectUri: string
  readonly store: TokenStore
  readonly clock: () => number
  readonly options: ContextOptions
  readonly oauthClient: oauth.Client

  #as?: Promise<ServerMetadata>
  #auth?: Promise<oauth.ClientAuth>
  #refreshing = new Map<string, Promise<LinkState>>()
  #dpop = new Map<string, { jkt: string; handle: Promise<oauth.DPoPHandle> }>()
  #gmDpop?: Promise<oauth.DPoPHandle>
  #gmToken?: { token: string; expiresAt: number }
  #gmInFlight?: Promise<string>
  #jwks?: JWTVerifyGetKey
  #ended = new Map<string, EndedLink>()

  constructor(options: ContextOptions) {
    this.options = options
    this.t = options.transport
    this.clientId = options.clientId
    this.redirectUri = options.redirectUri
    this.store = options.tokenStore
    this.clock = options.clock
    this.oauthClient = { client_id: options.clientId }
  }

  /** Discovery, cached; a failed discovery is retried on the next call. */
  metadata(): Promise<ServerMetadata> {
    if (!this.#as) {
      this.#as = discover(this.t)
      this.#as.catch(() => {
        this.#as = undefined
      })
    }
    return this.#as
  }

  /**
   * The holder's signing keys from its `jwks_uri`: one remote key set per client (cached, refetched
   * on an unknown kid), fetched through the client's fetch. Verifies events and signed summaries.
   */
  async holderKeys(): Promise<JWTVerifyGetKey> {
    const as = await this.metadata()
    if (!as.jwks_uri) throw new ProtocolError('the server does not announce jwks_uri')
    this.#jwks ??= createRemoteJWKSet(new URL(as.jwks_uri), { [customFetch]: this.t.fetch as never })
    return this.#jwks
  }

  /** private_key_jwt client authentication (the key is imported once). */
  auth(): Promise<oauth.ClientAuth> {
    if (!this.#auth) {
      const o = this.options
      this.#auth = importClientKey(o.privateKey, o.privateKeyKid, o.alg).then((k: ClientKey) =>
        privateKeyJwtAuth(k),
      )
      this.#auth.catch(() => {
        this.#auth = undefined
      })
    }
    return this.#auth
  }

  /** The transaction-history API base URL: metadata `consentry_resource`, else the `resource` option, else `{issuer}/api`. */
  async resourceBase(): Promise<string> {
    const as = await this.metadata()
    const value = as.consentry_resource ?? this.options.resource ?? `${this.t.issuer.replace(/\/+$/, '')}/api`
    if (!isAllowedUrl(this.t, value)) throw new ProtocolError('the resource URL is not usable')
    return value.replace(/\/+$/, '')
  }

  /** The DPoP handle of a link (one per grant, so the server nonce is remembered across calls). */
  async dpopFor(state: LinkState): Promise<oauth.DPoPHandle> {
    const jkt = await thumbprint(state.dpopKey.publicKey)
    const cached = this.#dpop.get(state.grantId)
    if (cached && cached.jkt === jkt) return cached.handle
    const handle = importDPoPKey(state.dpopKey).then((pair) => oauth.DPoP(this.oauthClient, pair))
    this.#dpop.set(state.grantId, { jkt, handle })
    return handle
  }

  /** Keep using the DPoP handle of the code exchange for this grant (it knows the server's nonce). */
  async adoptDPoP(state: LinkState, handle: oauth.DPoPHandle): Promise<void> {
    this.#dpop.set(state.grantId, {
      jkt: await thumbprint(state.dpopKey.publicKey),
      handle: Promise.resolve(handle),
    })
  }

  /** Forget everything held in memory for a grant. */
  forgetGrant(grantId: string): void {
    this.#dpop.delete(grantId)
  }

  /**
   * The stored state of a link. A link known to have ended throws its GrantRevokedError /
   * GrantExpiredError (from this client's memory, or the store's tombstone), whatever told the SDK
   * first; only a grant the SDK knows nothing of is LinkNotFoundError.
   */
  async loadState(grantId: string): Promise<LinkState> {
    const remembered = this.#ended.get(grantId)
    if (remembered) throw endedError(remembered)
    const state = await this.store.get(grantId)
    if (state) return state
    const tombstone = await this.store.getEnded?.(grantId)
    if (tombstone && typeof tombstone === 'object') {
      this.#remember({ ...tombstone, grantId })
      throw endedError({ ...tombstone, grantId })
    }
    throw new LinkNotFoundError(grantId)
  }

  /**
   * A link has ended (server answer, pushed event, or `link.revoke()`): remember it, leave its tombstone
   * in the store (`setEnded`, when implemented), drop its tokens and keys (`delete`). Idempotent; a
   * later record with a reason replaces one without.
   */
  async endLink(grantId: string, status: 'revoked' | 'expired', reason?: string): Promise<EndedLink> {
    const previous = this.#ended.get(grantId)
    const code = safeCode(reason)
    const ended: EndedLink =
      previous && (previous.reason !== undefined || code === undefined) && previous.status === status
        ? previous
        : { version: 1, grantId, status, ...(code ? { reason: code } : {}), endedAt: this.clock() }
    this.#remember(ended)
    this.forgetGrant(grantId)
    try {
      await this.store.setEnded?.(grantId, ended)
    } finally {
      await this.store.delete(grantId)
    }
    return ended
  }

  #remember(ended: EndedLink): void {
    this.#ended.delete(ended.grantId)
    this.#ended.set(ended.grantId, ended)
    if (this.#ended.size > MAX_REMEMBERED_ENDS) {
      const oldest = this.#ended.keys().next().value
      if (oldest !== undefined) this.#ended.delete(oldest)
    }
  }

  /**
   * The link's state with an access token that is good for at least `refreshSkewSeconds`; refreshes
   * first when needed. A grant known to be past its expiry fails here without a request.
   */
  async freshState(grantId: string): Promise<LinkState> {
    const state = await this.loadState(grantId)
    const now = this.clock()
    if (state.grantExpiresAt !== undefined && state.grantExpiresAt <= now)
      throw await this.endGrant(state, 'expired')
    if (state.accessTokenExpiresAt - this.options.refreshSkewSeconds * 1000 > now) return state
    return this.refresh(grantId)
  }

  /**
   * Refresh the link's tokens. Concurrent callers for one grant share a single request; the rotated
   * refresh token is saved to the token store before anyone uses the new access token.
   * `failedAccessToken`: refresh only if the stored token is still that one (a 401 came back for it).
   */
  refresh(grantId: string, failedAccessToken?: string): Promise<LinkState> {
    let inFlight = this.#refreshing.get(grantId)
    if (!inFlight) {
      inFlight = this.#doRefresh(grantId, failedAccessToken).finally(() => this.#refreshing.delete(grantId))
      this.#refreshing.set(grantId, inFlight)
    }
    return inFlight
  }

  async #doRefresh(grantId: string, failedAccessToken?: string): Promise<LinkState> {
    const state = await this.loadState(grantId)
    const now = this.clock()
    const fresh = state.accessTokenExpiresAt - this.options.refreshSkewSeconds * 1000 > now
    // Someone (another Link object for this grant) already refreshed: use their tokens.
    if (failedAccessToken !== undefined && state.accessToken !== failedAccessToken && fresh) return state
    if (failedAccessToken === undefined && fresh) return state
    if (!state.refreshToken) {
      if (state.grantExpiresAt !== undefined && state.grantExpiresAt <= now)
        throw await this.endGrant(state, 'expired')
      throw new UnauthorizedError('the access token has expired and the link has no refresh token', {
        grantId,
      })
    }
    const refreshToken = state.refreshToken
    const [as, auth, dpop] = await Promise.all([this.metadata(), this.auth(), this.dpopFor(state)])
    let response: oauth.TokenEndpointResponse
    try {
      response = await withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(
          as,
          this.oauthClient,
          await oauth.refreshTokenGrantRequest(as, this.oauthClient, auth, refreshToken, {
            DPoP: dpop,
            ...this.t.opts,
          }),
        ),
      )
    } catch (err) {
      if (err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant')
        throw await this.grantEnded(state)
      throw await toClientError(err, {
        grantId,
        malformed: 'the token response is malformed',
        secrets: [refreshToken, state.accessToken],
        now: this.clock(),
      })
    }
    const next = this.applyTokenResponse(response, state)
    // The link ended while the refresh was in flight (an event arrived): do not bring its tokens back.
    const ended = this.#ended.get(grantId)
    if (ended) throw endedError(ended)
    await this.store.set(grantId, next)
    return next
  }

  /**
   * Validate a token endpoint response and fold it into a LinkState. `previous` is the state being
   * refreshed; without it (code exchange) `grant_id` and `authorization_details` are required.
   */
  applyTokenResponse(
    response: oauth.TokenEndpointResponse,
    previous: LinkState | undefined,
    init?: { dpopKey: LinkState['dpopKey'] },
  ): LinkState {
    const now = this.clock()
    if (response.token_type !== 'dpop')
      throw new ProtocolError('the server issued a token that is not DPoP-bound')
    let expiresIn = response.expires_in
    if (expiresIn === undefined) {
      try {
        const exp = decodeJwt(response.access_token).exp
        if (typeof exp === 'number') expiresIn = Math.max(0, exp - Math.floor(now / 1000))
      } catch {
        // not a JWT: fall through
      }
    }
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0)
      throw new ProtocolError('the token response lacks a usable expires_in')
    const grantId = response.grant_id
    if (
      grantId !== undefined &&
      (typeof grantId !== 'string' || grantId.length === 0 || grantId.length > 256)
    )
      throw new ProtocolError('the token response has a malformed grant_id')
    if (previous && grantId !== undefined && grantId !== previous.grantId)
      throw new ProtocolError('the token response names another grant')
    if (!previous && grantId === undefined) throw new ProtocolError('the token response lacks grant_id')
    const details = response.authorization_details
    let authorizationDetails: AuthorizationDetail[] | undefined
    if (details !== undefined) {
      if (
        !Array.isArray(details) ||
        details.length === 0 ||
        !details.every(
          (d) =>
            d &&
            typeof d === 'object' &&
            !Array.isArray(d) &&
            typeof (d as { type?: unknown }).type === 'string',
        )
      )
        throw new ProtocolError('the token response has malformed authorization_details')
      authorizationDetails = details as AuthorizationDetail[]
    } else if (!previous) {
      throw new ProtocolError('the token response lacks authorization_details')
    }
    if (response.refresh_token !== undefined && typeof response.refresh_token !== 'string')
      throw new ProtocolError('the token response has a malformed refresh_token')
    const dpopKey = previous?.dpopKey ?? init?.dpopKey
    if (!dpopKey) throw new ProtocolError('no DPoP key for this link')
    const finalDetails = authorizationDetails ?? previous?.authorizationDetails ?? []
    const grantExpiresAt = previous?.grantExpiresAt ?? grantExpiryOf(finalDetails, now)
    const refreshToken = response.refresh_token ?? previous?.refreshToken
    return {
      version: 1,
      issuer: this.t.issuer,
      clientId: this.clientId,
      grantId: (grantId ?? previous?.grantId) as string,
      accessToken: response.access_token,
      accessTokenExpiresAt: now + expiresIn * 1000,
      ...(refreshToken !== undefined ? { refreshToken } : {}),
      dpopKey,
      authorizationDetails: finalDetails,
      ...(grantExpiresAt !== undefined ? { grantExpiresAt } : {}),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    }
  }

  /**
   * Work out why a grant stopped working (after `invalid_grant` on refresh, or `invalid_token` after a
   * refresh): past its known expiry → expired; otherwise ask grant management; if that cannot answer,
   * the grant is taken as revoked. Ended grants are removed from the token store.
   */
  async grantEnded(state: LinkState): Promise<ConsentryClientError> {
    if (state.grantExpiresAt !== undefined && state.grantExpiresAt <= this.clock())
      return this.endGrant(state, 'expired')
    let status: string | undefined
    let reason: string | undefined
    try {
      const response = await this.grantRequest(state.grantId, 'GET')
      if (response.status === 200) {
        const body = (await response.json()) as { status?: unknown; ended_reason?: unknown }
        if (typeof body.status === 'string') status = body.status
        if (typeof body.ended_reason === 'string') reason = body.ended_reason
      } else {
        discard(response)
      }
    } catch {
      // grant management unavailable: fall back to "revoked"
    }
    if (status === 'active')
      return new UnauthorizedError('the server rejected this link’s tokens although the grant is active', {
        grantId: state.grantId,
      })
    return this.endGrant(state, status === 'expired' ? 'expired' : 'revoked', reason)
  }

  async endGrant(
    state: LinkState,
    how: 'revoked' | 'expired',
    reason?: string,
  ): Promise<ConsentryClientError> {
    return endedError(await this.endLink(state.grantId, how, reason))
  }

  /** A protected-resource request for a link, with DPoP, nonce retry and one refresh on `invalid_token`. */
  async linkRequest(
    grantId: string,
    method: 'GET' | 'DELETE',
    url: URL,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    let state = await this.freshState(grantId)
    const call = async (s: LinkState) => {
      const dpop = await this.dpopFor(s)
      return withNonceRetry(() =>
        oauth.protectedResourceRequest(
          s.accessToken,
          method,
          url,
          new Headers({ accept: 'application/json', ...extraHeaders }),
          null,
          {
            DPoP: dpop,
            ...this.t.opts,
          },
        ),
      )
    }
    try {
      return await call(state)
    } catch (err) {
      if (challengeError(err) !== 'invalid_token')
        throw await toClientError(err, { grantId, secrets: [state.accessToken], now: this.clock() })
    }
    state = await this.refresh(grantId, state.accessToken)
    try {
      return await call(state)
    } catch (err) {
      if (challengeError(err) !== 'invalid_token')
        throw await toClientError(err, { grantId, secrets: [state.accessToken], now: this.clock() })
    }
    throw await this.grantEnded(state)
  }

  /** The client-level DPoP key for grant management (in memory only). */
  #gmHandle(): Promise<oauth.DPoPHandle> {
    this.#gmDpop ??= crypto.subtle
      .generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
      .then((pair) => oauth.DPoP(this.oauthClient, pair as CryptoKeyPair))
    return this.#gmDpop
  }

  /** A grant-management access token (client_credentials, DPoP-bound), cached until shortly before expiry. */
  async grantManagementToken(force = false): Promise<string> {
    const now = this.clock()
    if (!force && this.#gmToken && this.#gmToken.expiresAt - this.options.refreshSkewSeconds * 1000 > now)
      return this.#gmToken.token
    if (!this.#gmInFlight) {
      this.#gmInFlight = this.#fetchGrantManagementToken().finally(() => {
        this.#gmInFlight = undefined
      })
    }
    return this.#gmInFlight
  }

  async #fetchGrantManagementToken(): Promise<string> {
    const [as, auth, dpop] = await Promise.all([this.metadata(), this.auth(), this.#gmHandle()])
    let response: oauth.TokenEndpointResponse
    try {
      response = await withNonceRetry(async () =>
        oauth.processClientCredentialsResponse(
          as,
          this.oauthClient,
          await oauth.clientCredentialsGrantRequest(
            as,
            this.oauthClient,
            auth,
            { scope: GRANT_MANAGEMENT_SCOPE },
            { DPoP: dpop, ...this.t.opts },
          ),
        ),
      )
    } catch (err) {
      throw await toClientError(err, { malformed: 'the token response is malformed', now: this.clock() })
    }
    if (response.token_type !== 'dpop')
      throw new ProtocolError('the server issued a token that is not DPoP-bound')
    const expiresIn =
      typeof response.expires_in === 'number' && response.expires_in > 0 ? response.expires_in : 60
    this.#gmToken = { token: response.access_token, expiresAt: this.clock() + expiresIn * 1000 }
    return response.access_token
  }

  /** `GET` / `DELETE {grant_management_endpoint}/{grantId}` with the grant-management token. */
  async grantRequest(grantId: string, method: 'GET' | 'DELETE', suffix = ''): Promise<Response> {
    const as = await this.metadata()
    if (!as.grant_management_endpoint)
      throw new ProtocolError('the server does not announce grant_management_endpoint')
    const url = new URL(
      `${as.grant_management_endpoint.replace(/\/+$/, '')}/${encodeURIComponent(grantId)}${suffix}`,
    )
    const dpop = await this.#gmHandle()
    const call = (token: string) =>
      withNonceRetry(() =>
        oauth.protectedResourceRequest(
          token,
          method,
          url,
          new Headers({ accept: 'application/json' }),
          null,
          {
            DPoP: dpop,
            ...this.t.opts,
          },
        ),
      )
    try {
      return await call(await this.grantManagementToken())
    } catch (err) {
      if (challengeError(err) !== 'invalid_token')
        throw await toClientError(err, { grantId, now: this.clock() })
    }
    try {
      return await call(await this.grantManagementToken(true))
    } catch (err) {
      throw await toClientError(err, { grantId, now: this.clock() })
    }
  }
}

/** Best-known grant expiry: the shortest granted `expires_in` (seconds), counted from `now`. */
export function grantExpiryOf(details: readonly AuthorizationDetail[], now: number): number | undefined {
  const lifetimes = details
    .map((d) => d.expires_in)
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0)
  return lifetimes.length ? now + Math.min(...lifetimes) * 1000 : undefined
}
