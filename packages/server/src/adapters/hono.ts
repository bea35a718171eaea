/**
 * `@consentry/server/hono` — mount a Consentry server in a Hono app (Node via `@hono/node-server`,
 * Bun, Deno, workers). Structural types only: Hono is not a dependency of `@consentry/server`.
 */
import { MountError, ProblemError } from '../errors.ts'
import type { ConnectionInfo } from '../http/client-address.ts'
import { problemResponse } from '../http/respond.ts'
import { describeError, type Logger } from '../logger.ts'
import type { ConsentServer } from '../server.ts'
import { randomToken } from '../tokens/random.ts'
import { rebuildBody } from './node.ts'
import { reporterFor } from './report.ts'

export { issuerPath, wellKnownPaths } from './mount.ts'

/** The slice of a Hono `Context` the handler reads (a Hono `Context` fits). */
export interface HonoContextLike {
  req: {
    raw: Request
    /** Hono's cache of bodies its helpers (`c.req.json()`, validators, `parseBody`) already read. */
    bodyCache: object
  }
  env?: unknown
}

/** Options of {@link honoHandler}. */
export interface HonoHandlerOptions {
  /**
   * The connection's peer address, for sign-in throttling. Default: read from the runtime's
   * `c.env` — `@hono/node-server` (`incoming.socket`), Bun (`requestIP`), Deno (`remoteAddr`).
   */
  clientAddress?: (c: HonoContextLike) => string | undefined
  /** Where the adapter's own failures go. Default: the server's logger. */
  logger?: Logger
}

/** The peer address as the runtimes Hono runs on expose it in `c.env`. */
function runtimeAddress(c: HonoContextLike): string | undefined {
  const env = c.env as
    | {
        incoming?: { socket?: { remoteAddress?: string } }
        requestIP?: (request: Request) => { address?: string } | null
        remoteAddr?: { hostname?: string }
      }
    | undefined
  if (!env || typeof env !== 'object') return undefined
  if (env.incoming?.socket?.remoteAddress) return env.incoming.socket.remoteAddress
  if (typeof env.requestIP === 'function') return env.requestIP(c.req.raw)?.address ?? undefined
  return env.remoteAddr?.hostname
}

type Cache = Partial<Record<'arrayBuffer' | 'text' | 'blob' | 'json' | 'formData', Promise<unknown>>>

/**
 * The request to hand on: `c.req.raw` itself, or — when a Hono helper already read its body — a copy
 * with the body rebuilt from Hono's cache (the bytes when Hono kept them; else JSON serialised again
 * or a urlencoded form encoded again, which is safe: nothing Consentry verifies signs the body bytes).
 */
async function requestOf(c: HonoContextLike): Promise<Request> {
  const raw = c.req.raw
  if (!raw.bodyUsed) return raw
  const cache = c.req.bodyCache as Cache
  let body: string | Uint8Array
  try {
    if (cache.arrayBuffer) body = new Uint8Array((await cache.arrayBuffer) as ArrayBuffer)
    else if (cache.text) body = (await cache.text) as string
    else if (cache.blob) body = new Uint8Array(await ((await cache.blob) as Blob).arrayBuffer())
    else if (cache.json) body = rebuildBody(await cache.json, raw.headers.get('content-type') ?? undefined)
    else if (cache.formData) {
      const form: Record<string, unknown[]> = {}
      for (const [k, v] of (await cache.formData) as FormData) form[k] = [...(form[k] ?? []), v]
      body = rebuildBody(form, raw.headers.get('content-type') ?? undefined)
    } else body = rebuildBody(undefined, raw.headers.get('content-type') ?? undefined)
  } catch (error) {
    if (!(error instanceof MountError)) throw error
    return new Request(raw.url, {
      method: raw.method,
      headers: raw.headers,
      body: new ReadableStream({ pull: (controller) => controller.error(error) }),
      duplex: 'half',
    } as RequestInit)
  }
  const headers = new Headers(raw.headers)
  headers.delete('transfer-encoding')
  const length = typeof body === 'string' ? new TextEncoder().encode(body).byteLength : body.byteLength
  headers.set('content-length', String(length))
  return new Request(raw.url, { method: raw.method, headers, body: body as BodyInit })
}

/**
 * The Hono handler for a Consentry server. Route the issuer's path AND the path-insertion metadata
 * URLs ({@link wellKnownPaths}: RFC 8414 / RFC 9728 put them outside that path) to it. A body a
 * Hono helper or validator already read is rebuilt from Hono's body cache; one that cannot be is a
 * 500 whose cause is logged with the request id.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { honoHandler, wellKnownPaths } from '@consentry/server/hono'
 *
 * const server = await createConsentServer({ issuer: 'https://bank.example/oauth', ... })
 * const consentry = honoHandler(server)
 * const app = new Hono()
 * app.all('/oauth/*', consentry)                                  // also matches /oauth itself
 * for (const path of wellKnownPaths(server)) app.get(path, consentry)
 * ```
 */
export function honoHandler(
  server: Pick<ConsentServer, 'fetch'>,
  options: HonoHandlerOptions = {},
): (c: HonoContextLike) => Promise<Response> {
  const report = reporterFor(server.fetch, options.logger)
  const address = options.clientAddress ?? runtimeAddress
  return async (c) => {
    try {
      const clientAddress = address(c)
      const info: ConnectionInfo = clientAddress ? { clientAddress } : {}
      return await server.fetch(await requestOf(c), info)
    } catch (error) {
      // Never a silent 500: the cause goes to the log under the id the client gets.
      const requestId = randomToken(12)
      report(error, {
        request_id: requestId,
        method: c.req.raw.method,
        path: new URL(c.req.raw.url).pathname.slice(0, 200),
        error: describeError(error),
      })
      return problemResponse(
        new ProblemError(
          'internal_error',
          undefined,
          { 'x-request-id': requestId },
          { request_id: requestId },
        ),
      )
    }
  }
}
