/**
 * `@consentry/server/express` — mount a Consentry server in an Express (4 or 5) or Connect app.
 * Structural types only: Express is not a dependency of `@consentry/server`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ConsentServer } from '../server.ts'
import { issuerPath } from './mount.ts'
import { type NodeListenerOptions, serveNode } from './node.ts'
import { adapterLog } from './report.ts'

export { issuerPath, wellKnownPaths } from './mount.ts'

/** An Express/Connect middleware (`(req, res, next)`), typed without Express. */
export type ExpressHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void

/**
 * The Express middleware for a Consentry server. Mount it at the issuer's path AND on the
 * path-insertion metadata URLs ({@link wellKnownPaths}: RFC 8414 / RFC 9728 put them outside that
 * path). Body parsers in front (`express.json()`, `express.urlencoded()`, `express.raw()`,
 * `express.text()`) just work: a body they consumed is rebuilt from `req.body` (JSON serialised
 * again, forms encoded again — safe, as DPoP proofs and client assertions do not sign the body
 * bytes); one that cannot be rebuilt is a 500 whose cause is logged with the request id. Consentry
 * answers everything under its path itself (404s included): it never calls `next`.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { expressHandler, wellKnownPaths } from '@consentry/server/express'
 *
 * const server = await createConsentServer({ issuer: 'https://bank.example/oauth', ... })
 * const consentry = expressHandler(server)
 * const app = express()
 * app.use(express.json())                      // fine in front, as is express.urlencoded()
 * app.use('/oauth', consentry)                 // the issuer's path
 * app.get(wellKnownPaths(server), consentry)   // /.well-known/oauth-authorization-server/oauth, …
 * ```
 */
export function expressHandler(
  server: Pick<ConsentServer, 'fetch' | 'urls'>,
  options: NodeListenerOptions = {},
): ExpressHandler {
  const log = adapterLog(server.fetch, options.logger)
  const serve = { report: log.error, ...(options.origin !== undefined ? { origin: options.origin } : {}) }
  const base = issuerPath(server)
  let warned = false
  return (req, res) => {
    // Express's mount path. Mounted somewhere else than the issuer's path, every endpoint the
    // metadata advertises 404s: say so once, loudly, instead of leaving the operator to guess.
    const mountedAt = (req as { baseUrl?: string }).baseUrl
    if (!warned && mountedAt && mountedAt !== base) {
      warned = true
      log.warn(
        `Consentry is mounted at ${mountedAt} but its issuer (${server.urls.issuer}) names the path ${base || '/'}: its metadata advertises endpoints under ${base || '/'}, and requests under ${mountedAt} find nothing. Mount it at the issuer's path, or give the issuer that path.`,
        { mounted_at: mountedAt, issuer: server.urls.issuer },
      )
    }
    void serveNode(server.fetch, req, res, serve)
  }
}
