/**
 * Security Event Tokens (RFC 8417) pushed by a Consentry server to the recipient's `webhook_uri`
 * (RFC 8935) when a grant is revoked or expires.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import { ConsentryClientError, InvalidEventError, NetworkError } from './errors.ts'
import { toClientError } from './map-error.ts'

/** The event type URI of "a grant has ended". */
export const GRANT_ENDED_EVENT = 'urn:consentry:event:grant-ended'

/** A verified "grant ended" event. */
export interface GrantEndedEvent {
  grantId: string
  /** `revoked` or `expired`. */
  status: 'revoked' | 'expired' | (string & {})
  /** Why, e.g. `revoked_by_subject`, `refresh_token_reuse`, `expired`. */
  reason?: string
  /** The SET's `jti`: the same event may be delivered more than once (retries); handle it idempotently. */
  jti: string
  issuedAt: Date
}

/**
 * Read the `grant-ended` event out of an already verified SET payload.
 *
 * @example
 * ```ts
 * const { payload } = await jwtVerify(jwt, keys, { issuer, audience: clientId, typ: 'secevent+jwt' })
 * const event = parseEvent(payload)
 * ```
 */
export function parseEvent(payload: JWTPayload): GrantEndedEvent {
  const events = (payload as { events?: unknown }).events
  if (!events || typeof events !== 'object' || Array.isArray(events))
    throw new InvalidEventError('the event token has no events claim')
  const body = (events as Record<string, unknown>)[GRANT_ENDED_EVENT]
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new InvalidEventError('the event token carries no grant-ended event')
  const { grant_id, status, reason } = body as Record<string, unknown>
  if (typeof grant_id !== 'string' || grant_id.length === 0 || grant_id.length > 256)
    throw new InvalidEventError('the grant-ended event lacks grant_id')
  if (typeof status !== 'string' || status.length === 0 || status.length > 64)
    throw new InvalidEventError('the grant-ended event lacks status')
  if (reason !== undefined && typeof reason !== 'string')
    throw new InvalidEventError('the grant-ended event has a malformed reason')
  if (typeof payload.jti !== 'string' || typeof payload.iat !== 'number')
    throw new InvalidEventError('the event token lacks jti or iat')
  return {
    grantId: grant_id,
    status,
    ...(reason !== undefined ? { reason: reason.slice(0, 200) } : {}),
    jti: payload.jti,
    issuedAt: new Date(payload.iat * 1000),
  }
}

/** Options of {@link verifyEvent}. */
export interface VerifyEventOptions {
  /** The server's issuer identifier (the SET's `iss`). */
  issuer: string
  /** This client's id (the SET's `aud`). */
  clientId: string
  /** The issuer's keys: its `jwks_uri` (fetched and cached), a JWKS object, or a jose key resolver. */
  jwks: URL | JSONWebKeySet | JWTVerifyGetKey
  /** Epoch-ms clock (tests). */
  clock?: () => number
  fetch?: typeof fetch
}

const keyResolvers = new WeakMap<object, JWTVerifyGetKey>()

function resolverOf(options: VerifyEventOptions): JWTVerifyGetKey {
  const { jwks } = options
  if (typeof jwks === 'function') return jwks
  if (jwks instanceof URL) {
    return createRemoteJWKSet(jwks, options.fetch ? { [customFetch]: options.fetch } : {})
  }
  let resolver = keyResolvers.get(jwks)
  if (!resolver) {
    resolver = createLocalJWKSet(jwks)
    keyResolvers.set(jwks, resolver)
  }
  return resolver
}

/**
 * Verify a pushed Security Event Token: signature against the issuer's keys, `typ: secevent+jwt`,
 * `iss`, `aud` = client id, algorithm in ES256/PS256/EdDSA; then return the grant-ended event.
 * Throws {@link InvalidEventError} on any failure.
 *
 * @example
 * ```ts
 * const event = await verifyEvent(await request.text(), {
 *   issuer: 'https://pay.example', clientId, jwks: new URL('https://pay.example/jwks'),
 * })
 * if (event.status === 'revoked') await markDisconnected(event.grantId)
 * ```
 */
