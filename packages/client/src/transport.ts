/**
 * Internal plumbing shared by the client, links and registration: transport security rules, the
 * fetch wrapper, discovery, DPoP-nonce retry and the mapping of oauth4webapi / HTTP failures onto the
 * error catalogue. Not exported from the package.
 */
import { isLoopbackHost } from '@consentry/core'
import * as oauth from 'oauth4webapi'
import {
  ConsentryClientError as BaseError,
  ClientAuthenticationError,
  ConfigurationError,
  type ConsentryClientError,
  InvalidRequestError,
  NetworkError,
  NotFoundError,
  OutsideConsentError,
  ProtocolError,
  RateLimitedError,
  RequestRejectedError,
  ServerError,
  safeCode,
  UnauthorizedError,
} from './errors.ts'

/** A `fetch`-compatible function (the global `fetch` by default). */
// biome-ignore lint/suspicious/noExplicitAny: oauth4webapi passes its own init shapes through
export type FetchFn = (input: string, init?: any) => Promise<Response>

export interface Transport {
  /** The configured issuer, exactly as given. */
  issuer: string
  /** Whether plain http is allowed (loopback issuer, or the dangerous opt-in). */
  insecure: boolean
  dangerous: boolean
  fetch: FetchFn
  /** Options spread into every oauth4webapi call. */
  opts: { [oauth.customFetch]: FetchFn; [oauth.allowInsecureRequests]: boolean }
}

export interface TransportOptions {
  issuer: string
  fetch?: FetchFn | typeof fetch
  dangerouslyAllowInsecureHttp?: boolean
}

/** Build the transport for an issuer, refusing plain http unless it is loopback (or explicitly allowed). */
export function createTransport(options: TransportOptions): Transport {
  const { issuer } = options
  if (typeof issuer !== 'string' || issuer.length === 0) throw new ConfigurationError('issuer is required')
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    throw new ConfigurationError('issuer must be an absolute URL')
  }
  if (url.search || url.hash || url.username || url.password)
    throw new ConfigurationError('issuer must not have a query, fragment or credentials')
  const dangerous = options.dangerouslyAllowInsecureHttp === true
  let insecure = false
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname) && !dangerous)
      throw new ConfigurationError(
        'issuer must use https (plain http is only allowed on localhost, 127.0.0.1 or [::1], or with dangerouslyAllowInsecureHttp)',
      )
    insecure = true
  } else if (url.protocol !== 'https:') {
    throw new ConfigurationError('issuer must be an https URL')
  }
  const base = (options.fetch ?? globalThis.fetch) as FetchFn
  if (typeof base !== 'function') throw new ConfigurationError('no fetch implementation available')
  const wrapped: FetchFn = async (input, init) => {
    try {
      return await base(input, init)
    } catch {
      // The underlying error may echo request details; keep it out.
      throw new NetworkError()
    }
  }
  return {
    issuer,
    insecure,
    dangerous,
    fetch: wrapped,
    opts: { [oauth.customFetch]: wrapped, [oauth.allowInsecureRequests]: insecure },
  }
}

/** May the SDK send a request (possibly carrying credentials) to this URL? */
export function isAllowedUrl(t: Transport, value: unknown): value is string {
  if (typeof value !== 'string') return false
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.username || url.password || url.hash) return false
  if (url.protocol === 'https:') return true
  if (url.protocol !== 'http:' || !t.insecure) return false
  return t.dangerous || isLoopbackHost(url.hostname)
}

/** Authorization server metadata with the members this SDK relies on checked. */
export type ServerMetadata = oauth.AuthorizationServer & {
  consentry_resource?: string
  grant_management_endpoint?: string
  /** The holder's audit log (transparency log): origin, note verifier key, endpoints. */
  audit_log?: {
    origin: string
    verifier_key: string
    checkpoint_endpoint: string
    consistency_endpoint: string
  }
}

const ENDPOINT_MEMBERS = [
  'authorization_endpoint',
  'token_endpoint',
  'pushed_authorization_request_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
  'jwks_uri',
  'registration_endpoint',
  'grant_management_endpoint',
  'consentry_resource',
] as const

