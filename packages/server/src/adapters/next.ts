/**
 * `@consentry/server/next` — serve a Consentry server from Next.js App Router route handlers
 * (Node.js runtime). No dependency on Next: a route handler is a plain `(Request) => Response`.
 */
import type { ConnectionInfo } from '../http/client-address.ts'
import type { ConsentServer } from '../server.ts'

export { issuerPath, wellKnownPaths } from './mount.ts'

/** A route handler: Next calls it with the `Request` (and a context this handler ignores). */
export type RouteHandler = (request: Request) => Promise<Response>

/** Options of {@link nextHandler}. */
export interface NextHandlerOptions {
  /**
   * The client's address, for sign-in throttling. Next does not expose the socket; behind a proxy
   * (Vercel and most hosts) configure `trustedProxy: { header: 'x-forwarded-for' }` on the server
   * instead, and leave this out.
   */
  clientAddress?: (request: Request) => string | undefined
}

/**
 * The route handler for a Consentry server — or for the promise of one, so a module can create the
 * server without a top-level `await`. Export it as `GET`, `POST` and `DELETE` from a catch-all route
 * at the issuer's path (`app/oauth/[[...path]]/route.ts`) and as `GET` from one route file per
 * path-insertion metadata URL ({@link wellKnownPaths}: RFC 8414 / RFC 9728 put them outside that
 * path). Consentry needs the Node.js runtime (`export const runtime = 'nodejs'`).
 *
 * @example
 * ```ts
 * // lib/consentry.ts
 * export const consentry = nextHandler(createConsentServer({ issuer: 'https://bank.example/oauth', ... }))
 * // app/oauth/[[...path]]/route.ts
 * import { consentry } from '@/lib/consentry'
 * export const runtime = 'nodejs'
 * export const GET = consentry, POST = consentry, DELETE = consentry
 * ```
 */
export function nextHandler(
  server: Pick<ConsentServer, 'fetch'> | Promise<Pick<ConsentServer, 'fetch'>>,
  options: NextHandlerOptions = {},
): RouteHandler {
  return async (request) => {
    const address = options.clientAddress?.(request)
    const info: ConnectionInfo = address ? { clientAddress: address } : {}
    return (await server).fetch(request, info)
  }
}
