/**
 * The one catalogue of errors `@consentry/client` throws. Every error is a {@link ConsentryClientError}
 * with a stable `code`; branch on `code` (or `instanceof`), never on `message`.
 *
 * Messages are fixed sentences written here: they never contain tokens, keys, authorization codes,
 * PKCE verifiers, client assertions, or text copied from the server's `error_description` (that goes
 * to the separate `description` field, for logs you control).
 *
 * @example
 * ```ts
 * try {
 *   for await (const tx of link.transactions({ accountId })) save(tx)
 * } catch (err) {
 *   if (err instanceof RateLimitedError) retryIn(err.retryAfter)
 *   else if (err instanceof GrantRevokedError) markDisconnected(err.grantId)
 *   else throw err
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

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES

/** Extra, secret-free context an error may carry. */
export interface ErrorDetails {
  /** HTTP status of the response that caused the error, if any. */
  status?: number
  /** The OAuth `error` / problem `code` the server sent, if any. */
  serverError?: string
  /** The server's `error_description` / problem `detail` (server-written text, kept out of `message`). */
  description?: string
  /** The grant concerned, if known. */
  grantId?: string
}

/** A short, safe rendering of a server-sent identifier (OAuth error codes are `[\x20-\x7e]` words). */
export function safeCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : undefined
}

/** Base class of every error thrown by `@consentry/client`. */
export class ConsentryClientError extends Error {
  readonly code: ClientErrorCode
  readonly status?: number
  readonly serverError?: string
  readonly description?: string
  readonly grantId?: string

  constructor(code: ClientErrorCode, message: string, details: ErrorDetails = {}) {
    super(message)
    this.name = new.target.name
    this.code = code
    if (details.status !== undefined) this.status = details.status
    const serverError = safeCode(details.serverError)
    if (serverError) this.serverError = serverError
    if (typeof details.description === 'string') this.description = details.description.slice(0, 500)
    if (details.grantId !== undefined) this.grantId = details.grantId
  }
}

/** Input was rejected, by this SDK before any request or by the server (`invalid_request`, `invalid_authorization_details`, `invalid_parameter`, `invalid_cursor`, …; see `serverError`). */
export class InvalidRequestError extends ConsentryClientError {
  constructor(message: string, details?: ErrorDetails) {
    super('invalid_request', message, details)
  }
}

/** The SDK was configured unsafely or inconsistently (for example a non-https issuer). */
export class ConfigurationError extends ConsentryClientError {
  constructor(message: string, details?: ErrorDetails) {
    super('invalid_config', message, details)
  }
}

/** The authorization callback could not be used (missing code, unexpected error, malformed URL). */
export class CallbackError extends ConsentryClientError {
  constructor(message: string, details?: ErrorDetails, code: ClientErrorCode = 'invalid_callback') {
    super(code, message, details)
  }
}

/** The callback's `state` is missing or is not the one of this pending link (possible CSRF / mix-up). */
export class StateMismatchError extends CallbackError {
  constructor(message = 'the callback state does not match the pending link') {
    super(message, {}, 'state_mismatch')
  }
}

/** The callback's `iss` is missing or is not the configured issuer (RFC 9207 mix-up defence). */
export class IssuerMismatchError extends CallbackError {
  constructor(message = 'the callback iss does not match the configured issuer') {
    super(message, {}, 'issuer_mismatch')
  }
}

/** The person declined (or cancelled) the consent: the callback carried `error=access_denied`. */
export class LinkDeniedError extends ConsentryClientError {
  constructor(details?: ErrorDetails) {
    super('link_denied', 'the account holder did not grant access', details)
  }
}

/** `client.link(grantId)` found nothing in the token store. */
export class LinkNotFoundError extends ConsentryClientError {
  constructor(grantId: string) {
    super('link_not_found', 'no stored link for this grant id', { grantId })
  }
}

/** The grant has ended: revoked by the person, the holder, or this client (or a refresh token was reused). */
export class GrantRevokedError extends ConsentryClientError {
  constructor(details?: ErrorDetails) {
    super('grant_revoked', 'the grant has been revoked', details)
  }
}

/** The grant has reached its expiry. Start a new link to keep reading. */
export class GrantExpiredError extends ConsentryClientError {
  constructor(details?: ErrorDetails) {
    super('grant_expired', 'the grant has expired', details)
  }
}

/** `429`: the grant's reads per day (unattended, or the holder's cap on attended ones) are used up. `retryAfter` is in seconds, when the server said. */
export class RateLimitedError extends ConsentryClientError {
  readonly retryAfter?: number
  constructor(retryAfter: number | undefined, details?: ErrorDetails) {
    super('read_limit_exceeded', 'the read limit of this grant is reached', details)
    if (retryAfter !== undefined) this.retryAfter = retryAfter
  }
}

/** `403 outside_consent`: the account, period or data asked for is not covered by the grant. */
export class OutsideConsentError extends ConsentryClientError {
  constructor(details?: ErrorDetails) {
    super('outside_consent', 'the request is outside what the account holder consented to', details)
  }
}

/** `404`: the account or grant does not exist (or belongs to another client). */
export class NotFoundError extends ConsentryClientError {
  constructor(message: string, details?: ErrorDetails) {
    super('not_found', message, details)
  }
}

/** `invalid_client`: the server did not accept this client's `private_key_jwt` authentication. */
export class ClientAuthenticationError extends ConsentryClientError {
  constructor(details?: ErrorDetails) {
    super('invalid_client', 'the server rejected the client authentication', details)
  }
}

/** `401`: the server refused a credential (an initial access token, or an access token of a grant that is still active). */
export class UnauthorizedError extends ConsentryClientError {
  constructor(message: string, details?: ErrorDetails) {
    super('unauthorized', message, details)
  }
}

/** The server refused the request for another documented reason (e.g. `invalid_dpop_proof`, `unsupported_grant_type`); see `serverError`. */
export class RequestRejectedError extends ConsentryClientError {
  constructor(message: string, details?: ErrorDetails) {
    super('request_rejected', message, details)
  }
}

/** `5xx`: the server failed; usually worth retrying later. */
export class ServerError extends ConsentryClientError {
  constructor(details?: ErrorDetails) {
    super('server_error', 'the server failed to answer', details)
  }
}

/** The server could not be reached (DNS, connection, TLS, abort). */
export class NetworkError extends ConsentryClientError {
  constructor() {
    super('network_error', 'the server could not be reached')
  }
}

/** The server answered something the protocol does not allow (malformed JSON, missing members, wrong types). */
export class ProtocolError extends ConsentryClientError {
  constructor(message: string, details?: ErrorDetails) {
    super('protocol_error', message, details)
  }
}

/** A pushed Security Event Token failed verification (signature, issuer, audience, type or shape). */
export class InvalidEventError extends ConsentryClientError {
  constructor(message: string) {
    super('invalid_event', message)
  }
}

/**
 * A signed document from the holder (a signed affordability summary) failed verification: its
 * signature, issuer, type or shape is not what the holder signs. The document must not be relied on.
 */
export class InvalidSignatureError extends ConsentryClientError {
  constructor(message: string) {
    super('invalid_signature', message)
  }
}