/** RFC 8414 discovery; the metadata's `issuer` must equal the configured issuer exactly. */
export async function discover(t: Transport): Promise<ServerMetadata> {
  const expected = new URL(t.issuer)
  let as: oauth.AuthorizationServer
  try {
    const response = await oauth.discoveryRequest(expected, { algorithm: 'oauth2', ...t.opts })
    as = await oauth.processDiscoveryResponse(expected, response)
  } catch (err) {
    if (err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON)
      throw new ProtocolError('the discovery document names another issuer')
    throw mapError(err, 'the discovery document is malformed')
  }
  if (as.issuer !== t.issuer) throw new ProtocolError('the discovery document names another issuer')
  for (const member of ENDPOINT_MEMBERS) {
    const value = (as as Record<string, unknown>)[member]
    if (value === undefined) continue
    if (!isAllowedUrl(t, value)) throw new ProtocolError(`the discovery document has an unusable ${member}`)
  }
  for (const member of [
    'authorization_endpoint',
    'token_endpoint',
    'pushed_authorization_request_endpoint',
  ] as const) {
    if (as[member] === undefined) throw new ProtocolError(`the discovery document lacks ${member}`)
  }
  return as as ServerMetadata
}

/** Run an oauth4webapi request+process step, retrying once when the server asks for a (new) DPoP nonce. */
export async function withNonceRetry<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    if (oauth.isDPoPNonceError(err)) return await step()
    throw err
  }
}

/** The `error` parameter of the DPoP/Bearer challenge in a WWW-Authenticate challenge error. */
export function challengeError(err: unknown): string | undefined {
  if (!(err instanceof oauth.WWWAuthenticateChallengeError)) return undefined
  for (const c of err.cause) {
    if ((c.scheme === 'dpop' || c.scheme === 'bearer') && typeof c.parameters.error === 'string')
      return c.parameters.error
  }
  return undefined
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

/** Map an OAuth error code (RFC 6749 JSON body or WWW-Authenticate `error`) onto the catalogue. */
export function fromOAuthError(
  error: unknown,
  status: number | undefined,
  description?: unknown,
): ConsentryClientError {
  const details = {
    ...(status !== undefined ? { status } : {}),
    serverError: safeCode(error),
    ...(typeof description === 'string' ? { description } : {}),
  }
  switch (error) {
    case 'invalid_client':
      return new ClientAuthenticationError(details)
    case 'invalid_request':
    case 'invalid_authorization_details':
    case 'invalid_redirect_uri':
    case 'invalid_request_uri':
    case 'invalid_scope':
    case 'invalid_client_metadata':
    case 'invalid_parameter':
    case 'invalid_cursor':
      return new InvalidRequestError('the server rejected the request as invalid', details)
    case 'invalid_token':
      return new UnauthorizedError('the server rejected the token', details)
    case 'outside_consent':
      return new OutsideConsentError(details)
    case 'not_found':
      return new NotFoundError('the server has no such resource', details)
    case 'server_error':
    case 'temporarily_unavailable':
      return new ServerError(details)
    default:
      return new RequestRejectedError('the server rejected the request', details)
  }
}

/** Map an unexpected HTTP status onto the catalogue. */
export function fromStatus(response: Response, now: number): ConsentryClientError {
  const status = response.status
  if (status === 429)
    return new RateLimitedError(parseRetryAfter(response.headers.get('retry-after'), now), { status })
  if (status >= 500) return new ServerError({ status })
  return new ProtocolError('the server answered with an unexpected HTTP status', { status })
}

/**
 * Turn anything thrown by oauth4webapi into a catalogue error. Catalogue errors pass through;
 * errors that are not from the protocol layer (programming errors) are rethrown unchanged.
 */
export function mapError(
  err: unknown,
  malformed = 'the server answer is malformed',
  now = Date.now(),
): unknown {
  if (err instanceof BaseError) return err
  if (err instanceof oauth.ResponseBodyError)
    return fromOAuthError(err.error, err.status, err.error_description)
  if (err instanceof oauth.WWWAuthenticateChallengeError)
    return fromOAuthError(challengeError(err) ?? 'invalid_token', err.status)
  if (err instanceof oauth.OperationProcessingError) {
    const cause = (err as { cause?: unknown }).cause
    if (cause instanceof Response) {
      if (cause.status >= 400) return fromStatus(cause, now)
    }
    return new ProtocolError(malformed)
  }
  if (err instanceof oauth.UnsupportedOperationError) return new ProtocolError(malformed)
  return err
}

/** Read a JSON body (any `application/*json` type), or throw a ProtocolError. */
export async function readJson(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? ''
  if (!/^application\/([a-z0-9.+-]+\+)?json\b/i.test(type.trim())) {
    discard(response)
    throw new ProtocolError('the server answer is not JSON', { status: response.status })
  }
  try {
    return await response.json()
  } catch {
    throw new ProtocolError('the server answer is not valid JSON', { status: response.status })
  }
}

/** Release a response body we will not read (never awaited: some stream implementations never settle a cancel). */
export function discard(response: Response): void {
  try {
    response.body?.cancel().catch(() => {})
  } catch {
    // already consumed or locked
  }
}
