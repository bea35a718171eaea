import { lookup as dnsLookup } from 'node:dns/promises'
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import { type AddressPolicy, addressRange, refuseUrl } from './address.ts'

/**
 * Resolve a host name to every address it has (A and AAAA). The default is the operating system's
 * resolver (`dns.lookup`, as Node's own `fetch` uses); inject one to use another resolver or, in
 * tests, to make `evil.test` "resolve" to whatever the test needs. Whatever it returns is checked.
 */
export type EgressResolver = (hostname: string) => Promise<
  ReadonlyArray<{
    /** An IPv4 or IPv6 address. */
    address: string
    /** 4 or 6. */
    family: number
  }>
>

export interface EgressOptions extends AddressPolicy {
  resolve?: EgressResolver
  /** Budget for one request, from DNS resolution to the last byte of the body. Default 5 s. */
  timeoutMs?: number
}

export interface EgressRequest {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /**
   * Most body bytes read. A longer body is an `egress_too_large` failure, unless `discardBody` is set.
   */
  maxBytes: number
  /** Only the status matters (webhooks): the body is not read, the connection is closed at once. */
  discardBody?: boolean
  signal?: AbortSignal
}

export interface EgressResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Uint8Array<ArrayBuffer>
}

/** Why an outbound request failed (docs/errors.md, "Outbound requests"). */
export type EgressErrorCode =
  /** The URL or an address it resolved to is not allowed (scheme, private range, localhost…). */
  | 'egress_refused'
  /** A 3xx answer: redirects are never followed. */
  | 'egress_redirect'
  /** The body is larger than the request's `maxBytes`. */
  | 'egress_too_large'
  /** Nothing (complete) within the time budget. */
  | 'egress_timeout'
  /** DNS, TCP, TLS or HTTP failure, or a recent failure still remembered. */
  | 'egress_failed'

/** Why an outbound request was not made or did not complete. `status` is set for a redirect. */
export class EgressError extends Error {
  /** Always `EgressError`. */
  override name = 'EgressError'
  constructor(
    /** Why (see docs/errors.md). */
    readonly code: EgressErrorCode,
    message: string,
    /** The 3xx status, for `egress_redirect`. */
    readonly status?: number,
  ) {
    super(message)
  }
}

export const DEFAULT_EGRESS_TIMEOUT_MS = 5000

const defaultResolve: EgressResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

/**
 * The one way the server talks to the outside world (SSRF defence, OWASP "Server-Side Request
 * Forgery Prevention"): `https:` only (`http:` to loopback only with `allowLoopback`); the host
 * resolved ONCE and every address it resolved to checked against the private, loopback, link-local,
 * metadata and other special-purpose ranges; the connection made to exactly the checked addresses (a
 * `lookup` that hands back the validated result, so there is no second resolution to rebind, while
 * SNI and `Host` stay the host name); redirects never followed; the body capped; one time budget.
 *
 * @example
 * ```ts
 * const res = await guardedFetch('https://lender.example/jwks', { maxBytes: 65_536 })
 * JSON.parse(new TextDecoder().decode(res.body))
 * ```
 */
export async function guardedFetch(
  input: string | URL,
  req: EgressRequest,
  options: EgressOptions = {},
): Promise<EgressResponse> {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new EgressError('egress_refused', 'not an absolute URL')
  }
  const refused = refuseUrl(url, options)
  if (refused) throw new EgressError('egress_refused', refused)

  const timeoutMs = options.timeoutMs ?? DEFAULT_EGRESS_TIMEOUT_MS
  const deadline = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(req.signal ? [req.signal] : [])])
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await resolveChecked(host, options.resolve ?? defaultResolve, options, deadline)
  return send(url, host, addresses, req, deadline)
}

async function resolveChecked(
  host: string,
  resolve: EgressResolver,
  policy: AddressPolicy,
  deadline: AbortSignal,
): Promise<Array<{ address: string; family: number }>> {
  let found: ReadonlyArray<{ address: string; family: number }>
  try {
    found = await Promise.race([resolve(host), aborted(deadline)])
  } catch (e) {
    if (e instanceof EgressError) throw e
    throw new EgressError('egress_failed', `could not resolve ${host}`)
  }
  if (!found.length) throw new EgressError('egress_failed', `${host} has no address`)
  // Every address, not just the first: a resolver may hand out a public and a private one and let
  // the connection pick.
  for (const { address } of found) {
    const range = addressRange(address)
    if (range !== 'unicast' && !(range === 'loopback' && policy.allowLoopback))
      throw new EgressError('egress_refused', `${host} resolves to a ${range} address`)
  }
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }))
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(toEgressError(signal.reason))
    if (signal.aborted) fail()
    else signal.addEventListener('abort', fail, { once: true })
  })
}

function toEgressError(reason: unknown): EgressError {
  if (reason instanceof EgressError) return reason
  if ((reason as { name?: string } | null)?.name === 'TimeoutError')
    return new EgressError('egress_timeout', 'the request timed out')
  return new EgressError('egress_failed', 'the request was aborted')
}

function send(
  url: URL,
  host: string,
  addresses: Array<{ address: string; family: number }>,
  req: EgressRequest,
  deadline: AbortSignal,
): Promise<EgressResponse> {
  // Hands the already-checked addresses to the socket: no second DNS query, no rebinding window.
  // (Node calls it with `all: true` when it races IPv4 and IPv6, "happy eyeballs".)
  const pinned: LookupFunction = (_hostname, opts, callback) => {
    if ((opts as { all?: boolean }).all) (callback as (e: null, a: typeof addresses) => void)(null, addresses)
    else callback(null, addresses[0]!.address, addresses[0]!.family)
  }
  const body = req.body === undefined ? undefined : Buffer.from(req.body)
  const options: RequestOptions = {
    method: req.method ?? 'GET',
    protocol: url.protocol,
    hostname: host,
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    headers: {
      'user-agent': 'consentry',
      ...req.headers,
      ...(body ? { 'content-length': String(body.length) } : {}),
    },
    lookup: pinned,
    agent: false, // one connection per request: nothing pooled outlives its check
    signal: deadline,
    maxHeaderSize: 16 * 1024,
  }
  return new Promise<EgressResponse>((resolve, reject) => {
    // The first failure wins: destroying the request can fire further error events.
    const fail = (e: unknown) => {
      reject(e instanceof EgressError ? e : deadline.aborted ? toEgressError(deadline.reason) : failed(url))
      outgoing.destroy()
    }
    const outgoing = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res) => {
      const status = res.statusCode ?? 0
      res.on('error', fail)
      if (status >= 300 && status < 400)
        return fail(new EgressError('egress_redirect', `redirects are not followed (${status})`, status))
      if (req.discardBody) {
        res.destroy()
        outgoing.destroy()
        return resolve({ status, headers: res.headers, body: new Uint8Array() })
      }
      const declared = Number(res.headers['content-length'])
      if (declared > req.maxBytes)
        return fail(new EgressError('egress_too_large', `the body is over ${req.maxBytes} bytes`))
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > req.maxBytes)
          fail(new EgressError('egress_too_large', `the body is over ${req.maxBytes} bytes`))
        else chunks.push(chunk)
      })
      res.on('end', () =>
        resolve({ status, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) }),
      )
      res.on('aborted', () => fail(failed(url)))
    })
    outgoing.on('error', fail)
    outgoing.end(body)
  })
}

const failed = (url: URL) => new EgressError('egress_failed', `could not reach ${url.host}`)