export async function verifyEvent(jwt: string, options: VerifyEventOptions): Promise<GrantEndedEvent> {
  if (typeof jwt !== 'string' || jwt.length === 0 || jwt.length > 16_384)
    throw new InvalidEventError('the event token is empty or too large')
  let payload: JWTPayload
  try {
    const clock = options.clock
    ;({ payload } = await jwtVerify(jwt.trim(), resolverOf(options), {
      issuer: options.issuer,
      audience: options.clientId,
      typ: 'secevent+jwt',
      algorithms: ['ES256', 'PS256', 'EdDSA'],
      requiredClaims: ['iat', 'jti'],
      clockTolerance: 60,
      ...(clock ? { currentDate: new Date(clock()) } : {}),
    }))
  } catch (err) {
    if (err instanceof ConsentryClientError) throw err
    // Key-fetch trouble is ours, not the sender's: report it so the push is retried later.
    const keys = options.jwks instanceof URL ? options.jwks.href : undefined
    if (err instanceof errors.JWKSTimeout) throw new NetworkError(keys, 'timed out', { cause: err })
    if (err instanceof errors.JOSEError && err.code === 'ERR_JWKS_INVALID')
      throw new NetworkError(keys, 'the key set is malformed', { cause: err })
    if (!(err instanceof errors.JOSEError)) throw await toClientError(err, { request: keys ?? '' })
    throw new InvalidEventError('the event token failed verification')
  }
  return parseEvent(payload)
}

/** Options of a webhook handler. */
export interface WebhookHandlerOptions {
  /** Largest accepted body, bytes (default 64 KiB). */
  maxBytes?: number
}

/**
 * Build a Web-standard `Request → Response` handler for the RFC 8935 push endpoint: `202` once the
 * event is verified and `onEvent` resolved, `400` (RFC 8935 error JSON) for a bad token, `405`/`413`/`415`
 * for a wrong method, size or type, `503` if the issuer's keys cannot be fetched and `500` if `onEvent`
 * throws (both make the server retry).
 *
 * @example
 * ```ts
 * const handle = createWebhookHandler((jwt) => verifyEvent(jwt, opts), async (event) => markEnded(event.grantId))
 * Bun.serve({ fetch: handle })
 * ```
 */
export function createWebhookHandler(
  verify: (jwt: string) => Promise<GrantEndedEvent>,
  onEvent: (event: GrantEndedEvent) => void | Promise<void>,
  options: WebhookHandlerOptions = {},
): (request: Request) => Promise<Response> {
  const maxBytes = options.maxBytes ?? 65_536
  const error = (status: number, err: string, description: string) =>
    new Response(JSON.stringify({ err, description }), {
      status,
      headers: { 'content-type': 'application/json' },
    })
  return async (request) => {
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } })
    const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
    if (type !== 'application/secevent+jwt')
      return error(415, 'invalid_request', 'expected application/secevent+jwt')
    const length = Number(request.headers.get('content-length') ?? '0')
    if (length > maxBytes) return error(413, 'invalid_request', 'body too large')
    let body: string
    try {
      body = await request.text()
    } catch {
      return error(400, 'invalid_request', 'unreadable body')
    }
    if (body.length > maxBytes) return error(413, 'invalid_request', 'body too large')
    let event: GrantEndedEvent
    try {
      event = await verify(body)
    } catch (err) {
      if (err instanceof InvalidEventError) return error(400, 'invalid_request', err.message)
      // Could not check it now (keys unreachable): ask the sender to retry.
      return new Response(null, { status: 503, headers: { 'retry-after': '30' } })
    }
    try {
      await onEvent(event)
    } catch {
      return new Response(null, { status: 500 })
    }
    return new Response(null, { status: 202 })
  }
}
