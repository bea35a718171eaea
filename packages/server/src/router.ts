import { currentNonce } from './checks/dpop.ts'
import { checkSameOrigin } from './checks/same-origin.ts'
import type { Context } from './context.ts'
import { assets } from './endpoints/assets.ts'
import { auditCheckpoint, auditConsistency, auditTile, grantAccessLog } from './endpoints/audit.ts'
import { authorize, interaction } from './endpoints/authorize.ts'
import { consents } from './endpoints/consents.ts'
import { discovery, protectedResourceMetadata } from './endpoints/discovery.ts'
import { grants } from './endpoints/grants.ts'
import { introspect } from './endpoints/introspect.ts'
import { jwks } from './endpoints/jwks.ts'
import { login, logout } from './endpoints/login.ts'
import { par } from './endpoints/par.ts'
import { register } from './endpoints/register.ts'
import { resource } from './endpoints/resource.ts'
import { revoke } from './endpoints/revoke.ts'
import { sandboxLink, sandboxRevoke } from './endpoints/sandbox.ts'
import { token } from './endpoints/token.ts'
import { ProblemError } from './errors.ts'
import { type ConnectionInfo, setConnectionInfo } from './http/client-address.ts'
import { errorResponse } from './http/respond.ts'
import { areaOf, requestId as requestIdOf } from './http/trace.ts'

type Handler = (ctx: Context, request: Request, url: URL, param: string) => Promise<Response> | Response
interface Route {
  match: (path: string) => string | undefined
  methods: Record<string, Handler>
  /**
   * An endpoint that accepts DPoP proofs: every response, errors included, carries a fresh
   * `DPoP-Nonce` (RFC 9449 §8), added here once rather than by each handler.
   */
  dpop?: true
  /** A page whose forms change state: every non-GET request passes check_same_origin first. */
  form?: true
  /** An OAuth endpoint: every error, even a 405 or 413, is an OAuth JSON error (RFC 6749 §5.2). */
  oauth?: true
}

const exact = (p: string) => (path: string) => (path === p ? '' : undefined)
const prefix = (p: string) => (path: string) =>
  path.startsWith(`${p}/`) ? path.slice(p.length) : path === p ? '' : undefined
const param = (p: string) => (path: string) => {
  const m = path.startsWith(`${p}/`) ? path.slice(p.length + 1) : undefined
  if (!m || m.includes('/')) return undefined
  try {
    return decodeURIComponent(m)
  } catch {
    throw new ProblemError('not_found', 'no such endpoint') // a malformed %-escape names nothing
  }
}

/** Every route of the authorization server, the pages and the API, relative to the issuer's path. */
function routes(ctx: Context): Route[] {
  const wellKnownAs = new URL(ctx.urls.metadata).pathname
  const wellKnownRs = new URL(ctx.urls.resourceMetadata).pathname
  return [
    // RFC 8414 (well-known segment before the issuer's path) and, for issuers with a path, the
    // `{issuer}/.well-known/…` form some clients try.
    { match: exact(wellKnownAs), methods: { GET: discovery } },
    { match: exact('/.well-known/oauth-authorization-server'), methods: { GET: discovery } },
    { match: exact(wellKnownRs), methods: { GET: protectedResourceMetadata } },
    { match: exact('/jwks'), methods: { GET: jwks } },
    { match: exact('/favicon.ico'), methods: { GET: () => new Response(null, { status: 204 }) } },
    { match: exact('/register'), methods: { POST: register }, oauth: true },
    { match: exact('/par'), methods: { POST: par }, dpop: true, oauth: true },
    { match: exact('/authorize'), methods: { GET: authorize } },
    {
      match: param('/authorize'),
      methods: {
        GET: (c, r, _u, id) => interaction(c, r, id),
        POST: (c, r, _u, id) => interaction(c, r, id),
      },
      form: true,
    },
    { match: exact('/token'), methods: { POST: token }, dpop: true, oauth: true },
    { match: exact('/revoke'), methods: { POST: revoke }, oauth: true },
    // Only with `sandbox: true`: otherwise these paths are unknown (404), like any other.
    ...(ctx.config.sandbox
      ? ([
          { match: exact('/sandbox/link'), methods: { POST: sandboxLink }, dpop: true, oauth: true },
          { match: exact('/sandbox/revoke'), methods: { POST: sandboxRevoke }, oauth: true },
        ] satisfies Route[])
      : []),
    { match: exact('/introspect'), methods: { POST: introspect }, oauth: true },
    {
      match: (path) => /^\/grants\/([A-Za-z0-9_-]{1,64})\/access-log$/.exec(path)?.[1],
      methods: { GET: (c, r, u, id) => grantAccessLog(c, r, u, id) },
      dpop: true,
    },
    {
      match: param('/grants'),
      methods: { GET: (c, r, _u, id) => grants(c, r, id), DELETE: (c, r, _u, id) => grants(c, r, id) },
      dpop: true,
    },
    { match: exact('/audit/checkpoint'), methods: { GET: auditCheckpoint } },
    { match: exact('/audit/consistency'), methods: { GET: auditConsistency } },
    { match: prefix('/audit/tile'), methods: { GET: (c, _r, _u, path) => auditTile(c, path.slice(1)) } },
    { match: exact('/login'), methods: { GET: login, POST: login }, form: true },
    { match: exact('/logout'), methods: { POST: logout }, form: true },
    { match: prefix('/consents'), methods: { GET: consents, POST: consents }, form: true },
    { match: prefix('/assets'), methods: { GET: (c, _r, _u, name) => assets(c, name) } },
    {
      match: prefix(ctx.config.resourcePath),
      methods: { GET: resource, POST: resource, PUT: resource, DELETE: resource, PATCH: resource },
      dpop: true,
    },
  ]
}

