import type { Context } from '../context.ts'

/** Parse a Cookie header. */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie')
  if (!header) return undefined
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        const value = decodeURIComponent(part.slice(i + 1).trim())
        return value.includes('\0') ? undefined : value
      } catch {
        return undefined // a malformed cookie is no cookie
      }
    }
  }
  return undefined
}

/** Where a cookie lives: its path (default: the issuer's base path, or `/`). */
export interface CookieOptions {
  path?: string
  /** Seconds; absent: a browser-session cookie. */
  maxAge?: number
}

/** The issuer's base path as a cookie path (`/` when mounted at the root). */
const rootPath = (ctx: Context) => new URL(ctx.urls.issuer).pathname.replace(/\/$/, '') || '/'

/**
 * The one naming rule for every cookie Consentry sets (RFC 6265bis §4.1.3 cookie prefixes): on an
 * https issuer, `__Host-{base}` when the cookie's path is `/` (Secure, Path=/, no Domain — the browser
 * then refuses it from any other host or path, so a sibling subdomain cannot plant or overwrite it)
 * and `__Secure-{base}` when it is scoped to a narrower path (an issuer with a path, or a per-request
 * path like `/authorize/{id}`); on an http loopback issuer (demos, tests) the plain `{base}`.
 */
export function cookieName(ctx: Context, base: string, path = rootPath(ctx)): string {
  if (!ctx.config.secureCookies) return base
  return path === '/' ? `__Host-${base}` : `__Secure-${base}`
}

/** Read one of Consentry's cookies by its base name (see {@link cookieName}). */
export function getCookie(ctx: Context, request: Request, base: string, path?: string): string | undefined {
  return readCookie(request, cookieName(ctx, base, path))
}

/**
 * A `Set-Cookie` value for one of Consentry's cookies: named by {@link cookieName}, HttpOnly,
 * SameSite=Lax (Lax so the top-level return from a holder's login keeps it), Secure on https, never a
 * Domain. `maxAge: 0` deletes it.
 */
export function setCookie(ctx: Context, base: string, value: string, o: CookieOptions = {}): string {
  const path = o.path ?? rootPath(ctx)
  const parts = [
    `${cookieName(ctx, base, path)}=${encodeURIComponent(value)}`,
    `Path=${path}`,
    'HttpOnly',
    'SameSite=Lax',
  ]
  if (ctx.config.secureCookies) parts.push('Secure')
  if (o.maxAge !== undefined) parts.push(`Max-Age=${o.maxAge}`)
  return parts.join('; ')
}
