/**
 * The one mapping from a failure onto the error catalogue (errors.ts): an HTTP response (RFC 6749 §5.2
 * OAuth error JSON, RFC 9457 problem+json, a bare status), an RFC 6750 / RFC 9449 `WWW-Authenticate`
 * challenge, anything oauth4webapi throws, or a fetch that never got an answer. Every call site of the
 * SDK goes through {@link toClientError}; {@link classify} is the single decision table.
 * Internal: not exported from the package.
 */
import * as oauth from 'oauth4webapi'
import {
  ClientAuthenticationError,
  type ConsentryClientError,
  type ErrorDetails,
  InvalidRequestError,
  isConsentryClientError,
  NetworkError,
  NotFoundError,
  OutsideConsentError,
  ProtocolError,
  RateLimitedError,
  RequestRejectedError,
  ServerError,
  safeCode,
  safeText,
  safeUrl,
  UnauthorizedError,
} from './errors.ts'

/** What is known about a failed exchange, whatever its source. */
export interface Failure {
  status?: number
  /** The OAuth `error`, the challenge's `error` parameter, or the problem document's `code`. */
  error?: string
  /** `error_description` / problem `detail` (server text). */
  description?: string
  /** `Retry-After`, in seconds. */
  retryAfter?: number
  /** The request's URL. */
  url?: string
}

/** What the call site knows about the request that failed. */
export interface MapContext {
  /** The grant the request was for. */
  grantId?: string
  /** Sentence of the ProtocolError for an answer that breaks the protocol. */
  malformed?: string
  /** Secrets the request carried (tokens, codes, verifiers): never repeated, even if the server echoes them. */
  secrets?: readonly (string | undefined)[]
  /** The URL being fetched: the source is then a fetch that got no answer (→ NetworkError). */
  request?: string
  /** Epoch ms, for an HTTP-date `Retry-After`. */
  now?: number
}

/** OAuth / problem codes that mean "your input was wrong". */
const INVALID_INPUT = new Set([
  'invalid_request',
  'invalid_authorization_details',
  'invalid_redirect_uri',
  'invalid_request_uri',
  'invalid_request_object',
  'invalid_scope',
  'invalid_client_metadata',
  'invalid_parameter',
  'invalid_cursor',
  'bad_request',
])

/** The decision table: one failure, one typed error. */
export function classify(failure: Failure, context: MapContext = {}): ConsentryClientError {
  const { status, error, retryAfter } = failure
  const description = safeText(failure.description, 500, context.secrets)
  const url = failure.url ? safeUrl(failure.url) : undefined
  const serverError = safeCode(error)
  const details: ErrorDetails = {
    ...(status !== undefined ? { status } : {}),
    ...(serverError ? { serverError } : {}),
    ...(description ? { description } : {}),
    ...(context.grantId !== undefined ? { grantId: context.grantId } : {}),
    ...(url ? { url } : {}),
  }
  if (status === 429 || error === 'read_limit_exceeded') return new RateLimitedError(retryAfter, details)
  if (error !== undefined && INVALID_INPUT.has(error))
    return new InvalidRequestError('the server rejected the request as invalid', details)
  switch (error) {
    case 'invalid_client':
      return new ClientAuthenticationError(details)
    case 'invalid_token':
      return new UnauthorizedError('the server rejected the token', details)
    case 'outside_consent':
      return new OutsideConsentError(details)
    case 'not_found':
      return new NotFoundError('the server has no such resource', details)
    case 'server_error':
    case 'temporarily_unavailable':
    case 'internal_error':
      return new ServerError(details)
  }
  if (status !== undefined && status >= 500) return new ServerError(details)
  if (status === 404) return new NotFoundError('the server has no such resource', details)
  if (status === 403 && error === undefined) return new OutsideConsentError(details)
  if (status === 401 && error === undefined)
    return new UnauthorizedError('the server refused the credential', details)
  if (error !== undefined && (status === undefined || (status >= 400 && status < 500)))
    return new RequestRejectedError('the server rejected the request', details)
  return new ProtocolError('the server answered with an unexpected HTTP status', details)
}

/**
 * Turn any failure into its catalogue error (resolves to it; callers `throw await toClientError(…)`).
 * Catalogue errors pass through (given the grant id if they lack one); a `Response` is read for its
 * OAuth error or problem document; oauth4webapi errors map by kind; with `context.request`, anything
 * else is a network failure. Without it, errors that are not from the protocol layer (programming
 * errors) are returned unchanged.
 */