/**
 * NUL is never part of an identifier or parameter Consentry issues, and PostgreSQL text cannot hold
 * it: a request naming one is refused here, before any store is asked (`%00` anywhere in the URL).
 */
const hasNul = (url: URL) => url.pathname.includes('%00') || url.search.includes('%00')

/**
 * Build the `(Request, ConnectionInfo?) => Response` handler. It never throws: an unexpected error is
 * logged (message, stack and a random per-request id, never the request's body, credentials or
 * tokens) and answered 500 with the same `request_id`, so an operator can find the log line from what
 * the client saw. The connection info is kept beside the request (see `http/client-address.ts`).
 */
export function createRouter(
  ctx: Context,
  only?: 'resource',
): (request: Request, info?: ConnectionInfo) => Promise<Response> {
  const base = new URL(ctx.urls.issuer).pathname.replace(/\/$/, '')
  const wellKnown = new Set([ctx.urls.metadata, ctx.urls.resourceMetadata].map((u) => new URL(u).pathname))
  const all = routes(ctx)
  const table =
    only === 'resource'
      ? all.filter((r) => r.methods.GET === resource || r.methods.GET === protectedResourceMetadata)
      : all
  return async (request, info) => {
    setConnectionInfo(request, info)
    let dpop = false
    let oauth = false
    try {
      const url = new URL(request.url)
      // The path-insertion metadata URLs lie outside the issuer's path (RFC 8414 §3.1, RFC 9728
      // §3.1); every other path, other `/.well-known/` ones included, must be under it.
      const path = wellKnown.has(url.pathname)
        ? url.pathname
        : url.pathname === base || url.pathname.startsWith(`${base}/`)
          ? url.pathname.slice(base.length) || '/'
          : null
      if (path === null) throw new ProblemError('not_found', 'no such endpoint')
      for (const route of table) {
        const p = route.match(path)
        if (p === undefined) continue
        dpop = route.dpop === true
        oauth = route.oauth === true
        if (hasNul(url)) throw new ProblemError('invalid_parameter', 'the request contains a NUL character')
        const handler = route.methods[request.method === 'HEAD' ? 'GET' : request.method]
        if (!handler)
          throw new ProblemError('method_not_allowed', `use ${Object.keys(route.methods).join(' or ')}`, {
            allow: Object.keys(route.methods).join(', '),
          })
        if (route.form && request.method !== 'GET' && request.method !== 'HEAD') {
          const refused = checkSameOrigin(ctx, request)
          if (refused) return refused
        }
        const res = await handler(ctx, request, url, p)
        return dpop ? await withDpopNonce(ctx, res) : res
      }
      throw new ProblemError('not_found', 'no such endpoint')
    } catch (err) {
      // Ours, random, made only when needed (the trace line of the same request reuses it); a
      // client-supplied X-Request-Id is not trusted into the logs.
      const requestId = requestIdOf(request)
      const res = errorResponse(
        err,
        (e) =>
          ctx.config.onError(e, {
            area: areaOf(safePath(request.url)?.slice(base.length) ?? '', ctx.config.resourcePath),
            event: 'request.failed',
            request_id: requestId,
            method: request.method,
            // The path only: query strings may carry request_uris, cursors or codes.
            path: safePath(request.url),
          }),
        { requestId, oauth },
      )
      return dpop ? await withDpopNonce(ctx, res).catch(() => res) : res
    }
  }
}

/** `res` with the current `DPoP-Nonce` (a copy if its headers are immutable). */
async function withDpopNonce(ctx: Context, res: Response): Promise<Response> {
  const nonce = await currentNonce(ctx)
  try {
    res.headers.set('dpop-nonce', nonce)
    return res
  } catch {
    const copy = new Response(res.body, res)
    copy.headers.set('dpop-nonce', nonce)
    return copy
  }
}

const safePath = (url: string) => {
  try {
    return new URL(url).pathname.slice(0, 200)
  } catch {
    return undefined
  }
}
