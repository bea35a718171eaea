/**
 * The one catalogue of errors `@consentry/client` throws. Every error is a {@link ConsentryClientError}:
 * a union of the classes below, discriminated by a stable `code`. Branch on `code` (a `switch` narrows
 * to the class) or `instanceof`, never on `message`.
 *
 * Messages are for people reading logs: they carry the server's own words when it gave any
 * (`invalid_request: redirect_uri is not registered for this client (HTTP 400 from …/par)`), the URL
 * and cause of a network failure, both issuers of an issuer mismatch. They never contain tokens, keys,
 * authorization codes, PKCE verifiers or client assertions: server text is cut to one line and
 * anything token-shaped in it is replaced by `[redacted]`.
 *
 * @example
 * ```ts
 * try {
 *   for await (const tx of link.transactions({ accountId })) save(tx)
 * } catch (err) {
 *   if (!isConsentryClientError(err)) throw err
 *   switch (err.code) {
 *     case 'read_limit_exceeded': return retryIn(err.retryAfter) // err: RateLimitedError
 *     case 'grant_revoked': return markDisconnected(err.grantId, err.reason) // err: GrantRevokedError
 *     default: throw err
 *   }
 * }
 * ```
 */

/** Every stable error code, with the class that carries it. */
export const CLIENT_ERROR_CODES = {
  invalid_request: 'InvalidRequestError',
  invalid_config: 'ConfigurationError',
  invalid_callback: 'CallbackError',
  state_mismatch: 'StateMismatchError',
  issuer_mismatch: 'IssuerMismatchError',
  link_denied: 'LinkDeniedError',
  link_not_found: 'LinkNotFoundError',
  grant_revoked: 'GrantRevokedError',
  grant_expired: 'GrantExpiredError',
  read_limit_exceeded: 'RateLimitedError',
  outside_consent: 'OutsideConsentError',
  not_found: 'NotFoundError',
  invalid_client: 'ClientAuthenticationError',
  unauthorized: 'UnauthorizedError',
  request_rejected: 'RequestRejectedError',
  server_error: 'ServerError',
  network_error: 'NetworkError',
  protocol_error: 'ProtocolError',
  invalid_event: 'InvalidEventError',
  invalid_signature: 'InvalidSignatureError',
} as const

/** One of the codes of {@link CLIENT_ERROR_CODES}. */
export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES

/** Extra, secret-free context an error may carry. */
export interface ErrorDetails {
  /** HTTP status of the response that caused the error, if any. */
  status?: number
  /** The OAuth `error` / problem `code` the server sent, if any. */
  serverError?: string
  /** The server's `error_description` / problem `detail` (cut to one line, token-shaped text redacted). */
  description?: string
  /** The grant concerned, if known. */
  grantId?: string
  /** The request that failed: origin and path only (never the query). */
  url?: string
}

/** A short, safe rendering of a server-sent identifier (OAuth error codes are `[\x20-\x7e]` words). */
export function safeCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : undefined
}

/** JWTs (DPoP proofs, client assertions, access tokens) and long opaque runs (refresh tokens, codes). */
const TOKEN_SHAPED = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?|[A-Za-z0-9_-]{32,}/g

/**
 * Make server- or library-written text safe for a message: one line, at most `max` characters, each
 * of the `secrets` and anything token-shaped replaced by `[redacted]`.
 */
