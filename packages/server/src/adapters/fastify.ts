/**
 * `@consentry/server/fastify` — mount a Consentry server in a Fastify (4 or 5) app, as a plugin.
 * Structural types only: Fastify is not a dependency of `@consentry/server`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ConsentServer } from '../server.ts'
import { issuerPath, wellKnownPaths } from './mount.ts'
import { type NodeListenerOptions, serveNode } from './node.ts'
import { reporterFor } from './report.ts'

export { issuerPath, wellKnownPaths } from './mount.ts'

/** The slice of a Fastify request the plugin reads. */
export interface FastifyRequestLike {
  raw: IncomingMessage
  body?: unknown
}

/** The slice of a Fastify reply the plugin uses. */
export interface FastifyReplyLike {
  raw: ServerResponse
  hijack(): unknown
}

/** The slice of a Fastify instance the plugin uses (a `FastifyInstance` fits). */
export interface FastifyInstanceLike {
  removeAllContentTypeParsers(): void
  addContentTypeParser(
    contentType: string,
    parser: (request: never, payload: never, done: (error: Error | null, body?: unknown) => void) => void,
  ): unknown
  route(options: {
    method: Array<'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'>
    url: string
    handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => void
  }): unknown
}

const ALL = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * A Fastify plugin serving a Consentry server at its issuer's path and on the path-insertion metadata
 * URLs ({@link wellKnownPaths}, RFC 8414 / RFC 9728), which lie outside that path. Register it
 * WITHOUT a `prefix` (the issuer names the path). Inside the plugin's own encapsulated context
 * every content-type parser is replaced by one that leaves the body unread, so Consentry reads it
 * itself — with its own limits and its own OAuth errors — whatever parsers the rest of the app
 * registers. A body some hook parsed anyway is rebuilt from `request.body`. Failures are logged with
 * a request id through the server's logger.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { fastifyPlugin } from '@consentry/server/fastify'
 *
 * const server = await createConsentServer({ issuer: 'https://bank.example/oauth', ... })
 * const app = Fastify()
 * await app.register(fastifyPlugin(server))   // /oauth/*, /.well-known/oauth-authorization-server/oauth, …
 * ```
 */
export function fastifyPlugin(
  server: Pick<ConsentServer, 'fetch' | 'urls'>,
  options: NodeListenerOptions = {},
): (app: FastifyInstanceLike, opts?: unknown) => Promise<void> {
  const report = reporterFor(server.fetch, options.logger)
  return async (app) => {
    // This plugin's context only (Fastify encapsulation): the app's own parsers are untouched.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (_request, _payload, done) => done(null))
    const handler = (request: FastifyRequestLike, reply: FastifyReplyLike) => {
      reply.hijack() // the response is written by Consentry's node adapter, on the raw response
      void serveNode(server.fetch, request.raw, reply.raw, {
        report,
        parsedBody: () => request.body,
        ...(options.origin !== undefined ? { origin: options.origin } : {}),
      })
    }
    const base = issuerPath(server)
    if (base) app.route({ method: [...ALL], url: base, handler })
    app.route({ method: [...ALL], url: `${base}/*`, handler })
    // At the root, `/*` already covers them.
    if (base) for (const url of wellKnownPaths(server)) app.route({ method: ['GET', 'HEAD'], url, handler })
  }
}
