/**
 * Internal plumbing shared by the client, links and registration: transport security rules, the
 * fetch wrapper (a fetch that gets no answer becomes a NetworkError naming the URL and cause),
 * discovery and DPoP-nonce retry. Failures map onto the catalogue in map-error.ts.
 * Not exported from the package.
 */
import { isLoopbackHost } from '@consentry/core'
import * as oauth from 'oauth4webapi'
import { ConfigurationError, IssuerMismatchError, ProtocolError } from './errors.ts'
import { discard, toClientError } from './map-error.ts'

export { challengeError, discard, parseRetryAfter, toClientError } from './map-error.ts'

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
    } catch (err) {
      // The message names the URL (origin and path) and the cause's code; the cause itself is kept.
      throw await toClientError(err, { request: requestUrl(input) })
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

function requestUrl(input: unknown): string {
  if (typeof input === 'string') return input
  if (input instanceof URL) return input.href
  if (input instanceof Request) return input.url
  return String(input)
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
  /** Only on a test holder running its sandbox: see `client.sandbox`. */
  sandbox_link_endpoint?: string
  sandbox_revoke_endpoint?: string
  /** The holder's audit log (transparency log): origin, note verifier key, endpoints. */
  audit_log?: {
    origin: string
    verifier_key: string
    checkpoint_endpoint: string
    consistency_endpoint: string
    /** C2SP tlog-tiles prefix (hash tiles only). */
    tiles_prefix?: string
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
  'sandbox_link_endpoint',
  'sandbox_revoke_endpoint',
] as const

/** RFC 8414 discovery; the metadata's `issuer` must equal the configured issuer exactly. */
export async function discover(t: Transport): Promise<ServerMetadata> {
  const expected = new URL(t.issuer)
  let as: oauth.AuthorizationServer
  try {
    const response = await oauth.discoveryRequest(expected, { algorithm: 'oauth2', ...t.opts })
    as = await oauth.processDiscoveryResponse(expected, response)
  } catch (err) {
    if (err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      const received = (err.cause as { body?: { issuer?: unknown } } | undefined)?.body?.issuer
      throw new IssuerMismatchError({
        expected: t.issuer,
        ...(typeof received === 'string' ? { received } : {}),
        source: 'discovery',
      })
    }
    throw await toClientError(err, { malformed: 'the discovery document is malformed' })
  }
  // RFC 8414 §3.3: identical, character for character.
  if (as.issuer !== t.issuer)
    throw new IssuerMismatchError({ expected: t.issuer, received: as.issuer, source: 'discovery' })
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

/** Read a JSON body (any `application/*json` type), or throw a ProtocolError. */
export async function readJson(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? ''
  if (!/^application\/([a-z0-9.+-]+\+)?json\b/i.test(type.trim())) {
    discard(response)
    throw new ProtocolError('the server answer is not JSON', { status: response.status, url: response.url })
  }
  try {
    return await response.json()
  } catch {
    throw new ProtocolError('the server answer is not valid JSON', {
      status: response.status,
      url: response.url,
    })
  }
}