export function safeText(value: unknown, max = 300, secrets: readonly (string | undefined)[] = []): string {
  if (typeof value !== 'string') return ''
  let text = value
  for (const secret of secrets) if (secret && secret.length >= 8) text = text.split(secret).join('[redacted]')
  text = text
    .replace(TOKEN_SHAPED, '[redacted]')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A value quoted for a message (JSON string: control characters escaped), at most 200 characters. */
export function quoted(value: unknown): string {
  if (typeof value !== 'string') return String(value)
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 199)}…` : value)
}

/** Origin and path of a URL (its query may carry request details), or undefined. */
export function safeUrl(value: unknown): string | undefined {
  try {
    const url = new URL(String(value))
    return `${url.origin}${url.pathname}`
  } catch {
    return undefined
  }
}

/**
 * The message of an error that carries server details: the server's own words first
 * (`invalid_request: redirect_uri is not registered for this client`), else the code and the fixed
 * sentence, then where it came from (`(HTTP 400 from https://holder.example/par)`).
 */
function compose(message: string, details: ErrorDetails): string {
  const code = safeCode(details.serverError)
  const text = details.description ? safeText(details.description) : ''
  let head = message
  if (text) head = code ? `${code}: ${text}` : text
  else if (code && !message.includes(code)) head = `${code}: ${message}`
  const where =
    details.status !== undefined
      ? ` (HTTP ${details.status}${details.url ? ` from ${details.url}` : ''})`
      : details.url
        ? ` (${details.url})`
        : ''
  return `${head}${where}`
}

const BRAND = Symbol.for('@consentry/client.error')

/** The shared implementation of every error class (exported as the value {@link ConsentryClientError}). */
class ClientErrorBase extends Error {
  readonly code: ClientErrorCode
  /** HTTP status of the response that caused it, if any. */
  readonly status?: number
  /** The OAuth `error` / problem `code` the server sent, if any (a safe identifier). */
  readonly serverError?: string
  /** The server's `error_description` / `detail` (server-written, for your logs; at most 500 characters). */
  readonly description?: string
  /** The grant concerned, if known. */
  readonly grantId?: string
  readonly url?: string

  constructor(
    code: ClientErrorCode,
    message: string,
    details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(compose(message, details), options)
    this.name = new.target.name
    this.code = code
    if (details.status !== undefined) this.status = details.status
    const serverError = safeCode(details.serverError)
    if (serverError) this.serverError = serverError
    const description = safeText(details.description, 500)
    if (description) this.description = description
    if (details.grantId !== undefined) this.grantId = details.grantId
    const url = details.url === undefined ? undefined : safeUrl(details.url)
    if (url) this.url = url
  }
}
// Marks errors of this package, also across duplicate copies of it (see isConsentryClientError).
Object.defineProperty(ClientErrorBase.prototype, BRAND, { value: true })

/** Input was rejected, by this SDK before any request or by the server (`invalid_request`, `invalid_authorization_details`, `invalid_parameter`, `invalid_cursor`, …; see `serverError`). */
export class InvalidRequestError extends ClientErrorBase {
  declare readonly code: 'invalid_request'
  constructor(message: string, details?: ErrorDetails) {
    super('invalid_request', message, details)
  }
}

/** The SDK was configured unsafely or inconsistently (for example a non-https issuer). */
export class ConfigurationError extends ClientErrorBase {
  declare readonly code: 'invalid_config'
  constructor(message: string, details?: ErrorDetails) {
    super('invalid_config', message, details)
  }
}

/** The authorization callback could not be used (missing code, unexpected error, malformed URL). */
export class CallbackError<
  C extends 'invalid_callback' | 'state_mismatch' = 'invalid_callback',
> extends ClientErrorBase {
  declare readonly code: C
  constructor(message: string, details?: ErrorDetails, code: C = 'invalid_callback' as C) {
    super(code, message, details)
  }
}

/** The callback's `state` is missing or is not the one of this pending link (possible CSRF / mix-up). */
export class StateMismatchError extends CallbackError<'state_mismatch'> {
  constructor(message = 'the callback state does not match the pending link') {
    super(message, {}, 'state_mismatch')
  }
}

/** Where an issuer mismatch was seen, and the two issuers. */
export interface IssuerMismatchDetails {
  /** The configured issuer. */
  expected: string
  /** What the server (or the callback) named instead; undefined when it named none. */
  received?: string
  /** `callback`: the `iss` authorization response parameter (RFC 9207); `discovery`: the metadata `issuer` (RFC 8414 §3.3). */
  source: 'callback' | 'discovery'
  /** How many `iss` parameters the callback had, when not exactly one. */
  count?: number
}

/**
 * An issuer other than the configured one: the callback's `iss` is missing or another issuer's
 * (RFC 9207 mix-up defence), or the discovery document names another issuer (RFC 8414 §3.3; usually
 * a configuration slip such as a trailing slash or http vs https). The message names both.
 */
export class IssuerMismatchError extends ClientErrorBase {
  declare readonly code: 'issuer_mismatch'
  readonly expected: string
  readonly received?: string
  readonly source: 'callback' | 'discovery'
  constructor(details: IssuerMismatchDetails) {
    const { expected, received, source, count } = details
    const message =
      source === 'discovery'
        ? `the discovery document names the issuer ${quoted(received)}, not the configured issuer ${quoted(expected)}; configure the issuer exactly as the server's metadata states it`
        : received === undefined
          ? `the callback has ${count ? `${count} iss parameters` : 'no iss parameter'}; expected exactly one, ${quoted(expected)}`
          : `the callback iss ${quoted(received)} is not the configured issuer ${quoted(expected)}`
    super('issuer_mismatch', message)
    this.expected = expected
    if (received !== undefined) this.received = received.slice(0, 200)
    this.source = source
  }
}

/** The person declined (or cancelled) the consent: the callback carried `error=access_denied`. */
export class LinkDeniedError extends ClientErrorBase {
  declare readonly code: 'link_denied'
  constructor(details?: ErrorDetails) {
    super('link_denied', 'the account holder did not grant access', details)
  }
}

/** `client.link(grantId)` found nothing in the token store, and the SDK knows of no end of that grant. */
export class LinkNotFoundError extends ClientErrorBase {
  declare readonly code: 'link_not_found'
  constructor(grantId: string) {
    super('link_not_found', `no link for grant ${quoted(grantId)} in the token store`, { grantId })
  }
}

/** How a grant ended, as far as the SDK knows. */
export interface GrantEndedDetails extends ErrorDetails {
  /** The server's reason, e.g. `revoked_by_subject`, `revoked_by_client`, `refresh_token_reuse`. */
  reason?: string
  /** When the SDK learned of the end (epoch ms). */
  endedAt?: number
}

function endedMessage(what: string, details: GrantEndedDetails): string {
  const reason = safeCode(details.reason)
  const grant = details.grantId === undefined ? 'the grant' : `the grant ${quoted(details.grantId)}`
  return `${grant} ${what}${reason && !what.includes(reason) ? ` (${reason})` : ''}`
}

/**
 * The grant has ended: revoked by the person, the holder, or this client (or a refresh token was
 * reused). Thrown for every later call on the grant too — whether the SDK learned of the revocation
 * from the server, a pushed event, or `link.revoke()`.
 */
export class GrantRevokedError extends ClientErrorBase {
  declare readonly code: 'grant_revoked'
  readonly reason?: string
  readonly endedAt?: Date
  constructor(details: GrantEndedDetails = {}) {
    super('grant_revoked', endedMessage('has been revoked', details), details)
    const reason = safeCode(details.reason)
    if (reason) this.reason = reason
    if (details.endedAt !== undefined) this.endedAt = new Date(details.endedAt)
  }
}

/** The grant has reached its expiry. Start a new link to keep reading. */
export class GrantExpiredError extends ClientErrorBase {
  declare readonly code: 'grant_expired'
  readonly reason?: string
  readonly endedAt?: Date
  constructor(details: GrantEndedDetails = {}) {
    super('grant_expired', endedMessage('has expired', details), details)
    const reason = safeCode(details.reason)
    if (reason) this.reason = reason
    if (details.endedAt !== undefined) this.endedAt = new Date(details.endedAt)
  }
}

/** `429`: the grant's reads per day (unattended, or the holder's cap on attended ones) are used up. `retryAfter` is in seconds, when the server said. */
export class RateLimitedError extends ClientErrorBase {
  declare readonly code: 'read_limit_exceeded'
  readonly retryAfter?: number
  constructor(retryAfter: number | undefined, details?: ErrorDetails) {
    super('read_limit_exceeded', 'the read limit of this grant is reached', details)
    if (retryAfter !== undefined) this.retryAfter = retryAfter
  }
}

/** `403 outside_consent`: the account, period or data asked for is not covered by the grant. */
export class OutsideConsentError extends ClientErrorBase {
  declare readonly code: 'outside_consent'
  constructor(details?: ErrorDetails) {
    super('outside_consent', 'the request is outside what the account holder consented to', details)
  }
}

/** `404`: the account or grant does not exist (or belongs to another client). */
export class NotFoundError extends ClientErrorBase {
  declare readonly code: 'not_found'
  constructor(message: string, details?: ErrorDetails) {
    super('not_found', message, details)
  }
}

/** `invalid_client`: the server did not accept this client's `private_key_jwt` authentication. */
export class ClientAuthenticationError extends ClientErrorBase {
  declare readonly code: 'invalid_client'
  constructor(details?: ErrorDetails) {
    super('invalid_client', 'the server rejected the client authentication', details)
  }
}

/** `401`: the server refused a credential (an initial access token, or an access token of a grant that is still active). */
export class UnauthorizedError extends ClientErrorBase {
  declare readonly code: 'unauthorized'
  constructor(message: string, details?: ErrorDetails) {
    super('unauthorized', message, details)
  }
}

/** The server refused the request for another documented reason (e.g. `invalid_dpop_proof`, `unsupported_grant_type`); see `serverError`. */
export class RequestRejectedError extends ClientErrorBase {
  declare readonly code: 'request_rejected'
  constructor(message: string, details?: ErrorDetails) {
    super('request_rejected', message, details)
  }
}

/** `5xx`: the server failed; usually worth retrying later. */
export class ServerError extends ClientErrorBase {
  declare readonly code: 'server_error'
  constructor(details?: ErrorDetails) {
    super('server_error', 'the server failed to answer', details)
  }
}

/**
 * The server could not be reached (DNS, connection refused or reset, TLS, timeout, abort). The message
 * names the URL (origin and path) and the cause's code, e.g.
 * `could not reach https://holder.example/token: ECONNREFUSED`; `cause` is the underlying error.
 */
export class NetworkError extends ClientErrorBase {
  declare readonly code: 'network_error'
  /** A short reason: the system error code (`ECONNREFUSED`, `ENOTFOUND`, …), `timed out`, `aborted`, … */
  readonly reason?: string
  constructor(url?: string, reason?: string, options?: { cause?: unknown }) {
    const where = url === undefined ? undefined : safeUrl(url)
    const why = reason ? safeText(reason, 120) : ''
    super(
      'network_error',
      `${where ? `could not reach ${where}` : 'the server could not be reached'}${why ? `: ${why}` : ''}`,
      {},
      options,
    )
    if (where) (this as { url?: string }).url = where
    if (why) this.reason = why
  }
}

/** The server answered something the protocol does not allow (malformed JSON, missing members, wrong types). */
export class ProtocolError extends ClientErrorBase {
  declare readonly code: 'protocol_error'
  constructor(message: string, details?: ErrorDetails) {
    super('protocol_error', message, details)
  }
}

/** A pushed Security Event Token failed verification (signature, issuer, audience, type or shape). */
export class InvalidEventError extends ClientErrorBase {
  declare readonly code: 'invalid_event'
  constructor(message: string) {
    super('invalid_event', message)
  }
}

/**
 * A signed document from the holder (a signed affordability summary) failed verification: its
 * signature, issuer, audience, type or shape is not what the holder signs. It must not be relied on.
 */
export class InvalidSignatureError extends ClientErrorBase {
  declare readonly code: 'invalid_signature'
  constructor(message: string) {
    super('invalid_signature', message)
  }
}

/**
 * Any error `@consentry/client` throws: one union, discriminated by `code`. As a value it is the
 * common base class, so `err instanceof ConsentryClientError` works and narrows to the union too.
 *
 * @example
 * ```ts
 * function userMessage(err: ConsentryClientError): string {
 *   switch (err.code) {
 *     case 'grant_revoked': return `Access was revoked (${err.reason ?? 'no reason given'})`
 *     case 'read_limit_exceeded': return `Try again in ${err.retryAfter ?? 60} s`
 *     case 'network_error': return `Cannot reach the bank (${err.reason})`
 *     default: return 'Something went wrong'
 *   }
 * }
 * ```
 */
export type ConsentryClientError =
  | InvalidRequestError
  | ConfigurationError
  | CallbackError
  | StateMismatchError
  | IssuerMismatchError
  | LinkDeniedError
  | LinkNotFoundError
  | GrantRevokedError
  | GrantExpiredError
  | RateLimitedError
  | OutsideConsentError
  | NotFoundError
  | ClientAuthenticationError
  | UnauthorizedError
  | RequestRejectedError
  | ServerError
  | NetworkError
  | ProtocolError
  | InvalidEventError
  | InvalidSignatureError

/** The error class of one code, e.g. `ClientErrorOf<'grant_revoked'>` is `GrantRevokedError`. */
export type ClientErrorOf<C extends ClientErrorCode> = Extract<ConsentryClientError, { code: C }>

/** The constructor side of {@link ConsentryClientError} (the base class of every client error). */
export interface ConsentryClientErrorConstructor {
  readonly prototype: ConsentryClientError
  new (
    code: ClientErrorCode,
    message: string,
    details?: ErrorDetails,
    options?: { cause?: unknown },
  ): ConsentryClientError
}

/** The base class of every client error (`instanceof` narrows to the {@link ConsentryClientError} union). */
export const ConsentryClientError = ClientErrorBase as unknown as ConsentryClientErrorConstructor

// Every code has its class in the union, and every class's code is in the catalogue.
type MissingCodes = Exclude<ClientErrorCode, ConsentryClientError['code']>
const everyCodeHasAClass: MissingCodes extends never ? true : MissingCodes = true
void everyCodeHasAClass

/**
 * Is this an error thrown by `@consentry/client`? Narrows to the {@link ConsentryClientError} union, so a
 * `switch (err.code)` then narrows to the class. Also recognises errors of another copy of this package.
 *
 * @example
 * ```ts
 * catch (err) {
 *   if (isConsentryClientError(err) && err.code === 'grant_revoked') return reconnect(err.grantId)
 *   throw err
 * }
 * ```
 */
export function isConsentryClientError(value: unknown): value is ConsentryClientError {
  if (value instanceof ClientErrorBase) return true
  return (
    value instanceof Error &&
    (value as unknown as Record<symbol, unknown>)[BRAND] === true &&
    typeof (value as unknown as { code?: unknown }).code === 'string' &&
    Object.hasOwn(CLIENT_ERROR_CODES, (value as unknown as { code: string }).code)
  )
}
