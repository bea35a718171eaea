import type { Urls } from '../context.ts'

/** What the mounting helpers need of a server: its URLs (a `ConsentServer` has them). */
export interface Mountable {
  urls: Pick<Urls, 'issuer' | 'metadata' | 'resourceMetadata'>
}

/**
 * The path the issuer names — where the whole server is mounted: `/oauth` for
 * `https://bank.example/oauth`, `''` for an issuer at the root. Every endpoint, page and cookie lives
 * under it, except the {@link wellKnownPaths}.
 *
 * @example
 * ```ts
 * issuerPath(server) // '/oauth'
 * ```
 */
export function issuerPath(server: Mountable): string {
  return new URL(server.urls.issuer).pathname.replace(/\/$/, '')
}

/**
 * The metadata paths that lie OUTSIDE the issuer's path and must reach the handler too. RFC 8414
 * §3.1 and RFC 9728 §3.1 insert the well-known segment between the host and the path, so for the
 * issuer `https://bank.example/oauth` clients (oauth4webapi, `@consentry/client`) ask for
 * `/.well-known/oauth-authorization-server/oauth` and, for the resource `…/oauth/api`,
 * `/.well-known/oauth-protected-resource/oauth/api`. Route exactly these (GET) to the same handler
 * as the issuer's path. For an issuer at the root they are ordinary paths under it.
 *
 * @example
 * ```ts
 * app.use('/oauth', consentry)                 // the issuer's path: endpoints, pages, assets
 * app.get(wellKnownPaths(server), consentry)   // RFC 8414 / RFC 9728 path-insertion metadata
 * ```
 */
export function wellKnownPaths(server: Mountable): string[] {
  return [new URL(server.urls.metadata).pathname, new URL(server.urls.resourceMetadata).pathname]
}

/**
 * Whether a request path belongs to the server mounted for `server`'s issuer: under the issuer's path
 * or one of its {@link wellKnownPaths}. For a listener shared with other routes.
 *
 * @example
 * ```ts
 * const consentry = nodeListener(server.fetch)
 * createServer((req, res) =>
 *   servesPath(server, req.url!.split('?')[0]!) ? consentry(req, res) : shop(req, res),
 * )
 * ```
 */
export function servesPath(server: Mountable, pathname: string): boolean {
  const base = issuerPath(server)
  return (
    base === '' ||
    pathname === base ||
    pathname.startsWith(`${base}/`) ||
    wellKnownPaths(server).includes(pathname)
  )
}
