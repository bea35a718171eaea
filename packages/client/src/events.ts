/**
 * Security Event Tokens (RFC 8417) pushed by a Consentry server to the recipient's `webhook_uri`
 * (RFC 8935) when a grant ends (revoked, expired), changes (amended, narrowed) or ends soon.
 */
import type { AuthorizationDetail } from '@consentry/core'
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
/** The event type URI of "a grant changed" (amended with the person's approval, or narrowed by them). */
export const GRANT_AMENDED_EVENT = 'urn:consentry:event:grant-amended'
/** The event type URI of "a grant ends soon" (renew it with `link.renew()`). */
export const GRANT_EXPIRING_EVENT = 'urn:consentry:event:grant-expiring'

/** What every verified event carries. */
export interface ConsentEventBase {
  /** The grant the event is about. */
  grantId: string
  /** The SET's `jti`: the same event may be delivered more than once (retries); handle it idempotently. */
  jti: string
  /** When the holder issued the event (the SET's `iat`). */
  issuedAt: Date
}

/** A verified "grant ended" event. */
export interface GrantEndedEvent extends ConsentEventBase {
  /** `urn:consentry:event:grant-ended`. */
  type: 'grant-ended'
  /** `revoked` or `expired`. */
  status: 'revoked' | 'expired' | (string & {})
  /** Why, e.g. `revoked_by_subject`, `refresh_token_reuse`, `expired`. */
  reason?: string
}

/**
 * A verified "grant changed" event: the same grant now allows `authorizationDetails` until
 * `expiresAt`. `action` is `merge` or `replace` (your amendment, approved by the person: `by:
 * 'client'`) or `narrow` (the person narrowed it on their own: `by: 'subject'`). Reads outside the
 * new details are refused from now on, whatever tokens you hold.
 */
export interface GrantAmendedEvent extends ConsentEventBase {
  /** `urn:consentry:event:grant-amended`. */
  type: 'grant-amended'
  /** How it changed: `merge`, `replace` (your request, approved) or `narrow` (the person's own). */
  action: 'merge' | 'replace' | 'narrow' | (string & {})
  /** Who asked for the change: `client` (you) or `subject` (the person). */
  by: 'client' | 'subject' | (string & {})
  /** The granted details as they now stand. */
  authorizationDetails: AuthorizationDetail[]
  /** When the grant now ends. */
  expiresAt: Date
  /** The signed consent receipt of the grant as it now stands. */
  consentReceipt?: string
}

/** A verified "grant ends soon" event (sent once per expiry, a configured time before it). */
export interface GrantExpiringEvent extends ConsentEventBase {
  /** `urn:consentry:event:grant-expiring`. */
  type: 'grant-expiring'
  /** When the grant ends unless renewed. */
  expiresAt: Date
}

/** Any event a Consentry server pushes; switch on `type`. */
export type ConsentEvent = GrantEndedEvent | GrantAmendedEvent | GrantExpiringEvent

const object = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)

function date(value: unknown, what: string): Date {
  const d = typeof value === 'string' ? new Date(value) : new Date(Number.NaN)
  if (Number.isNaN(d.getTime())) throw new InvalidEventError(`the ${what} event lacks expires_at`)
  return d
}

/**
 * Read the event out of an already verified SET payload: `grant-ended`, `grant-amended` or
 * `grant-expiring` (the first of these the token carries).
 *
 * @example
 * ```ts
 * const { payload } = await jwtVerify(jwt, keys, { issuer, audience: clientId, typ: 'secevent+jwt' })
 * const event = parseEvent(payload)
 * if (event.type === 'grant-ended') markEnded(event.grantId)
 * ```
 */
export function parseEvent(payload: JWTPayload): ConsentEvent {
  const events = (payload as { events?: unknown }).events
  if (!object(events)) throw new InvalidEventError('the event token has no events claim')
  const uri = [GRANT_ENDED_EVENT, GRANT_AMENDED_EVENT, GRANT_EXPIRING_EVENT].find((u) => u in events)
  const body = uri ? events[uri] : undefined
  if (!uri || !object(body)) throw new InvalidEventError('the event token carries no known Consentry event')
  const name = uri.slice('urn:consentry:event:'.length)
  const { grant_id } = body
  if (typeof grant_id !== 'string' || grant_id.length === 0 || grant_id.length > 256)
    throw new InvalidEventError(`the ${name} event lacks grant_id`)
  if (typeof payload.jti !== 'string' || typeof payload.iat !== 'number')
    throw new InvalidEventError('the event token lacks jti or iat')
  const base = { grantId: grant_id, jti: payload.jti, issuedAt: new Date(payload.iat * 1000) }
  if (uri === GRANT_EXPIRING_EVENT)
    return { type: 'grant-expiring', ...base, expiresAt: date(body.expires_at, name) }
  if (uri === GRANT_AMENDED_EVENT) {
    const { action, by, authorization_details: details, consent_receipt } = body
    if (typeof action !== 'string' || action.length === 0 || action.length > 32)
      throw new InvalidEventError('the grant-amended event lacks action')
    if (typeof by !== 'string' || by.length === 0 || by.length > 32)
      throw new InvalidEventError('the grant-amended event lacks by')
    if (!Array.isArray(details) || !details.every((d) => object(d) && typeof d.type === 'string'))
      throw new InvalidEventError('the grant-amended event lacks authorization_details')
    if (consent_receipt !== undefined && typeof consent_receipt !== 'string')
      throw new InvalidEventError('the grant-amended event has a malformed consent_receipt')
    return {
      type: 'grant-amended',
      ...base,
      action,
      by,
      authorizationDetails: details as AuthorizationDetail[],
      expiresAt: date(body.expires_at, name),
      ...(consent_receipt !== undefined ? { consentReceipt: consent_receipt } : {}),
    }
  }
  const { status, reason } = body
  if (typeof status !== 'string' || status.length === 0 || status.length > 64)
    throw new InvalidEventError('the grant-ended event lacks status')
  if (reason !== undefined && typeof reason !== 'string')
    throw new InvalidEventError('the grant-ended event has a malformed reason')
  return {
    type: 'grant-ended',
    ...base,
    status,
    ...(reason !== undefined ? { reason: reason.slice(0, 200) } : {}),
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
  /** The `fetch` used to get the issuer's JWKS when `jwks` is a URL. */
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
 * `iss`, `aud` = client id, algorithm in ES256/PS256/EdDSA; then return the event (see
 * {@link ConsentEvent}).
 * Throws {@link InvalidEventError} on any failure.
 *
 * @example
 * ```ts
 * const event = await verifyEvent(await request.text(), {
 *   issuer: 'https://pay.example', clientId, jwks: new URL('https://pay.example/jwks'),
 * })
 * if (event.type === 'grant-ended') await markDisconnected(event.grantId)
 * ```
 */
export async function verifyEvent(jwt: string, options: VerifyEventOptions): Promise<ConsentEvent> {
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
  verify: (jwt: string) => Promise<ConsentEvent>,
  onEvent: (event: ConsentEvent) => void | Promise<void>,
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
    let event: ConsentEvent
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
