import type { ResolvedConfig } from '../config.ts'
import type { LogArea } from '../logger.ts'
import { randomToken } from '../tokens/random.ts'

const ids = new WeakMap<Request, string>()

/**
 * The request's id: ours, random, made on first use and kept beside the request, so the trace line,
 * an error's log line and the 500's `request_id` agree. A client-sent `X-Request-Id` is never trusted
 * into the logs.
 *
 * @example
 * ```ts
 * log.debug({ request_id: requestId(request) }, 'data source asked')
 * ```
 */
export function requestId(request: Request): string {
  let id = ids.get(request)
  if (!id) {
    id = randomToken(12)
    ids.set(request, id)
  }
  return id
}

/** The area a path (relative to the issuer) belongs to: its endpoint's. */
export function areaOf(path: string, resourcePath: string): LogArea {
  if (path === resourcePath || path.startsWith(`${resourcePath}/`)) return 'resource'
  if (path.startsWith('/.well-known/oauth-protected-resource')) return 'resource'
  const first = path.split('/')[1] ?? ''
  switch (first) {
    case '.well-known':
    case 'jwks':
      return 'discovery'
    case 'register':
    case 'par':
    case 'authorize':
    case 'token':
    case 'grants':
    case 'consents':
    case 'audit':
      return first as LogArea
    case 'revoke':
    case 'introspect':
    case 'sandbox': // issues tokens and ends grants like the token endpoints
      return 'token'
    case 'login':
    case 'logout':
      return 'signin'
    default:
      return 'http'
  }
}

/**
 * Wrap a handler so that each request ends with one `debug` line in its area (`event: "request"`:
 * method, path without query, status, duration, request id) — written only when that area is traced
 * (`DEBUG=consentry:<area>` with the default logger, the logger's `debug` level otherwise).
 */
export function traceRequests<A extends unknown[]>(
  config: Pick<ResolvedConfig, 'issuer' | 'resourcePath' | 'log'>,
  handler: (request: Request, ...rest: A) => Promise<Response>,
): (request: Request, ...rest: A) => Promise<Response> {
  const base = new URL(config.issuer).pathname.replace(/\/$/, '')
  return async (request, ...rest) => {
    const started = performance.now()
    const response = await handler(request, ...rest)
    let pathname: string
    try {
      pathname = new URL(request.url).pathname
    } catch {
      return response
    }
    const relative = pathname.startsWith(`${base}/`) ? pathname.slice(base.length) : pathname
    const log = config.log(areaOf(relative, config.resourcePath))
    if (log.tracing)
      log.debug(
        {
          event: 'request',
          request_id: requestId(request),
          method: request.method,
          // The path only: query strings may carry request_uris, cursors or codes.
          path: pathname.slice(0, 200),
          status: response.status,
          duration_ms: Math.round((performance.now() - started) * 10) / 10,
        },
        `${request.method} ${pathname.slice(0, 200)} ${response.status}`,
      )
    return response
  }
}