export async function toClientError(source: Response, context?: MapContext): Promise<ConsentryClientError>
export async function toClientError(source: unknown, context?: MapContext): Promise<unknown>
export async function toClientError(source: unknown, context: MapContext = {}): Promise<unknown> {
  if (isConsentryClientError(source)) {
    if (context.grantId !== undefined && source.grantId === undefined)
      Object.defineProperty(source, 'grantId', { value: context.grantId, enumerable: true })
    return source
  }
  if (source instanceof Response) return classify(await readFailure(source, context.now), context)
  if (source instanceof oauth.ResponseBodyError)
    return classify(
      {
        status: source.status,
        error: source.error,
        ...(typeof source.error_description === 'string' ? { description: source.error_description } : {}),
        ...retryAfterOf(source.response, context.now),
        url: source.response.url,
      },
      context,
    )
  if (source instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = challengeOf(source)
    // RFC 6750 §3: the parameters are in the header; the body may repeat them (or carry a problem).
    const body = await readFailure(source.response, context.now)
    return classify(
      {
        ...body,
        error: challenge.error ?? body.error ?? 'invalid_token',
        ...(challenge.description !== undefined ? { description: challenge.description } : {}),
      },
      context,
    )
  }
  if (source instanceof oauth.OperationProcessingError || source instanceof oauth.UnsupportedOperationError) {
    const cause = (source as { cause?: unknown }).cause
    if (cause instanceof Response && cause.status >= 400)
      return classify(await readFailure(cause, context.now), context)
    const what = safeText(source.message, 200, context.secrets)
    return new ProtocolError(
      `${context.malformed ?? 'the server answer is malformed'}${what ? `: ${what}` : ''}`,
      {
        ...(context.grantId !== undefined ? { grantId: context.grantId } : {}),
        ...(cause instanceof Response ? { status: cause.status, url: cause.url } : {}),
      },
    )
  }
  if (context.request !== undefined)
    return new NetworkError(context.request, networkReason(source), { cause: source })
  return source
}

/** The `error` and `error_description` of the DPoP / Bearer challenge of a challenge error. */
export function challengeOf(err: unknown): { error?: string; description?: string } {
  if (!(err instanceof oauth.WWWAuthenticateChallengeError)) return {}
  for (const c of err.cause) {
    if (c.scheme !== 'dpop' && c.scheme !== 'bearer') continue
    const { error, error_description } = c.parameters
    return {
      ...(typeof error === 'string' ? { error } : {}),
      ...(typeof error_description === 'string' ? { description: error_description } : {}),
    }
  }
  return {}
}

/** The `error` parameter of the DPoP/Bearer challenge in a WWW-Authenticate challenge error. */
export function challengeError(err: unknown): string | undefined {
  return challengeOf(err).error
}

/** Parse `Retry-After` (delta-seconds or an HTTP date) into whole seconds. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, Math.ceil((date - now) / 1000))
}

function retryAfterOf(response: Response | undefined, now = Date.now()): { retryAfter?: number } {
  const seconds = parseRetryAfter(response?.headers.get('retry-after') ?? null, now)
  return seconds === undefined ? {} : { retryAfter: seconds }
}

/** Largest error body read for its OAuth error or problem document. */
const MAX_ERROR_BODY = 64 * 1024

/** Read what a failed response says: status, URL, Retry-After and, for 4xx/5xx JSON, its error and description. */
async function readFailure(response: Response, now?: number): Promise<Failure> {
  const failure: Failure = { status: response.status, url: response.url, ...retryAfterOf(response, now) }
  const type = response.headers.get('content-type') ?? ''
  if (
    response.status < 400 ||
    response.bodyUsed ||
    !/^application\/([a-z0-9.+-]+\+)?json\b/i.test(type.trim())
  ) {
    discard(response)
    return failure
  }
  try {
    const text = await response.text()
    if (text.length > MAX_ERROR_BODY) return failure
    const body = JSON.parse(text) as Record<string, unknown>
    if (!body || typeof body !== 'object') return failure
    // RFC 6749 §5.2 `error`, or RFC 9457 with Consentry's `code` member.
    const error =
      typeof body.error === 'string' ? body.error : typeof body.code === 'string' ? body.code : undefined
    const description =
      typeof body.error_description === 'string'
        ? body.error_description
        : typeof body.detail === 'string'
          ? body.detail
          : undefined
    if (error !== undefined) failure.error = error
    if (description !== undefined) failure.description = description
  } catch {
    // unreadable body: judge by status alone
  }
  return failure
}

/** A short reason for a fetch that got no answer: the system error code where there is one. */
function networkReason(err: unknown): string {
  let e: unknown = err
  let message = 'unknown error'
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof Error && e.message) message = e.message
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code
    if (e instanceof AggregateError) {
      const inner = e.errors.map((x) => (x as { code?: unknown })?.code).find((c) => typeof c === 'string')
      if (typeof inner === 'string') return inner
    }
    const name = (e as { name?: unknown }).name
    if (name === 'TimeoutError') return 'timed out'
    if (name === 'AbortError') return 'aborted'
    e = (e as { cause?: unknown }).cause
  }
  // No code anywhere: the innermost message (the NetworkError cuts it and redacts token-shaped text).
  return message
}

/** Release a response body we will not read (never awaited: some stream implementations never settle a cancel). */
export function discard(response: Response): void {
  try {
    response.body?.cancel().catch(() => {})
  } catch {
    // already consumed or locked
  }
}
